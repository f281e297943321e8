//! A proof-carrying wrapper for verified values.

use core::ops::Deref;

use serde::Serialize;

/// A value that a verifier has checked for authenticity.
///
/// It has no public constructor: the only way to obtain one is
/// [`crate::Verifier::verify`], the trait's provided method, which wraps what
/// the implementation's [`crate::Verifier::check_authenticity`] returned.
/// Application code receives it from a verifier and passes it to
/// [`crate::appraise`]; making one from arbitrary claims takes writing (and
/// using) a verifier of one's own, which is visible in the code. It
/// dereferences to the value and has no `Deserialize`, so claims read back
/// from JSON are never `Verified`.
///
/// Neither a constructor nor the tuple field is reachable from outside
/// the crate:
///
/// ```compile_fail,E0624
/// let forged = tee_core::Verified::checked(tee_core::ReportData::zero());
/// ```
///
/// ```compile_fail,E0423
/// let forged = tee_core::Verified(tee_core::ReportData::zero());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Verified<T>(T);

impl<T> Verified<T> {
    /// Wrap a value a [`crate::Verifier`] has just checked (only
    /// [`crate::Verifier::verify`] calls this).
    pub(crate) fn checked(value: T) -> Self {
        Self(value)
    }

    /// Unwrap.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Verified<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}
