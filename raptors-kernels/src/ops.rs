//! Operation enums and result types.

use std::fmt;

use crate::view::Array;

/// Element-wise binary operation.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum BinaryOp {
    /// `a + b`
    Add,
    /// `a - b`
    Sub,
    /// `a * b`
    Mul,
    /// `a / b` (IEEE: `x / 0` is ±inf or NaN)
    Div,
}

impl BinaryOp {
    /// Every operation, in declaration order.
    pub const ALL: [BinaryOp; 4] = [BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div];
    pub(crate) fn index(self) -> usize {
        self as usize
    }
    /// Applies the operation to two scalars (the reference semantics of every kernel).
    ///
    /// ```
    /// use raptors_kernels::BinaryOp;
    /// assert_eq!(BinaryOp::Div.apply(1.0f32, 4.0), 0.25);
    /// assert_eq!(BinaryOp::Sub.to_string(), "subtract");
    /// ```
    pub fn apply<T: crate::Element>(self, a: T, b: T) -> T {
        match self {
            BinaryOp::Add => a + b,
            BinaryOp::Sub => a - b,
            BinaryOp::Mul => a * b,
            BinaryOp::Div => a / b,
        }
    }
}

impl fmt::Display for BinaryOp {
    /// NumPy ufunc names.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BinaryOp::Add => "add",
            BinaryOp::Sub => "subtract",
            BinaryOp::Mul => "multiply",
            BinaryOp::Div => "divide",
        })
    }
}

/// Reduction operation.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum ReduceOp {
    /// Sum (0 for no elements).
    Sum,
    /// Arithmetic mean (NaN for no elements).
    Mean,
    /// NaN-propagating minimum (an error for no elements).
    Min,
    /// NaN-propagating maximum (an error for no elements).
    Max,
}

impl ReduceOp {
    /// Every reduction, in declaration order.
    pub const ALL: [ReduceOp; 4] = [ReduceOp::Sum, ReduceOp::Mean, ReduceOp::Min, ReduceOp::Max];
}

impl fmt::Display for ReduceOp {
    /// NumPy ufunc names (as used in NumPy's error messages).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReduceOp::Sum => "add",
            ReduceOp::Mean => "mean",
            ReduceOp::Min => "minimum",
            ReduceOp::Max => "maximum",
        })
    }
}

/// Which side the scalar is on: `Right` is `a op s`, `Left` is `s op a`.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum ScalarSide {
    /// `s op a`
    Left,
    /// `a op s`
    Right,
}

/// Result of a reduction: a scalar (all elements, or a 1-D input) or a 1-D array.
#[derive(Clone, PartialEq, Debug)]
pub enum Reduced<T> {
    /// One value: a reduction over all elements, or over the one axis of a 1-D input.
    Scalar(T),
    /// One value per remaining index: an axis reduction of a 2-D input.
    Array(Array<T>),
}
