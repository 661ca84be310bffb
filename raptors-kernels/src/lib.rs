//! SIMD array kernels (element-wise, broadcasting, reductions) for f32/f64 with runtime ISA dispatch.
//!
//! The public surface is described in `README.md` (the API contract shared with the binding and
//! the benches); kernel strategies and accuracy bounds are in `docs/kernels.md`.
//!
//! Layout (memchr-style): `generic/` holds each algorithm once over the `Lanes` trait, `arch/`
//! instantiates it per instruction set under `#[target_feature]`, `dispatch` picks a level once,
//! `driver` maps strided/broadcast views onto the contiguous kernels.

mod arch;
#[cfg(feature = "capi")]
pub mod capi;
mod cast;
mod dispatch;
mod driver;
mod error;
mod generic;
mod helpers;
mod lanes;
mod ops;
mod overlap;
mod par;
mod pool;
mod promote;
mod shape;
mod view;

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
