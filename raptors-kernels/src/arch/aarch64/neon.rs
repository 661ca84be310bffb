//! NEON level: `float32x4_t` / `float64x2_t`. Entry points:
//! `raptors_kernels::arch::aarch64::neon::*`.

use core::arch::aarch64::{float32x4_t, float64x2_t};

crate::arch::isa_both!(
    #[target_feature(enable = "neon")]
    float32x4_t,
    float64x2_t
);
