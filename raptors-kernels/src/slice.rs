//! Conveniences for the common case: one contiguous run of numbers in a slice.
//!
//! Each function runs the same kernels as [`reduce`](crate::reduce) and
//! [`binary_into`](crate::binary_into) on a 1-D view of the slice, on the active SIMD level. They
//! return `Result` because selecting that level can fail (an invalid `RAPTORS_SIMD`), and because
//! `min`/`max` of an empty slice and element-wise calls on slices of different lengths are errors.
//!
//! ```
//! use raptors_kernels::slice;
//!
//! let x = [3.0f32, -1.0, 4.0, 1.5];
//! assert_eq!(slice::sum(&x)?, 7.5);
//! assert_eq!(slice::mean(&x)?, 1.875);
//! assert_eq!((slice::min(&x)?, slice::max(&x)?), (-1.0, 4.0));
//!
//! let mut out = [0.0f32; 4];
//! slice::mul_into(&x, &x, &mut out)?;
//! assert_eq!(out, [9.0, 1.0, 16.0, 2.25]);
//! # Ok::<(), raptors_kernels::KernelError>(())
//! ```

use crate::dispatch::Kernels;
use crate::error::KernelError;
use crate::ops::{BinaryOp, ReduceOp};
use crate::shape::{Element, Shape};
use crate::view::{ArrayView, ArrayViewMut};

fn reduce_slice<T: Element>(op: ReduceOp, x: &[T]) -> Result<T, KernelError> {
    Kernels::active()?.reduce_all(op, ArrayView::from_slice(x, Shape::d1(x.len()))?)
}

/// Sum of the elements (0 for an empty slice), with the accuracy documented in `docs/kernels.md`
/// (blocked, compensated in f64, rounded once to `T`).
///
/// ```
/// let x: Vec<f64> = (1..=100).map(f64::from).collect();
/// assert_eq!(raptors_kernels::slice::sum(&x).unwrap(), 5050.0);
/// ```
pub fn sum<T: Element>(x: &[T]) -> Result<T, KernelError> {
    reduce_slice(ReduceOp::Sum, x)
}

/// Arithmetic mean (NaN for an empty slice, as NumPy's `mean`).
///
/// ```
/// assert_eq!(raptors_kernels::slice::mean(&[1.0f32, 2.0]).unwrap(), 1.5);
/// assert!(raptors_kernels::slice::mean::<f32>(&[]).unwrap().is_nan());
/// ```
pub fn mean<T: Element>(x: &[T]) -> Result<T, KernelError> {
    reduce_slice(ReduceOp::Mean, x)
}

/// Minimum; NaN if any element is NaN (NumPy's `min`); [`KernelError::ZeroSizeReduction`] for an
/// empty slice.
///
/// ```
/// use raptors_kernels::slice;
/// assert_eq!(slice::min(&[2.0f64, -7.5, 3.0]).unwrap(), -7.5);
/// assert!(slice::min(&[1.0f64, f64::NAN]).unwrap().is_nan());
/// assert!(slice::min::<f64>(&[]).is_err());
/// ```
pub fn min<T: Element>(x: &[T]) -> Result<T, KernelError> {
    reduce_slice(ReduceOp::Min, x)
}

/// Maximum; NaN if any element is NaN; [`KernelError::ZeroSizeReduction`] for an empty slice.
///
/// ```
/// assert_eq!(raptors_kernels::slice::max(&[2.0f32, -7.5, 3.0]).unwrap(), 3.0);
/// ```
pub fn max<T: Element>(x: &[T]) -> Result<T, KernelError> {
    reduce_slice(ReduceOp::Max, x)
}

/// `out[i] = a[i] op b[i]`; all three slices must have the same length (else
/// [`KernelError::LengthMismatch`], with `out` untouched).
fn binary_slice<T: Element>(
    op: BinaryOp,
    a: &[T],
    b: &[T],
    out: &mut [T],
) -> Result<(), KernelError> {
    for got in [a.len(), b.len()] {
        if got != out.len() {
            return Err(KernelError::LengthMismatch {
                expected: out.len(),
                got,
            });
        }
    }
    let shape = Shape::d1(out.len());
    Kernels::active()?.binary_into(
        op,
        ArrayView::from_slice(a, shape)?,
        ArrayView::from_slice(b, shape)?,
        ArrayViewMut::from_slice(out, shape)?,
    )
}

/// `out[i] = a[i] + b[i]` (same lengths, else [`KernelError::LengthMismatch`]).
///
/// ```
/// let mut out = [0.0f64; 3];
/// raptors_kernels::slice::add_into(&[1.0, 2.0, 3.0], &[10.0, 20.0, 30.0], &mut out).unwrap();
/// assert_eq!(out, [11.0, 22.0, 33.0]);
/// assert!(raptors_kernels::slice::add_into(&[1.0], &[1.0, 2.0], &mut [0.0; 2]).is_err());
/// ```
pub fn add_into<T: Element>(a: &[T], b: &[T], out: &mut [T]) -> Result<(), KernelError> {
    binary_slice(BinaryOp::Add, a, b, out)
}

/// `out[i] = a[i] - b[i]` (same lengths, else [`KernelError::LengthMismatch`]).
///
/// ```
/// let mut out = [0.0f32; 2];
/// raptors_kernels::slice::sub_into(&[1.0, 2.0], &[0.5, 4.0], &mut out).unwrap();
/// assert_eq!(out, [0.5, -2.0]);
/// ```
pub fn sub_into<T: Element>(a: &[T], b: &[T], out: &mut [T]) -> Result<(), KernelError> {
    binary_slice(BinaryOp::Sub, a, b, out)
}

/// `out[i] = a[i] * b[i]` (same lengths, else [`KernelError::LengthMismatch`]).
///
/// ```
/// let mut out = [0.0f64; 2];
/// raptors_kernels::slice::mul_into(&[1.5, -2.0], &[2.0, 3.0], &mut out).unwrap();
/// assert_eq!(out, [3.0, -6.0]);
/// ```
pub fn mul_into<T: Element>(a: &[T], b: &[T], out: &mut [T]) -> Result<(), KernelError> {
    binary_slice(BinaryOp::Mul, a, b, out)
}

/// `out[i] = a[i] / b[i]` (IEEE: `x / 0.0` is ±inf or NaN; same lengths, else
/// [`KernelError::LengthMismatch`]).
///
/// ```
/// let mut out = [0.0f32; 2];
/// raptors_kernels::slice::div_into(&[1.0, 1.0], &[4.0, 0.0], &mut out).unwrap();
/// assert_eq!(out, [0.25, f32::INFINITY]);
/// ```
pub fn div_into<T: Element>(a: &[T], b: &[T], out: &mut [T]) -> Result<(), KernelError> {
    binary_slice(BinaryOp::Div, a, b, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_mismatch_leaves_out_untouched() {
        let mut out = [7.0f64; 3];
        let e = add_into(&[1.0, 2.0, 3.0], &[1.0, 2.0], &mut out).unwrap_err();
        assert_eq!(
            e,
            KernelError::LengthMismatch {
                expected: 3,
                got: 2
            }
        );
        assert!(sub_into(&[1.0; 4], &[1.0; 3], &mut out).is_err());
        assert_eq!(out, [7.0; 3]);
    }

    #[test]
    fn long_slices_match_the_view_api() {
        let x: Vec<f32> = (0..100_003)
            .map(|i| ((i * 37) % 1001) as f32 - 500.0)
            .collect();
        let v = ArrayView::from_slice(&x, Shape::d1(x.len())).unwrap();
        for (f, op) in [
            (
                sum::<f32> as fn(&[f32]) -> Result<f32, KernelError>,
                ReduceOp::Sum,
            ),
            (mean, ReduceOp::Mean),
            (min, ReduceOp::Min),
            (max, ReduceOp::Max),
        ] {
            let want = crate::reduce(op, v, None).unwrap();
            assert_eq!(crate::Reduced::Scalar(f(&x).unwrap()), want, "{op}");
        }
        let mut out = vec![0.0f32; x.len()];
        div_into(&x, &x, &mut out).unwrap();
        assert!(out
            .iter()
            .zip(&x)
            .all(|(&o, &a)| if a == 0.0 { o.is_nan() } else { o == 1.0 }));
    }
}
