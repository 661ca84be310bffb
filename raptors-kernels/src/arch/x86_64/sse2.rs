//! SSE2 level (128-bit): `__m128` / `__m128d`. Entry points: `raptors_kernels::arch::x86_64::sse2::*`.

use core::arch::x86_64::{__m128, __m128d};

crate::arch::isa_both!(
    #[target_feature(enable = "sse2")]
    __m128,
    __m128d
);
