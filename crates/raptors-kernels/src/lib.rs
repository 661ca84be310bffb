//! SIMD array kernels (element-wise, broadcasting, reductions) for f32/f64 with runtime ISA dispatch.
