//! The result dtype of a binary operation under NumPy 2's promotion rules (NEP 50).
//!
//! Arrays and scalars that carry a dtype of their own are *strong*: their dtypes are promoted
//! (`float32` with `float64` gives `float64`). Python `float`/`int`/`bool` values are *weak*: they
//! take the other operand's dtype, so `float32_array * 2.5` stays `float32`. The one exception is
//! a weak float meeting an integer or bool scalar, which gives the default float, `float64`
//! (NumPy: `np.int8(1) + 1.5` is a `float64`). Only float results exist here, so an integer or bool
//! scalar that meets a float or integer promotes like NumPy's `promote_types(intN, float32)`.

use crate::shape::DType;

/// A scalar with a dtype of its own (a NumPy scalar such as `numpy.float32(1)` or `numpy.int16(3)`).
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum ScalarType {
    /// `bool_`.
    Bool,
    /// A signed or unsigned integer of `bits` bits (8, 16, 32 or 64).
    Int {
        /// Width of the integer type.
        bits: u32,
    },
    /// `float16`: no kernels of its own, computed as `float32`.
    Half,
    /// `float32` or `float64`.
    Float(DType),
}

impl ScalarType {
    /// The float dtype this scalar computes in when it meets a `float32`: NumPy's
    /// `promote_types(t, float32)` (integers of up to 16 bits and bool fit in `float32`, wider
    /// integers need `float64`).
    pub fn float_dtype(self) -> DType {
        match self {
            ScalarType::Bool | ScalarType::Half => DType::F32,
            ScalarType::Int { bits } if bits <= 16 => DType::F32,
            ScalarType::Int { .. } => DType::F64,
            ScalarType::Float(dt) => dt,
        }
    }

    fn is_integer(self) -> bool {
        matches!(self, ScalarType::Bool | ScalarType::Int { .. })
    }
}

/// How one operand of a binary operation takes part in dtype promotion.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum OperandType {
    /// An array of this dtype (strong).
    Array(DType),
    /// A scalar with a dtype of its own (strong).
    Scalar(ScalarType),
    /// A Python `float` (weak).
    PyFloat,
    /// A Python `int` or `bool` (weak).
    PyInt,
}

impl OperandType {
    /// The dtype a strong operand contributes; `None` for weak ones.
    fn strong(self) -> Option<DType> {
        match self {
            OperandType::Array(dt) => Some(dt),
            OperandType::Scalar(s) => Some(s.float_dtype()),
            OperandType::PyFloat | OperandType::PyInt => None,
        }
    }
}

/// The wider of two float dtypes.
fn wider(a: DType, b: DType) -> DType {
    if a == DType::F64 || b == DType::F64 {
        DType::F64
    } else {
        DType::F32
    }
}

/// The dtype `a op b` computes in and returns (see the module docs for the rules).
///
/// ```
/// use raptors_kernels::{result_dtype, DType, OperandType, ScalarType};
///
/// let f32_array = OperandType::Array(DType::F32);
/// assert_eq!(result_dtype(f32_array, OperandType::PyFloat), DType::F32);
/// assert_eq!(result_dtype(f32_array, OperandType::Array(DType::F64)), DType::F64);
/// let int64 = OperandType::Scalar(ScalarType::Int { bits: 64 });
/// assert_eq!(result_dtype(f32_array, int64), DType::F64);
/// assert_eq!(result_dtype(int64, OperandType::PyFloat), DType::F64);
/// ```
pub fn result_dtype(a: OperandType, b: OperandType) -> DType {
    match (a.strong(), b.strong()) {
        (Some(x), Some(y)) => wider(x, y),
        (Some(x), None) => weak_with(a, b, x),
        (None, Some(y)) => weak_with(b, a, y),
        (None, None) => DType::F64,
    }
}

/// `strong` (contributing `dt`) against the weak operand `weak`.
fn weak_with(strong: OperandType, weak: OperandType, dt: DType) -> DType {
    match (strong, weak) {
        // A Python float cannot take an integer's dtype: NumPy uses its default float.
        (OperandType::Scalar(s), OperandType::PyFloat) if s.is_integer() => DType::F64,
        _ => dt,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DType::{F32, F64};
    use OperandType::{Array, PyFloat, PyInt, Scalar};

    const fn int(bits: u32) -> OperandType {
        Scalar(ScalarType::Int { bits })
    }
    const fn float(dt: DType) -> OperandType {
        Scalar(ScalarType::Float(dt))
    }

    /// Expected values are NumPy 2.x's `np.result_type` for the float cases; integer/bool
    /// scalars meeting integers map to the float that holds them (raptors has no integer arrays).
    #[test]
    fn nep50_table() {
        let table: &[(OperandType, OperandType, DType)] = &[
            (Array(F32), Array(F32), F32),
            (Array(F32), Array(F64), F64),
            (Array(F64), Array(F32), F64),
            (Array(F64), Array(F64), F64),
            (Array(F32), PyFloat, F32),
            (Array(F32), PyInt, F32),
            (Array(F64), PyFloat, F64),
            (Array(F64), PyInt, F64),
            (Array(F32), float(F64), F64),
            (Array(F64), float(F32), F64),
            (Array(F32), float(F32), F32),
            (Array(F32), Scalar(ScalarType::Half), F32),
            (Array(F32), Scalar(ScalarType::Bool), F32),
            (Array(F32), int(8), F32),
            (Array(F32), int(16), F32),
            (Array(F32), int(32), F64),
            (Array(F32), int(64), F64),
            (Array(F64), int(8), F64),
            (float(F32), PyFloat, F32),
            (float(F32), PyInt, F32),
            (float(F64), PyFloat, F64),
            (Scalar(ScalarType::Half), PyFloat, F32),
            (int(8), PyFloat, F64),
            (int(64), PyFloat, F64),
            (Scalar(ScalarType::Bool), PyFloat, F64),
            (int(8), PyInt, F32),
            (int(32), PyInt, F64),
            (int(16), float(F32), F32),
            (int(16), int(32), F64),
            (PyFloat, PyFloat, F64),
            (PyInt, PyFloat, F64),
            (PyInt, PyInt, F64),
        ];
        for &(a, b, want) in table {
            assert_eq!(result_dtype(a, b), want, "{a:?} op {b:?}");
            assert_eq!(result_dtype(b, a), want, "{b:?} op {a:?} (symmetric)");
        }
    }
}
