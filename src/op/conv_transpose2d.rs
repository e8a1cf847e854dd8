//! STUB
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ConvTranspose2dParams {
    pub stride: [i64; 2],
    pub padding: [i64; 2],
    pub output_padding: [i64; 2],
    pub groups: i64,
    pub dilation: [i64; 2],
}
