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

/// An operation name that is not one of the accepted spellings.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct UnknownOp(pub String);

impl fmt::Display for UnknownOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown operation {:?}", self.0)
    }
}

impl std::error::Error for UnknownOp {}

impl std::str::FromStr for BinaryOp {
    type Err = UnknownOp;
    /// Short names (`add`, `sub`, `mul`, `div`, as in raptors-bench's op table) or NumPy's ufunc
    /// names (`subtract`, `multiply`, `divide`).
    ///
    /// ```
    /// use raptors_kernels::BinaryOp;
    /// assert_eq!("sub".parse(), Ok(BinaryOp::Sub));
    /// assert_eq!("divide".parse(), Ok(BinaryOp::Div));
    /// assert!("pow".parse::<BinaryOp>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Self, UnknownOp> {
        match s {
            "add" => Ok(BinaryOp::Add),
            "sub" | "subtract" => Ok(BinaryOp::Sub),
            "mul" | "multiply" => Ok(BinaryOp::Mul),
            "div" | "divide" => Ok(BinaryOp::Div),
            _ => Err(UnknownOp(s.to_owned())),
        }
    }
}

impl std::str::FromStr for ReduceOp {
    type Err = UnknownOp;
    /// `sum`, `mean`, `min`, `max` (also NumPy's `add`, `minimum`, `maximum`).
    ///
    /// ```
    /// use raptors_kernels::ReduceOp;
    /// assert_eq!("max".parse(), Ok(ReduceOp::Max));
    /// assert!("median".parse::<ReduceOp>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Self, UnknownOp> {
        match s {
            "sum" | "add" => Ok(ReduceOp::Sum),
            "mean" => Ok(ReduceOp::Mean),
            "min" | "minimum" => Ok(ReduceOp::Min),
            "max" | "maximum" => Ok(ReduceOp::Max),
            _ => Err(UnknownOp(s.to_owned())),
        }
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
