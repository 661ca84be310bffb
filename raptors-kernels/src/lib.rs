//! SIMD array kernels for `f32`/`f64`: element-wise `+ - * /` with NumPy broadcasting and
//! `sum`/`mean`/`min`/`max` over all elements or one axis, on arrays of at most two dimensions
//! with any element strides (negative, zero, transposed). The best instruction set the CPU has
//! (SSE2, AVX2, AVX-512, NEON, else portable scalar code) is picked once at run time; results
//! follow NumPy's semantics (NaN propagation, error wording) and every level gives the same
//! element-wise bits as the scalar path.
//!
//! ```
//! use raptors_kernels::{binary, reduce, ArrayView, BinaryOp, ReduceOp, Reduced, Shape};
//!
//! let data = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
//! let a = ArrayView::from_slice(&data, Shape::d2(2, 3))?;
//! let row = [10.0f32, 20.0, 30.0];
//! let r = ArrayView::from_slice(&row, Shape::d1(3))?;
//!
//! // (2, 3) + (3,) broadcasts like NumPy.
//! let sum = binary(BinaryOp::Add, a, r)?;
//! assert_eq!(sum.as_slice(), &[11.0, 22.0, 33.0, 14.0, 25.0, 36.0]);
//!
//! // Column means; a negative axis counts from the end.
//! let Reduced::Array(means) = reduce(ReduceOp::Mean, a, Some(-2))? else { unreachable!() };
//! assert_eq!(means.as_slice(), &[2.5, 3.5, 4.5]);
//!
//! // The whole array, through a transposed view of the same memory.
//! let t = ArrayView::from_slice_strided(&data, 0, Shape::d2(3, 2), [1, 3])?;
//! assert_eq!(reduce(ReduceOp::Max, t, None)?, Reduced::Scalar(6.0));
//! # Ok::<(), raptors_kernels::KernelError>(())
//! ```
//!
//! Plain slices have shortcuts in [`mod@slice`]. With the `ndarray` feature, `ndarray` views convert
//! to [`ArrayView`]/[`ArrayViewMut`] without a copy (`a.view().into()`, also transposed and
//! sliced views) and results convert back with `Array::into_ndarray`; the matching `ndarray`
//! crate is re-exported as `raptors_kernels::ndarray`.
//!
//! The level can be forced with `RAPTORS_SIMD=scalar|sse2|avx2|avx512|neon|auto` (an unavailable
//! level is an error, never a silent fallback) and the threads of large calls limited with
//! `RAPTORS_THREADS`. Kernel strategies and accuracy bounds: `docs/kernels.md` in the repository.
//!
//! Layout (memchr-style): `generic/` holds each algorithm once over the `Lanes` trait, `arch/`
//! instantiates it per instruction set under `#[target_feature]`, `dispatch` picks a level once,
//! `driver` maps strided/broadcast views onto the contiguous kernels.

#![warn(missing_docs)]

mod arch;
#[cfg(feature = "capi")]
pub mod capi;
mod cast;
mod dispatch;
mod driver;
mod error;
mod generic;
mod helpers;
#[cfg(feature = "ndarray")]
mod interop;
mod lanes;
mod ops;
mod overlap;
mod par;
mod pool;
mod promote;
mod shape;
pub mod slice;
mod view;

/// The `ndarray` crate this one converts from and to (feature `ndarray`), re-exported so that
/// users get the matching version.
#[cfg(feature = "ndarray")]
pub use ndarray;

pub use cast::{cast, cast_into};
pub use dispatch::{
    available_levels, best_level, parse_threads_env, resolve_simd_env, set_threads, simd_level,
    threads, Kernels, SimdLevel,
};
pub use error::KernelError;
pub use ops::{BinaryOp, ReduceOp, Reduced, ScalarSide};
pub use overlap::{byte_span, overlaps_partially, spans_overlap};
pub use pool::recycle;
pub use promote::{result_dtype, OperandType, ScalarType};
pub use shape::{broadcast_shapes, normalize_axis, reduction_len, DType, Element, Shape};
pub use view::{c_strides, Array, ArrayView, ArrayViewMut};

/// `a op b` with NumPy broadcasting on the active level.
pub fn binary<T: Element>(
    op: BinaryOp,
    a: ArrayView<T>,
    b: ArrayView<T>,
) -> Result<Array<T>, KernelError> {
    Kernels::active()?.binary(op, a, b)
}

/// `a op b` into `out` (exactly the broadcast shape; untouched on error).
pub fn binary_into<T: Element>(
    op: BinaryOp,
    a: ArrayView<T>,
    b: ArrayView<T>,
    out: ArrayViewMut<T>,
) -> Result<(), KernelError> {
    Kernels::active()?.binary_into(op, a, b, out)
}

/// `a op s` or `s op a` on the active level.
pub fn binary_scalar<T: Element>(
    op: BinaryOp,
    a: ArrayView<T>,
    s: T,
    side: ScalarSide,
) -> Result<Array<T>, KernelError> {
    Kernels::active()?.binary_scalar(op, a, s, side)
}

/// `a op s` or `s op a` into `out` (same shape as `a`).
pub fn binary_scalar_into<T: Element>(
    op: BinaryOp,
    a: ArrayView<T>,
    s: T,
    side: ScalarSide,
    out: ArrayViewMut<T>,
) -> Result<(), KernelError> {
    Kernels::active()?.binary_scalar_into(op, a, s, side, out)
}

/// Sum/mean/min/max over all elements (`axis: None`) or one axis.
pub fn reduce<T: Element>(
    op: ReduceOp,
    a: ArrayView<T>,
    axis: Option<isize>,
) -> Result<Reduced<T>, KernelError> {
    Kernels::active()?.reduce(op, a, axis)
}

/// Reduction over `axis` into `out`.
pub fn reduce_into<T: Element>(
    op: ReduceOp,
    a: ArrayView<T>,
    axis: isize,
    out: ArrayViewMut<T>,
) -> Result<(), KernelError> {
    Kernels::active()?.reduce_into(op, a, axis, out)
}

// The README's Rust examples are compiled and run as doctests too.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
