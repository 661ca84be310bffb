//! Element types and shapes (ndim 0, 1 or 2).

use std::fmt;
use std::ops::{Add, Div, Mul, Sub};

use crate::error::KernelError;

/// The element type of an array.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum DType {
    /// `f32` (NumPy's `float32`).
    F32,
    /// `f64` (NumPy's `float64`).
    F64,
}

impl DType {
    /// Bytes per element: 4 for `F32`, 8 for `F64`.
    pub fn itemsize(self) -> usize {
        match self {
            DType::F32 => std::mem::size_of::<f32>(),
            DType::F64 => std::mem::size_of::<f64>(),
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DType::F32 => "float32",
            DType::F64 => "float64",
        })
    }
}

pub(crate) mod sealed {
    use super::*;
    use crate::dispatch::{Kernels, Table};

    /// Crate-private plumbing behind [`Element`](super::Element); sealed so only f32/f64 exist.
    pub trait Sealed:
        Copy
        + PartialOrd
        + Add<Output = Self>
        + Sub<Output = Self>
        + Mul<Output = Self>
        + Div<Output = Self>
    {
        const NAN: Self;
        const ZERO: Self;
        fn to_f64(self) -> f64;
        fn from_f64(v: f64) -> Self;
        fn is_nan(self) -> bool;
        fn table(k: &Kernels) -> &Table<Self>;
        fn pool() -> &'static crate::pool::Pool<Self>;
    }
}

/// An array element: implemented for `f32` and `f64` only.
pub trait Element:
    Copy + Send + Sync + PartialOrd + fmt::Debug + fmt::Display + 'static + sealed::Sealed
{
    /// The runtime tag of this type.
    const DTYPE: DType;
}

macro_rules! element {
    ($t:ty, $dt:expr, $field:ident) => {
        impl sealed::Sealed for $t {
            const NAN: Self = <$t>::NAN;
            const ZERO: Self = 0.0;
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            #[inline(always)]
            fn is_nan(self) -> bool {
                <$t>::is_nan(self)
            }
            #[inline(always)]
            fn table(k: &crate::dispatch::Kernels) -> &crate::dispatch::Table<Self> {
                &k.$field
            }
            fn pool() -> &'static crate::pool::Pool<Self> {
                static POOL: crate::pool::Pool<$t> = crate::pool::Pool::new();
                &POOL
            }
        }
        impl Element for $t {
            const DTYPE: DType = $dt;
        }
    };
}
element!(f32, DType::F32, f32);
element!(f64, DType::F64, f64);

/// NaN-propagating minimum with the operand order of x86 `minps(a, b)` for non-NaN input
/// (`b` wins ties), so scalar and SIMD paths agree.
#[inline(always)]
pub(crate) fn min_nan<E: Element>(a: E, b: E) -> E {
    if a.is_nan() {
        a
    } else if b.is_nan() {
        b
    } else if a < b {
        a
    } else {
        b
    }
}

/// NaN-propagating maximum, see [`min_nan`].
#[inline(always)]
pub(crate) fn max_nan<E: Element>(a: E, b: E) -> E {
    if a.is_nan() {
        a
    } else if b.is_nan() {
        b
    } else if a > b {
        a
    } else {
        b
    }
}

/// The shape of an array with at most two dimensions (unused dims are always 0).
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub struct Shape {
    dims: [usize; 2],
    // usize, not u8: no padding bytes, so moves are whole words (padding copies caused
    // store-forwarding stalls on the small-array path).
    ndim: usize,
}

impl Shape {
    /// A shape from NumPy-style dims; more than two dimensions is [`KernelError::TooManyDims`].
    pub fn new(dims: &[usize]) -> Result<Shape, KernelError> {
        match *dims {
            [] => Ok(Shape::scalar()),
            [n] => Ok(Shape::d1(n)),
            [m, n] => Ok(Shape::d2(m, n)),
            _ => Err(KernelError::TooManyDims { ndim: dims.len() }),
        }
    }
    /// The 0-d shape `()` (one element).
    pub fn scalar() -> Shape {
        Shape {
            dims: [0, 0],
            ndim: 0,
        }
    }
    /// The 1-D shape `(n,)`.
    pub fn d1(n: usize) -> Shape {
        Shape {
            dims: [n, 0],
            ndim: 1,
        }
    }
    /// The 2-D shape `(m, n)`: m rows of n elements.
    ///
    /// ```
    /// use raptors_kernels::Shape;
    /// let s = Shape::d2(2, 3);
    /// assert_eq!((s.dims(), s.ndim(), s.size()), (&[2, 3][..], 2, 6));
    /// assert_eq!(s.to_string(), "(2, 3)");
    /// ```
    pub fn d2(m: usize, n: usize) -> Shape {
        Shape {
            dims: [m, n],
            ndim: 2,
        }
    }
    /// The extent of each dimension (empty for a 0-d shape).
    #[inline]
    pub fn dims(&self) -> &[usize] {
        &self.dims[..self.ndim]
    }
    /// The number of dimensions (0, 1 or 2).
    pub fn ndim(&self) -> usize {
        self.ndim
    }
    /// Number of elements (1 for a 0-d shape). Saturates instead of overflowing, so an absurd
    /// shape can never match a real buffer length.
    #[inline]
    pub fn size(&self) -> usize {
        self.dims().iter().fold(1usize, |a, &d| a.saturating_mul(d))
    }
    /// (rows, cols) of the shape seen as 2-D: `()` -> (1, 1), `(n,)` -> (1, n).
    pub(crate) fn as_2d(&self) -> (usize, usize) {
        match self.ndim {
            0 => (1, 1),
            1 => (1, self.dims[0]),
            _ => (self.dims[0], self.dims[1]),
        }
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.dims() {
            [] => f.write_str("()"),
            [n] => write!(f, "({n},)"),
            [m, n] => write!(f, "({m}, {n})"),
            _ => unreachable!("ndim <= 2 by construction"),
        }
    }
}

/// NumPy's axis normalisation: `-ndim <= axis < ndim`, negative axes count from the end.
/// Anything else is [`KernelError::AxisOutOfBounds`], whose message is NumPy's `AxisError` text
/// ("axis 2 is out of bounds for array of dimension 2").
pub fn normalize_axis(axis: isize, ndim: usize) -> Result<usize, KernelError> {
    let nd = ndim as isize;
    if axis < -nd || axis >= nd {
        return Err(KernelError::AxisOutOfBounds { axis, ndim });
    }
    Ok(if axis < 0 { axis + nd } else { axis } as usize)
}

/// How many elements each result of a reduction over `axis` combines (`None`: all of them).
/// Zero means an empty reduction (sum 0, mean NaN, min/max an error).
pub fn reduction_len(shape: Shape, axis: Option<isize>) -> Result<usize, KernelError> {
    match axis {
        None => Ok(shape.size()),
        Some(axis) => Ok(shape.dims()[normalize_axis(axis, shape.ndim())?]),
    }
}

/// NumPy broadcasting of two shapes with at most two dimensions.
pub fn broadcast_shapes(a: Shape, b: Shape) -> Result<Shape, KernelError> {
    broadcast(a, b).ok_or(KernelError::BroadcastMismatch { a, b })
}

/// [`broadcast_shapes`] without building an error: the hot path of small-array calls moves a
/// `Shape`, not a 56-byte `Result`.
#[inline]
pub(crate) fn broadcast(a: Shape, b: Shape) -> Option<Shape> {
    if a == b {
        return Some(a);
    }
    let nd = a.ndim().max(b.ndim());
    let mut out = [0usize; 2];
    for (k, slot) in out.iter_mut().enumerate().take(nd) {
        // k counts from the leading axis of the result; align both operands to the right.
        let da = dim_from_right(a, nd - 1 - k);
        let db = dim_from_right(b, nd - 1 - k);
        *slot = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return None,
        };
    }
    Some(Shape {
        dims: out,
        ndim: nd,
    })
}

/// Dimension `r` places from the right, 1 when the shape has fewer dimensions.
fn dim_from_right(s: Shape, r: usize) -> usize {
    let d = s.dims();
    if r < d.len() {
        d[d.len() - 1 - r]
    } else {
        1
    }
}
