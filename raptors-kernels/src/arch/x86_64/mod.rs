//! x86-64 levels. `lanes` implements [`Lanes`](crate::lanes::Lanes) for the SSE/AVX/AVX-512
//! register types; each level module instantiates the generic kernels under its target feature.

pub(crate) mod avx2;
pub(crate) mod avx512;
mod lanes;
pub(crate) mod sse2;
