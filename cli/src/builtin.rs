//! The PyTorch fixtures built into the binary (the library's tests/fixtures at build
//! time), which `wgcnn check` runs when given no path.

use wgcnn::fixture::Fixture;

include!(concat!(env!("OUT_DIR"), "/builtin_fixtures.rs"));

/// Every built-in fixture.
///
/// # Errors
/// [`wgcnn::Error::Format`] for a malformed one.
pub fn fixtures() -> wgcnn::Result<Vec<Fixture>> {
    BUILTIN
        .iter()
        .map(|(name, bytes)| Fixture::from_bytes(name, bytes))
        .collect()
}
