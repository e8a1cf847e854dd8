//! STUB
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ResizeMode { Nearest, Linear }
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CoordinateMode { HalfPixel, PytorchHalfPixel, AlignCorners, Asymmetric }
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum NearestMode { RoundPreferFloor, RoundPreferCeil, Floor, Ceil }
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ResizeParams {
    pub mode: ResizeMode,
    pub coordinate: CoordinateMode,
    pub nearest: NearestMode,
    pub size: [usize; 2],
    pub scale: [f32; 2],
}
