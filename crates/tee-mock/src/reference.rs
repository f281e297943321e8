//! Reference values for the mock: the launch measurement a relying party
//! should expect of a mock TEE that "launched" a given workload image.
//!
//! The mock's launch measurement is SHA-384 of its workload image (a
//! [`crate::MockBackend`] built with the defaults launched
//! [`DEFAULT_WORKLOAD_IMAGE`]), so its reference value is computed the way a
//! hardware backend's is: from the inputs, with a transcript, without
//! asking the TEE. NO SECURITY: this shows the flow, nothing more.

use sha2::{Digest, Sha384};
use tee_core::reference::{ReferenceValue, Transcript};
use tee_core::{HexBytes, Policy};

/// The workload image of a mock built with the defaults.
pub const DEFAULT_WORKLOAD_IMAGE: &[u8] = b"tee-mock default launch measurement";

/// The launch measurement of a mock that launched `image`, with its
/// transcript (one input: the image's size and SHA-256; one step).
pub fn launch_measurement(image: &[u8]) -> ReferenceValue {
    let mut t = Transcript::default();
    t.input(
        "workload_image",
        format!(
            "{} bytes, sha256 {}",
            image.len(),
            HexBytes::from(<[u8; 32]>::from(sha2::Sha256::digest(image)))
        ),
    );
    let m: [u8; 48] = Sha384::digest(image).into();
    t.step(
        "SHA-384(image)",
        None,
        "the mock's launch measurement is the SHA-384 of its workload image",
        Some(HexBytes::from(m)),
    );
    ReferenceValue::new("mock.measurement", m, t)
}

/// A policy section admitting exactly this reference value (mock evidence
/// still needs `allow_mock`, and freshness still needs report data).
pub fn policy(reference: &ReferenceValue) -> Policy {
    Policy::new().allow_measurement(reference.value.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MockBackend;

    #[test]
    fn default_mock_measures_the_default_image() {
        let r = launch_measurement(DEFAULT_WORKLOAD_IMAGE);
        assert_eq!(r.value.0, MockBackend::new().measurement().to_vec());
        assert_ne!(launch_measurement(b"other").value, r.value);
        assert_eq!(r.transcript.inputs.len(), 1);
        assert_eq!(r.transcript.steps[0].digest_after.as_ref(), Some(&r.value));
        assert_eq!(policy(&r).allowed_measurements, vec![r.value.clone()]);
    }
}
