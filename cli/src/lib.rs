//! The command line's own library: pictures (loading, saving, classic filters, feature
//! map grids) and the fixtures built into the binary. Kept out of `wgcnn` itself so
//! that a library user compiles neither `image` nor `clap` nor the fixtures.

pub mod builtin;
pub mod picture;
