//! AVX2 level (256-bit): `__m256` / `__m256d`. Entry points: `raptors_kernels::arch::x86_64::avx2::*`.

use core::arch::x86_64::{__m256, __m256d};

crate::arch::isa_both!(
    #[target_feature(enable = "avx2")]
    __m256,
    __m256d
);
