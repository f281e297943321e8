//! Cross-backend integration suite; see `tests/integration.rs`.
