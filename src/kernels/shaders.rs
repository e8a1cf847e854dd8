//! Every WGSL file of the crate, in one table from which the [`Shader`] enum, each
//! file's label and its source as compiled come. A source as compiled is the uniform
//! structs and flag constants the file uses (declared once in Rust, see
//! [`super::wgsl`]) and the shared functions of `shaders/lib/` it lists, followed by
//! the file itself with its loops unrolled (see [`super::template`]).

use std::sync::OnceLock;

use super::wgsl::{Uniform, consts};
use crate::device::{PipelineSpec, ShaderCode, Slot};
use crate::dtype::Elem;

macro_rules! shaders {
    ($(
        $(#[$meta:meta])*
        $variant:ident => $file:literal {
            uniforms: [$($uniform:ty),*], consts: [$($group:expr),*] $(, libs: [$($lib:literal),*])?
        }
    ),* $(,)?) => {
        /// Every WGSL file of the crate.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Shader {
            $($(#[$meta])* $variant),*
        }

        impl Shader {
            /// Every shader, in table order.
            pub const ALL: &[Shader] = &[$(Shader::$variant),*];

            /// The file name, used as the label of its pipelines.
            pub fn label(self) -> &'static str {
                match self {
                    $(Shader::$variant => $file),*
                }
            }

            /// The file as written in `shaders/`.
            pub fn file(self) -> &'static str {
                match self {
                    $(Shader::$variant => include_str!(concat!(
                        env!("CARGO_MANIFEST_DIR"), "/shaders/", $file
                    ))),*
                }
            }

            /// The declarations written before the file: its uniform structs, flag
            /// constants, and the shared functions of `shaders/lib/` it uses.
            fn prelude(self) -> String {
                match self {
                    $(Shader::$variant => {
                        let mut out = String::new();
                        $(out.push_str(&<$uniform as Uniform>::wgsl());)*
                        $(out.push_str(&consts($group));)*
                        $($(out.push_str(include_str!(concat!(
                            env!("CARGO_MANIFEST_DIR"), "/shaders/lib/", $lib
                        )));)*)?
                        out
                    }),*
                }
            }

            /// Each uniform struct the shader declares, with the size of its Rust
            /// type (which the tests hold against naga's layout of the WGSL one).
            pub fn uniforms(self) -> Vec<(&'static str, usize)> {
                match self {
                    $(Shader::$variant => vec![$((
                        <$uniform as Uniform>::NAME,
                        std::mem::size_of::<$uniform>(),
                    )),*]),*
                }
            }
        }
    };
}

shaders! {
    Relu => "relu.wgsl" { uniforms: [super::relu::ReluParams], consts: [] },
    Im2col => "im2col.wgsl" {
        uniforms: [super::conv2d::Im2colParams], consts: [], libs: ["padding.wgsl"]
    },
    Gemm => "gemm.wgsl" {
        uniforms: [super::gemm::GemmParams],
        consts: [super::gemm::EPILOGUE],
        libs: ["math.wgsl", "activation.wgsl", "epilogue.wgsl", "gemm_common.wgsl"]
    },
    GemmSubgroup => "gemm_subgroup.wgsl" {
        uniforms: [super::gemm::GemmParams],
        consts: [super::gemm::EPILOGUE],
        libs: ["math.wgsl", "activation.wgsl", "epilogue.wgsl", "gemm_common.wgsl"]
    },
    Conv2d => "conv2d.wgsl" {
        uniforms: [super::conv2d::DirectParams],
        consts: [super::gemm::EPILOGUE],
        libs: ["math.wgsl", "activation.wgsl", "epilogue.wgsl", "padding.wgsl", "rows.wgsl"]
    },
    Pool2d => "pool2d.wgsl" {
        uniforms: [super::pool2d::PoolParams],
        consts: [super::pool2d::POOL_FLAGS, super::pool2d::POOL_OPS],
        libs: ["rows.wgsl"]
    },
    Upsample2d => "upsample2d.wgsl" {
        uniforms: [super::interpolate::UpsampleParams],
        consts: [super::interpolate::INTERPOLATE_FLAGS]
    },
    Conv2dPacked => "conv2d_packed.wgsl" {
        uniforms: [super::conv2d::PackParams, super::conv2d::PackedParams],
        consts: [super::gemm::EPILOGUE],
        libs: ["math.wgsl", "activation.wgsl", "epilogue.wgsl", "padding.wgsl", "rows.wgsl", "tap.wgsl"]
    },
    Conv2dWinograd => "conv2d_winograd.wgsl" {
        uniforms: [super::conv2d::WinoParams],
        consts: [super::gemm::EPILOGUE],
        libs: ["math.wgsl", "activation.wgsl", "epilogue.wgsl", "padding.wgsl", "rows.wgsl", "tap.wgsl"]
    },
    Roofline => "roofline.wgsl" { uniforms: [super::roofline::RoofParams], consts: [] },
    Elementwise => "elementwise.wgsl" {
        uniforms: [
            super::elementwise::UnaryParams,
            super::elementwise::BinaryParams,
            super::elementwise::BatchNormParams
        ],
        consts: [super::elementwise::ELEMENTWISE_OPS],
        libs: ["math.wgsl", "activation.wgsl"]
    },
    Softmax => "softmax.wgsl" {
        uniforms: [super::softmax::SoftmaxParams], consts: [], libs: ["math.wgsl"]
    },
    Resize => "resize.wgsl" { uniforms: [super::resize::ResizeUniform], consts: [] },
    ConvTranspose2d => "conv_transpose2d.wgsl" {
        uniforms: [super::conv_transpose2d::ConvTransposeParams],
        consts: [super::gemm::EPILOGUE]
    },
    Copy => "copy.wgsl" { uniforms: [super::copy::CopyParams], consts: [] },
    Convert => "convert.wgsl" {
        uniforms: [super::convert::ConvertParams], consts: [], libs: ["half.wgsl"]
    },
}

impl Shader {
    /// The source as compiled for f32: the prelude, then the file (built once).
    pub fn source(self) -> &'static str {
        self.source_for(Elem::F32)
    }

    /// The source as compiled in the element form `elem`, and its label (the file name,
    /// with `.f16` or `.f16packed` before `.wgsl` for the f16 forms), built once.
    pub fn source_for(self, elem: Elem) -> &'static str {
        &Self::variants()[self as usize][elem as usize].1
    }

    /// The label of the source in the element form `elem`.
    pub fn label_for(self, elem: Elem) -> &'static str {
        &Self::variants()[self as usize][elem as usize].0
    }

    /// (label, source) of every shader in every element form.
    fn variants() -> &'static [[(String, String); 3]] {
        static VARIANTS: OnceLock<Vec<[(String, String); 3]>> = OnceLock::new();
        VARIANTS.get_or_init(|| {
            Shader::ALL
                .iter()
                .map(|s| {
                    Elem::ALL.map(|elem| {
                        let label = s
                            .label()
                            .replace(".wgsl", &format!("{}.wgsl", elem.suffix()));
                        let source = super::template::compose(
                            &format!(
                                "// declared in Rust (src/kernels), written before {}:\n{}\n{}",
                                s.label(),
                                s.prelude(),
                                s.file()
                            ),
                            elem,
                        );
                        (label, source)
                    })
                })
                .collect()
        })
    }

    /// The pipeline of `entry` with `layout`, without overrides (built in the element
    /// form of the handle that asks for it).
    pub(crate) fn entry(self, entry: &'static str, layout: &'static [(u32, Slot)]) -> PipelineSpec {
        PipelineSpec {
            shader: ShaderCode {
                forms: &Self::variants()[self as usize],
            },
            entry,
            constants: Vec::new(),
            layout,
        }
    }
}
