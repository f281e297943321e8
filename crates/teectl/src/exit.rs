//! Exit codes of every subcommand, decided by the type of the error.

use tee::{Error, UnsealError};

/// Success.
pub(crate) const OK: u8 = 0;
/// Usage, I/O or device error.
pub(crate) const USAGE: u8 = 1;
/// Malformed input.
pub(crate) const MALFORMED: u8 = 2;
/// Authenticity failure (signature, chain, expired or revoked collateral).
pub(crate) const AUTHENTICITY: u8 = 3;
/// Policy / appraisal failure.
pub(crate) const POLICY: u8 = 4;
/// Unsupported on this platform or by this build.
pub(crate) const UNSUPPORTED: u8 = 5;

/// The table printed after `--help`.
pub(crate) const HELP: &str = "\
Exit codes:
  0  ok
  1  usage or I/O error
  2  malformed input
  3  authenticity failure (signature, chain, expired or revoked collateral)
  4  policy / appraisal failure
  5  unsupported on this platform (or by this build of teectl)";

/// The exit code for an SDK error, by its variant.
pub(crate) fn of(e: &Error) -> u8 {
    match e {
        Error::Malformed(_) => MALFORMED,
        Error::Authenticity(_) => AUTHENTICITY,
        Error::Policy(_) => POLICY,
        Error::Unseal(u) => match u {
            // Another purpose or binding than the blob was sealed under.
            UnsealError::WrongPolicy => POLICY,
            // This platform cannot open another platform's blob.
            UnsealError::WrongPlatform { .. } => UNSUPPORTED,
            UnsealError::KeyMismatch | UnsealError::Tampered => AUTHENTICITY,
            _ => AUTHENTICITY,
        },
        Error::Unsupported(_) => UNSUPPORTED,
        Error::Device(_) | Error::Misuse(_) | Error::Other(_) => USAGE,
        _ => USAGE,
    }
}

#[cfg(test)]
mod tests {
    use tee::{Authenticity, DeviceErrorKind, Operation, Platform};

    use super::*;

    #[test]
    fn each_variant_has_its_code() {
        let mut appraisal_failed = tee::Appraisal::default();
        appraisal_failed.check("x", false, "y");
        let cases: Vec<(Error, u8)> = vec![
            (Error::truncated("x", 2, 1), MALFORMED),
            (Error::bad_signature("x"), AUTHENTICITY),
            (
                Authenticity::Revoked { what: "x".into() }.into(),
                AUTHENTICITY,
            ),
            (Error::Policy(appraisal_failed), POLICY),
            (UnsealError::WrongPolicy.into(), POLICY),
            (
                UnsealError::WrongPlatform {
                    sealed_on: Platform::Tdx,
                    opened_on: Platform::Mock,
                }
                .into(),
                UNSUPPORTED,
            ),
            (UnsealError::KeyMismatch.into(), AUTHENTICITY),
            (UnsealError::Tampered.into(), AUTHENTICITY),
            (
                Error::unsupported(Platform::Pef, Operation::Verification, "x"),
                UNSUPPORTED,
            ),
            (Error::device(DeviceErrorKind::Busy, "dev", "x"), USAGE),
            (Error::Misuse("x".into()), USAGE),
        ];
        for (e, code) in cases {
            assert_eq!(of(&e), code, "{e}");
        }
        assert_eq!(OK, 0);
    }
}
