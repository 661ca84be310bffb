//! Element-type conversion of whole views (`f32` <-> `f64`): the one cast loop of the project.
//!
//! `f32 -> f64` is exact; `f64 -> f32` rounds to nearest, ties to even (IEEE, as NumPy's `astype`
//! does), so values beyond `f32::MAX` become ±inf and tiny ones subnormal or ±0; NaN stays NaN
//! (its payload is not guaranteed), ±inf and -0.0 are kept. A cast to the same type copies the
//! bits. Contiguous views take a flat loop (vectorised by the compiler: `cvtps2pd`/`cvtpd2ps`),
//! anything else (negative, zero, transposed strides) a per-element loop.

use std::any::Any;

use crate::driver::with_result;
use crate::error::KernelError;
use crate::par::{self, SendPtr};
use crate::shape::Element;
use crate::view::{Array, ArrayView, ArrayViewMut};

/// One element of `S` as `D` (see the module docs for the rounding).
#[inline(always)]
fn convert<S: Element, D: Element>(x: S) -> D {
    // Same type: the value itself (keeps NaN payloads). The type test folds away per instance.
    match (&x as &dyn Any).downcast_ref::<D>() {
        Some(&same) => same,
        None => D::from_f64(x.to_f64()),
    }
}

/// A C-contiguous copy of `src` converted to `D`.
///
/// ```
/// use raptors_kernels::{cast, Array, Shape};
///
/// let a = Array::from_vec(vec![0.1f64, 1e40, -0.0], Shape::d1(3)).unwrap();
/// let b: Array<f32> = cast(a.view());
/// assert_eq!(b.as_slice(), &[0.1f32, f32::INFINITY, -0.0]);
/// ```
pub fn cast<S: Element, D: Element>(src: ArrayView<'_, S>) -> Array<D> {
    with_result(src.shape, |out| cast_into(src, out))
        .expect("the result has the shape of the source")
}

/// `src` converted to `D` and written into `out`, which must have `src`'s shape (else
/// [`KernelError::OutShapeMismatch`], with `out` untouched). `out` may have any strides; it must
/// not overlap `src` unless both are exactly the same memory of the same type.
///
/// ```
/// use raptors_kernels::{cast_into, ArrayView, ArrayViewMut, Shape};
///
/// // A transposed 2x3 f32 view written into a 3x2 f64 buffer.
/// let data = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
/// let t = ArrayView::from_slice_strided(&data, 0, Shape::d2(3, 2), [1, 3]).unwrap();
/// let mut out = [0.0f64; 6];
/// cast_into(t, ArrayViewMut::from_slice(&mut out, Shape::d2(3, 2)).unwrap()).unwrap();
/// assert_eq!(out, [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
/// ```
pub fn cast_into<S: Element, D: Element>(
    src: ArrayView<'_, S>,
    out: ArrayViewMut<'_, D>,
) -> Result<(), KernelError> {
    if out.shape != src.shape {
        return Err(KernelError::OutShapeMismatch {
            expected: src.shape,
            got: out.shape,
        });
    }
    let size = src.shape.size();
    let identical = std::ptr::addr_eq(src.ptr, out.ptr) && src.strides == out.strides;
    if size == 0 || (identical && S::DTYPE == D::DTYPE) {
        // Nothing to convert: a same-type cast onto itself leaves every element as it is.
        return Ok(());
    }
    if src.is_c_contiguous() && out.is_c_contiguous() {
        let bytes = size * (std::mem::size_of::<S>() + std::mem::size_of::<D>());
        let (ps, po) = (SendPtr(src.ptr as *mut S), SendPtr(out.ptr));
        par::for_ranges(size, bytes, 64, par::CHUNKS_PER_THREAD, |s, e| {
            // SAFETY: both views are C-contiguous with `size` elements, so [s, e) (inside
            // 0..size) is readable in `src` and writable in `out`; chunks are disjoint. The two
            // slices do not alias: overlap is only allowed for the identical same-type view
            // (the views' contract), which returned above.
            let (from, to) = unsafe {
                (
                    std::slice::from_raw_parts(ps.get().add(s).cast_const(), e - s),
                    std::slice::from_raw_parts_mut(po.get().add(s), e - s),
                )
            };
            cast_slice(from, to);
        });
        return Ok(());
    }
    let (m, n) = src.shape.as_2d();
    let (s0, s1) = src.strides2d();
    let (o0, o1) = out.strides2d();
    for i in 0..m as isize {
        for j in 0..n as isize {
            // SAFETY: (i, j) lies inside the common shape, so both offsets address elements the
            // views' constructors guaranteed to be readable (`src`) and writable (`out`).
            unsafe { *out.ptr.offset(i * o0 + j * o1) = convert(*src.ptr.offset(i * s0 + j * s1)) };
        }
    }
    Ok(())
}

/// `to[i] = from[i] as D` for equal-length slices.
fn cast_slice<S: Element, D: Element>(from: &[S], to: &mut [D]) {
    for (d, &s) in to.iter_mut().zip(from) {
        *d = convert(s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::Shape;

    #[test]
    fn same_type_keeps_nan_payloads() {
        let odd_nan = f32::from_bits(0x7fc0_1234);
        let a = [odd_nan, -0.0, 1.5];
        let r: Array<f32> = cast(ArrayView::from_slice(&a, Shape::d1(3)).unwrap());
        let bits: Vec<u32> = r.as_slice().iter().map(|x| x.to_bits()).collect();
        assert_eq!(bits, a.iter().map(|x| x.to_bits()).collect::<Vec<_>>());
    }
}
