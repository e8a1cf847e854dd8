//! The command line's own library: pictures (loading, saving, classic filters, feature
//! map grids), the fixtures built into the binary, and benchmark reports (saved,
//! compared, drawn as roofline charts). Kept out of `wgcnn` itself so that a library
//! user compiles neither `image` nor `clap` nor `plotters` nor the fixtures.

pub mod builtin;
pub mod picture;
pub mod plot;
pub mod report;
