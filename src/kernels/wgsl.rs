//! WGSL declarations written once, in Rust: each uniform struct is one definition from
//! which both its `#[repr(C)]` Rust type and its WGSL `struct` come, and each group of
//! flag bits one list from which both the Rust and the WGSL constants come. A shader's
//! source as compiled is these declarations followed by its file (see
//! [`super::shaders`]), so no mirror is written by hand.

/// A type that can stand in a uniform struct: its WGSL fields, flattened (a nested
/// uniform struct contributes its own fields, an array `_pad: [u32; 3]` the fields
/// `_pad0`, `_pad1`, `_pad2`, since a uniform array's stride would be 16 bytes).
pub(crate) trait WgslType {
    fn fields(name: &'static str, out: &mut Vec<(String, &'static str)>);
}

impl WgslType for u32 {
    fn fields(name: &'static str, out: &mut Vec<(String, &'static str)>) {
        out.push((name.to_string(), "u32"));
    }
}

impl WgslType for f32 {
    fn fields(name: &'static str, out: &mut Vec<(String, &'static str)>) {
        out.push((name.to_string(), "f32"));
    }
}

impl WgslType for i32 {
    fn fields(name: &'static str, out: &mut Vec<(String, &'static str)>) {
        out.push((name.to_string(), "i32"));
    }
}

impl<const N: usize> WgslType for [u32; N] {
    fn fields(name: &'static str, out: &mut Vec<(String, &'static str)>) {
        out.extend((0..N).map(|i| (format!("{name}{i}"), "u32")));
    }
}

impl<const N: usize> WgslType for [i32; N] {
    fn fields(name: &'static str, out: &mut Vec<(String, &'static str)>) {
        out.extend((0..N).map(|i| (format!("{name}{i}"), "i32")));
    }
}

/// A uniform struct shared by Rust and WGSL (see [`uniform!`]).
pub(crate) trait Uniform: WgslType + bytemuck::Pod {
    /// The struct's name in both languages.
    const NAME: &'static str;

    /// The WGSL declaration.
    fn wgsl() -> String {
        let mut fields = Vec::new();
        Self::fields(Self::NAME, &mut fields);
        let body: String = fields
            .iter()
            .map(|(name, ty)| format!("    {name}: {ty},\n"))
            .collect();
        format!("struct {} {{\n{body}}}\n", Self::NAME)
    }
}

/// Defines a uniform struct once: the Rust type (`#[repr(C)]`, `Pod`, every field
/// `pub`) and, through [`Uniform`], its WGSL declaration.
macro_rules! uniform {
    (
        $(#[$meta:meta])*
        pub(crate) struct $name:ident {
            $($(#[$field_meta:meta])* $field:ident : $ty:ty),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[repr(C)]
        #[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
        pub(crate) struct $name {
            $($(#[$field_meta])* pub $field: $ty),*
        }

        impl $crate::kernels::wgsl::WgslType for $name {
            fn fields(_: &'static str, out: &mut Vec<(String, &'static str)>) {
                $(<$ty as $crate::kernels::wgsl::WgslType>::fields(stringify!($field), out);)*
            }
        }

        impl $crate::kernels::wgsl::Uniform for $name {
            const NAME: &'static str = stringify!($name);
        }
    };
}

/// Defines a group of `u32` constants once: each as a Rust `const`, and the group as a
/// list of (name, value) from which the shaders' WGSL `const`s are written.
macro_rules! wgsl_consts {
    (
        $(#[$meta:meta])*
        $group:ident { $($(#[$const_meta:meta])* $name:ident = $value:expr),* $(,)? }
    ) => {
        $($(#[$const_meta])* pub(crate) const $name: u32 = $value;)*
        $(#[$meta])*
        pub(crate) const $group: &[(&str, u32)] = &[$((stringify!($name), $value)),*];
    };
}

/// The WGSL `const` declarations of a group made by [`wgsl_consts!`].
pub(crate) fn consts(group: &[(&str, u32)]) -> String {
    group
        .iter()
        .map(|(name, value)| format!("const {name}: u32 = {value}u;\n"))
        .collect()
}

/// A bind group layout, `(binding, slot)` pairs:
/// `layout![0 => Read, 1 => ReadWrite, 4 => Uniform]`.
macro_rules! layout {
    ($($binding:literal => $slot:ident),* $(,)?) => {
        &[$(($binding, $crate::device::Slot::$slot)),*]
    };
}
