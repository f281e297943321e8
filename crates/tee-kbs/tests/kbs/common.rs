//! What the converter tests share: the shared vectors, and Trustee JSON
//! read back as on the wire.

use std::path::{Path, PathBuf};

use serde_json::Value;
use tee::Evidence;
use tee_kbs::Tee;
use tee_kbs::evidence::from_trustee;

/// The shared vectors (`TEE_TEST_VECTORS`, or `../shared/vectors` beside
/// the repository), if there.
pub(crate) fn vectors() -> Option<PathBuf> {
    tee_core::conformance::vectors_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

/// `v` converted back from Trustee's JSON, through text as on the wire.
pub(crate) fn through_json(tee: Tee, v: &Value) -> Evidence {
    let text = serde_json::to_string(v).unwrap();
    from_trustee(tee, &serde_json::from_str(&text).unwrap()).unwrap()
}
