//! The single error type of the crate; `Display` strings mirror NumPy's wording so the binding can
//! forward them unchanged.

use crate::dispatch::SimdLevel;
use crate::ops::ReduceOp;
use crate::shape::Shape;

/// Everything that can go wrong in a kernel call. Inputs are validated before any output is written.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum KernelError {
    #[error("operands could not be broadcast together with shapes {a} {b}")]
    BroadcastMismatch { a: Shape, b: Shape },
    #[error(
        "non-broadcastable output operand with shape {got} doesn't match the broadcast shape {expected}"
    )]
    OutShapeMismatch { expected: Shape, got: Shape },
    #[error("data of length {got} does not match the array size {expected}")]
    LengthMismatch { expected: usize, got: usize },
    #[error("{what}")]
    OutOfBounds { what: String },
    #[error("raptors supports arrays with at most 2 dimensions, got {ndim}")]
    TooManyDims { ndim: usize },
    #[error("axis {axis} is out of bounds for array of dimension {ndim}")]
    AxisOutOfBounds { axis: isize, ndim: usize },
    #[error("zero-size array to reduction operation {op} which has no identity")]
    ZeroSizeReduction { op: ReduceOp },
    #[error("SIMD level {level} is not available on this machine: {reason}")]
    SimdUnavailable { level: SimdLevel, reason: String },
    #[error(
        "invalid RAPTORS_SIMD value {value:?}: expected one of scalar, sse2, avx2, avx512, neon, auto"
    )]
    InvalidSimdEnv { value: String },
}
