//! A proof-carrying wrapper for verified values.

use core::ops::Deref;

use serde::Serialize;

/// A value that a verifier has checked for authenticity.
///
/// Only verifier implementations create it, through
/// [`Verified::assert_verified_by_verifier`]; application code receives it
/// from [`crate::Verifier::verify`] and passes it to [`crate::appraise`].
/// It dereferences to the value but has no public constructor in the
/// ordinary sense and no `Deserialize`, so claims read back from JSON are
/// never `Verified`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Verified<T>(T);

impl<T> Verified<T> {
    /// For verifier implementations only: wrap a value whose authenticity
    /// the caller has just checked. Calling it anywhere else defeats the
    /// purpose of the type; the name says so on purpose.
    pub fn assert_verified_by_verifier(value: T) -> Self {
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
