//! AVX-512 level (512-bit): `__m512` / `__m512d`. Entry points:
//! `raptors_kernels::arch::x86_64::avx512::*`.

use core::arch::x86_64::{__m512, __m512d};

crate::arch::isa_both!(
    #[target_feature(enable = "avx512f")]
    __m512,
    __m512d
);
