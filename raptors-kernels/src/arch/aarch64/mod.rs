//! AArch64 level: NEON (Advanced SIMD, 128-bit).

mod lanes;
pub(crate) mod neon;
