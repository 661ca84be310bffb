//! Zero-copy conversions between [`ndarray`] and this crate's types (feature `ndarray`).
//!
//! `ndarray` views become [`ArrayView`]/[`ArrayViewMut`] with the same first element, shape and
//! element strides, so any layout `ndarray` allows (negative, zero, non-contiguous strides) is
//! passed through without a copy; results come back with [`Array::into_ndarray`], which moves the
//! buffer.
//!
//! ```
//! use raptors_kernels::ndarray::{array, s, Array2};
//! use raptors_kernels::{binary, reduce, BinaryOp, ReduceOp, Reduced};
//!
//! let a: Array2<f32> = array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
//! // Column sums of the transpose are the row sums of `a`.
//! let Reduced::Array(rows) = reduce(ReduceOp::Sum, a.t().into(), Some(0))? else { unreachable!() };
//! assert_eq!(rows.into_ndarray1()?, ndarray::arr1(&[6.0, 15.0]));
//! // Reversed columns, element-wise against the original.
//! let d = binary(BinaryOp::Sub, a.slice(s![.., ..;-1]).into(), a.view().into())?;
//! assert_eq!(d.into_ndarray2()?, array![[2.0, 0.0, -2.0], [2.0, 0.0, -2.0]]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use ndarray::{
    Array1, Array2, ArrayD, ArrayView1, ArrayView2, ArrayViewD, ArrayViewMut1, ArrayViewMut2,
    ArrayViewMutD, IxDyn, ShapeError,
};

use crate::error::KernelError;
use crate::shape::{Element, Shape};
use crate::view::{Array, ArrayView, ArrayViewMut};

/// Element strides of an `ndarray` view as this crate stores them (unused axes 0).
fn strides2(s: &[isize]) -> [isize; 2] {
    let mut out = [0; 2];
    for (o, &x) in out.iter_mut().zip(s) {
        *o = x;
    }
    out
}

impl<'a, T: Element> From<ArrayView1<'a, T>> for ArrayView<'a, T> {
    /// The same elements, no copy (any stride, including negative and zero).
    fn from(v: ArrayView1<'a, T>) -> Self {
        let shape = Shape::d1(v.len());
        let strides = strides2(v.strides());
        // SAFETY: an `ndarray` view guarantees that every element reachable from `as_ptr()` (its
        // first element) through its shape and element strides is valid to read for 'a and not
        // mutated meanwhile; we keep the pointer, shape and strides unchanged and the lifetime.
        unsafe { ArrayView::from_raw_parts(v.as_ptr(), shape, strides) }
    }
}

impl<'a, T: Element> From<ArrayView2<'a, T>> for ArrayView<'a, T> {
    /// The same elements, no copy (any strides, e.g. a transpose `a.t()` or `a.slice(s![..;-1, ..])`).
    fn from(v: ArrayView2<'a, T>) -> Self {
        let (m, n) = v.dim();
        let strides = strides2(v.strides());
        // SAFETY: as for `ArrayView1`: ndarray's view invariant covers every reachable element for
        // 'a, and pointer, shape and strides are kept as they are.
        unsafe { ArrayView::from_raw_parts(v.as_ptr(), Shape::d2(m, n), strides) }
    }
}

impl<'a, T: Element> TryFrom<ArrayViewD<'a, T>> for ArrayView<'a, T> {
    type Error = KernelError;
    /// The same elements, no copy; more than two dimensions is [`KernelError::TooManyDims`].
    fn try_from(v: ArrayViewD<'a, T>) -> Result<Self, KernelError> {
        let shape = Shape::new(v.shape())?;
        let strides = strides2(v.strides());
        // SAFETY: as for `ArrayView1` (the shape was checked to have at most two axes, so both
        // strides were copied).
        Ok(unsafe { ArrayView::from_raw_parts(v.as_ptr(), shape, strides) })
    }
}

impl<'a, T: Element> From<ArrayViewMut1<'a, T>> for ArrayViewMut<'a, T> {
    /// The same elements, no copy; the `ndarray` view's exclusive borrow moves into the result.
    fn from(mut v: ArrayViewMut1<'a, T>) -> Self {
        let shape = Shape::d1(v.len());
        let strides = strides2(v.strides());
        // SAFETY: an `ndarray` mutable view is an exclusive borrow for 'a of every element
        // reachable through its shape and strides from its first element, which `as_mut_ptr`
        // returns (a view never reallocates); consuming the view hands that borrow over.
        unsafe { ArrayViewMut::from_raw_parts(v.as_mut_ptr(), shape, strides) }
    }
}

impl<'a, T: Element> From<ArrayViewMut2<'a, T>> for ArrayViewMut<'a, T> {
    /// The same elements, no copy (any strides).
    fn from(mut v: ArrayViewMut2<'a, T>) -> Self {
        let (m, n) = v.dim();
        let strides = strides2(v.strides());
        // SAFETY: as for `ArrayViewMut1`.
        unsafe { ArrayViewMut::from_raw_parts(v.as_mut_ptr(), Shape::d2(m, n), strides) }
    }
}

impl<'a, T: Element> TryFrom<ArrayViewMutD<'a, T>> for ArrayViewMut<'a, T> {
    type Error = KernelError;
    /// The same elements, no copy; more than two dimensions is [`KernelError::TooManyDims`].
    fn try_from(mut v: ArrayViewMutD<'a, T>) -> Result<Self, KernelError> {
        let shape = Shape::new(v.shape())?;
        let strides = strides2(v.strides());
        // SAFETY: as for `ArrayViewMut1` (at most two axes, checked above).
        Ok(unsafe { ArrayViewMut::from_raw_parts(v.as_mut_ptr(), shape, strides) })
    }
}

impl<T: Element> Array<T> {
    /// The result as an `ndarray` array of the same shape (0-d, 1-D or 2-D); the buffer is moved,
    /// not copied.
    ///
    /// ```
    /// use raptors_kernels::{binary_scalar, ArrayView, BinaryOp, ScalarSide, Shape};
    ///
    /// let x = [1.0f64, 2.0, 3.0, 4.0];
    /// let a = ArrayView::from_slice(&x, Shape::d2(2, 2)).unwrap();
    /// let r = binary_scalar(BinaryOp::Mul, a, 10.0, ScalarSide::Right).unwrap().into_ndarray();
    /// assert_eq!(r.shape(), &[2, 2]);
    /// assert_eq!(r[[1, 0]], 30.0);
    /// ```
    pub fn into_ndarray(self) -> ArrayD<T> {
        let dims = IxDyn(self.shape().dims());
        ArrayD::from_shape_vec(dims, self.into_vec())
            .expect("an Array's buffer length always equals its shape's size")
    }

    /// The result as an [`ndarray::Array1`] (no copy); an error unless the array is 1-D.
    pub fn into_ndarray1(self) -> Result<Array1<T>, ShapeError> {
        self.into_ndarray().into_dimensionality()
    }

    /// The result as an [`ndarray::Array2`] (no copy); an error unless the array is 2-D.
    pub fn into_ndarray2(self) -> Result<Array2<T>, ShapeError> {
        self.into_ndarray().into_dimensionality()
    }
}

impl<T: Element> From<Array<T>> for ArrayD<T> {
    /// [`Array::into_ndarray`].
    fn from(a: Array<T>) -> Self {
        a.into_ndarray()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{s, Array2 as NdArray2};

    #[test]
    fn conversions_keep_pointer_shape_and_strides() {
        let a = NdArray2::from_shape_fn((4, 5), |(i, j)| (10 * i + j) as f64);
        for v in [
            a.view(),
            a.t(),
            a.slice(s![..;-1, ..]),
            a.slice(s![1..;2, ..;-2]),
            a.slice(s![.., 3..3]),
        ] {
            let r: ArrayView<'_, f64> = v.into();
            assert_eq!(r.shape().dims(), v.shape());
            assert_eq!(&r.strides()[..], v.strides());
            assert_eq!(r.get(&[0, 0]).as_ref(), v.get((0, 0)));
        }
        // A broadcast view: stride 0.
        let row = ndarray::arr1(&[1.0f32, 2.0, 3.0]);
        let b = row.broadcast((4, 3)).unwrap();
        let r: ArrayView<'_, f32> = b.into();
        assert_eq!(r.strides(), [0, 1]);
    }

    #[test]
    fn into_ndarray_moves_the_buffer() {
        let a = Array::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], Shape::d2(2, 3)).unwrap();
        let p = a.as_slice().as_ptr();
        let n = a.into_ndarray2().unwrap();
        assert_eq!(n.as_ptr(), p);
        assert_eq!(n[[1, 2]], 6.0);
        let s = Array::from_vec(vec![7.0f64], Shape::scalar()).unwrap();
        assert!(s.clone().into_ndarray1().is_err());
        assert_eq!(s.into_ndarray().ndim(), 0);
    }

    #[test]
    fn dynamic_views_check_ndim() {
        let a = ndarray::ArrayD::<f64>::zeros(IxDyn(&[2, 2, 2]));
        let e = ArrayView::try_from(a.view()).unwrap_err();
        assert_eq!(e, KernelError::TooManyDims { ndim: 3 });
    }
}
