//! The single error type of the crate; `Display` strings mirror NumPy's wording so the binding can
//! forward them unchanged.

use crate::dispatch::SimdLevel;
use crate::ops::ReduceOp;
use crate::shape::Shape;

/// Everything that can go wrong in a kernel call. Inputs are validated before any output is written.
///
/// ```
/// use raptors_kernels::{reduce, ArrayView, KernelError, ReduceOp, Shape};
///
/// let x = [1.0f64, 2.0];
/// let e = reduce(ReduceOp::Sum, ArrayView::from_slice(&x, Shape::d1(2)).unwrap(), Some(1));
/// assert_eq!(e, Err(KernelError::AxisOutOfBounds { axis: 1, ndim: 1 }));
/// assert_eq!(e.unwrap_err().to_string(), "axis 1 is out of bounds for array of dimension 1");
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum KernelError {
    /// Two operands whose shapes do not broadcast (NumPy's `ValueError`).
    #[error("operands could not be broadcast together with shapes {a} {b}")]
    BroadcastMismatch {
        /// Shape of the left operand.
        a: Shape,
        /// Shape of the right operand.
        b: Shape,
    },
    /// An `out` view whose shape is not the result's.
    #[error(
        "non-broadcastable output operand with shape {got} doesn't match the broadcast shape {expected}"
    )]
    OutShapeMismatch {
        /// The result's shape.
        expected: Shape,
        /// The shape of the `out` that was passed.
        got: Shape,
    },
    /// A buffer whose length is not the size its shape needs (or slices of different lengths).
    #[error("data of length {got} does not match the array size {expected}")]
    LengthMismatch {
        /// The length that was needed.
        expected: usize,
        /// The length that was passed.
        got: usize,
    },
    /// A strided view that would reach outside its buffer.
    #[error("{what}")]
    OutOfBounds {
        /// Offset, shape, strides and buffer length of the offending view.
        what: String,
    },
    /// A shape with more than two dimensions.
    #[error("raptors supports arrays with at most 2 dimensions, got {ndim}")]
    TooManyDims {
        /// The number of dimensions asked for.
        ndim: usize,
    },
    /// An axis outside `-ndim..ndim` (NumPy's `AxisError`).
    #[error("axis {axis} is out of bounds for array of dimension {ndim}")]
    AxisOutOfBounds {
        /// The axis as given.
        axis: isize,
        /// The array's number of dimensions.
        ndim: usize,
    },
    /// `min`/`max` of an empty array or axis.
    #[error("zero-size array to reduction operation {op} which has no identity")]
    ZeroSizeReduction {
        /// The reduction that was asked for.
        op: ReduceOp,
    },
    /// A SIMD level this CPU or build cannot run (forced with `RAPTORS_SIMD` or `for_level`).
    #[error("SIMD level {level} is not available on this machine: {reason}")]
    SimdUnavailable {
        /// The level asked for.
        level: SimdLevel,
        /// Why it cannot run here.
        reason: String,
    },
    /// A `RAPTORS_SIMD` value that names no level.
    #[error(
        "invalid RAPTORS_SIMD value {value:?}: expected one of scalar, sse2, avx2, avx512, neon, auto"
    )]
    InvalidSimdEnv {
        /// The value as found in the environment.
        value: String,
    },
}
