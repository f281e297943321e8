//! The harness every module shares: run the built `teectl`, read its exit
//! code and output, find the shared vectors.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The binary under test.
pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_teectl");

/// `teectl ARGS` in `dir` (`None`: the test's own working directory), with
/// `TEE_BACKEND` removed from the environment (a developer's setting never
/// picks the backend nor breaks the argument parsing) and then each
/// `(name, value)` of `env` set. Standard input is closed, standard output
/// and error are captured.
pub(crate) fn run<'a>(
    dir: impl Into<Option<&'a Path>>,
    env: &[(&str, &str)],
    args: &[&str],
) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args).env_remove("TEE_BACKEND");
    if let Some(dir) = dir.into() {
        cmd.current_dir(dir);
    }
    for (name, value) in env {
        cmd.env(name, value);
    }
    cmd.output().expect("run teectl")
}

/// [`run`] with no environment change but `TEE_BACKEND` removed.
pub(crate) fn teectl<'a>(dir: impl Into<Option<&'a Path>>, args: &[&str]) -> Output {
    run(dir, &[], args)
}

/// The exit code (panics if teectl was killed by a signal).
pub(crate) fn code(o: &Output) -> i32 {
    o.status.code().expect("exit code")
}

/// Standard output, lossily decoded.
pub(crate) fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Standard error, lossily decoded.
pub(crate) fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The shared vectors (`TEE_TEST_VECTORS`, or `../shared/vectors` beside
/// the repository), if there.
pub(crate) fn vectors() -> Option<PathBuf> {
    tee_core::conformance::vectors_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
}
