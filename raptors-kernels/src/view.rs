//! Borrowed strided views and the owned C-contiguous result array.

use std::fmt;
use std::marker::PhantomData;

use crate::error::KernelError;
use crate::shape::{Element, Shape};

/// C-contiguous (row-major) strides of `shape`, in elements; axes beyond `shape.ndim()` get 0.
///
/// ```
/// use raptors_kernels::{c_strides, Shape};
/// assert_eq!(c_strides(Shape::d2(3, 4)), [4, 1]);
/// assert_eq!(c_strides(Shape::d1(5)), [1, 0]);
/// assert_eq!(c_strides(Shape::scalar()), [0, 0]);
/// ```
pub fn c_strides(shape: Shape) -> [isize; 2] {
    match *shape.dims() {
        [] => [0, 0],
        [_] => [1, 0],
        [_, n] => [n as isize, 1],
        _ => unreachable!("ndim <= 2"),
    }
}

/// NumPy's C-contiguity: axes of length <= 1 may have any stride; empty arrays are contiguous.
#[inline]
fn is_c_contig(shape: Shape, strides: [isize; 2]) -> bool {
    match *shape.dims() {
        [] => true,
        [n] => n <= 1 || strides[0] == 1,
        [m, n] => {
            m == 0
                || n == 0
                || ((n <= 1 || strides[1] == 1) && (m <= 1 || strides[0] == n as isize))
        }
        _ => unreachable!("ndim <= 2"),
    }
}

/// `strides` with the axes beyond `shape.ndim()` set to 0, so layout logic never sees garbage.
fn used_strides(shape: Shape, mut strides: [isize; 2]) -> [isize; 2] {
    for s in strides.iter_mut().skip(shape.ndim()) {
        *s = 0;
    }
    strides
}

/// Checks that every element reachable from `offset` through `shape`/`strides` lies in `0..len`.
fn check_bounds(
    len: usize,
    offset: usize,
    shape: Shape,
    strides: [isize; 2],
) -> Result<(), KernelError> {
    let oob = |detail: String| {
        KernelError::OutOfBounds {
        what: format!(
            "view with offset {offset}, shape {shape} and strides {strides:?} {detail} (buffer length {len})"
        ),
    }
    };
    if shape.size() == 0 {
        return if offset <= len {
            Ok(())
        } else {
            Err(oob("starts past the end".into()))
        };
    }
    let (mut lo, mut hi) = (offset as i128, offset as i128);
    for (&d, &s) in shape.dims().iter().zip(strides.iter()) {
        let span = (d as i128 - 1) * s as i128;
        if span < 0 {
            lo += span;
        } else {
            hi += span;
        }
    }
    if lo < 0 {
        return Err(oob("reaches before the start".into()));
    }
    if hi >= len as i128 {
        return Err(oob("reaches past the end".into()));
    }
    Ok(())
}

/// A read-only view of `f32`/`f64` data with element strides (negative and zero allowed).
pub struct ArrayView<'a, T> {
    pub(crate) ptr: *const T,
    pub(crate) shape: Shape,
    pub(crate) strides: [isize; 2],
    _life: PhantomData<&'a T>,
}

// SAFETY: a view is a shared borrow of `T: Sync` data; it behaves like `&'a [T]`.
unsafe impl<T: Sync> Send for ArrayView<'_, T> {}
// SAFETY: as above, shared access only.
unsafe impl<T: Sync> Sync for ArrayView<'_, T> {}

impl<T> Clone for ArrayView<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for ArrayView<'_, T> {}

impl<T> fmt::Debug for ArrayView<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArrayView")
            .field("shape", &self.shape)
            .field("strides", &self.strides)
            .finish()
    }
}

impl<'a, T: Element> ArrayView<'a, T> {
    /// A C-contiguous view; `data.len()` must equal `shape.size()`.
    pub fn from_slice(data: &'a [T], shape: Shape) -> Result<Self, KernelError> {
        if data.len() != shape.size() {
            return Err(KernelError::LengthMismatch {
                expected: shape.size(),
                got: data.len(),
            });
        }
        // SAFETY: the whole slice is readable for 'a and exactly covers the C-contiguous shape.
        Ok(unsafe { Self::from_raw_parts(data.as_ptr(), shape, c_strides(shape)) })
    }

    /// A strided view starting at `data[offset]`; every reachable element must lie inside `data`.
    pub fn from_slice_strided(
        data: &'a [T],
        offset: usize,
        shape: Shape,
        strides: [isize; 2],
    ) -> Result<Self, KernelError> {
        check_bounds(data.len(), offset, shape, strides)?;
        // SAFETY: bounds were just checked, so every reachable element is inside the borrowed slice
        // (for an empty view nothing is ever read; `offset <= len` keeps the pointer in bounds).
        Ok(unsafe { Self::from_raw_parts(data.as_ptr().add(offset), shape, strides) })
    }

    /// A view over raw memory.
    ///
    /// # Safety
    /// Every element reachable through `shape`/`strides` from `ptr` must be readable (and not
    /// mutated by others) for `'a`.
    pub unsafe fn from_raw_parts(ptr: *const T, shape: Shape, strides: [isize; 2]) -> Self {
        ArrayView {
            ptr,
            shape,
            strides: used_strides(shape, strides),
            _life: PhantomData,
        }
    }

    /// The view's shape.
    pub fn shape(&self) -> Shape {
        self.shape
    }
    /// Element strides per dimension (may be negative or zero; unused axes are 0).
    pub fn strides(&self) -> [isize; 2] {
        self.strides
    }
    /// Whether the elements are consecutive in row-major order (NumPy's rule: axes of length
    /// <= 1 may have any stride, empty views are contiguous).
    pub fn is_c_contiguous(&self) -> bool {
        is_c_contig(self.shape, self.strides)
    }
    /// The elements as a slice when the view is C-contiguous.
    pub fn as_slice(&self) -> Option<&'a [T]> {
        if !self.is_c_contiguous() {
            return None;
        }
        if self.shape.size() == 0 {
            return Some(&[]);
        }
        // SAFETY: C-contiguous views cover `size` consecutive readable elements for 'a.
        Some(unsafe { std::slice::from_raw_parts(self.ptr, self.shape.size()) })
    }
    /// The element at `index` (one entry per dimension), `None` when out of range.
    pub fn get(&self, index: &[usize]) -> Option<T> {
        let off = element_offset(self.shape, self.strides, index)?;
        // SAFETY: the index is in range, so the element is reachable and thus readable.
        Some(unsafe { *self.ptr.offset(off) })
    }
    /// A C-contiguous copy.
    pub fn to_array(&self) -> Array<T> {
        let (m, n) = self.shape.as_2d();
        let (s0, s1) = self.strides2d();
        let mut data = Vec::with_capacity(self.shape.size());
        for i in 0..m {
            for j in 0..n {
                // SAFETY: (i, j) is inside the shape, so the element is reachable.
                data.push(unsafe { *self.ptr.offset(i as isize * s0 + j as isize * s1) });
            }
        }
        Array {
            data,
            shape: self.shape,
        }
    }
    /// Strides of the view seen as 2-D (see `Shape::as_2d`).
    pub(crate) fn strides2d(&self) -> (isize, isize) {
        match self.shape.ndim() {
            0 => (0, 0),
            1 => (0, self.strides[0]),
            _ => (self.strides[0], self.strides[1]),
        }
    }
}

fn element_offset(shape: Shape, strides: [isize; 2], index: &[usize]) -> Option<isize> {
    if index.len() != shape.ndim() {
        return None;
    }
    let mut off = 0isize;
    for ((&i, &d), &s) in index.iter().zip(shape.dims()).zip(strides.iter()) {
        if i >= d {
            return None;
        }
        off += i as isize * s;
    }
    Some(off)
}

/// A writable strided view (the `out` operand of the `_into` functions).
pub struct ArrayViewMut<'a, T> {
    pub(crate) ptr: *mut T,
    pub(crate) shape: Shape,
    pub(crate) strides: [isize; 2],
    _life: PhantomData<&'a mut T>,
}

// SAFETY: a mutable view is an exclusive borrow, like `&'a mut [T]`.
unsafe impl<T: Send> Send for ArrayViewMut<'_, T> {}
// SAFETY: shared references to the view allow no mutation through it.
unsafe impl<T: Sync> Sync for ArrayViewMut<'_, T> {}

impl<T> fmt::Debug for ArrayViewMut<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArrayViewMut")
            .field("shape", &self.shape)
            .field("strides", &self.strides)
            .finish()
    }
}

impl<'a, T: Element> ArrayViewMut<'a, T> {
    /// A C-contiguous mutable view; `data.len()` must equal `shape.size()`.
    pub fn from_slice(data: &'a mut [T], shape: Shape) -> Result<Self, KernelError> {
        if data.len() != shape.size() {
            return Err(KernelError::LengthMismatch {
                expected: shape.size(),
                got: data.len(),
            });
        }
        // SAFETY: the slice is exclusively borrowed for 'a and exactly covers the shape.
        Ok(unsafe { Self::from_raw_parts(data.as_mut_ptr(), shape, c_strides(shape)) })
    }

    /// A strided mutable view starting at `data[offset]`. Strides that make two indices hit the
    /// same element (e.g. 0) are allowed; the last write wins.
    pub fn from_slice_strided(
        data: &'a mut [T],
        offset: usize,
        shape: Shape,
        strides: [isize; 2],
    ) -> Result<Self, KernelError> {
        check_bounds(data.len(), offset, shape, strides)?;
        // SAFETY: bounds checked above; the slice is exclusively borrowed for 'a.
        Ok(unsafe { Self::from_raw_parts(data.as_mut_ptr().add(offset), shape, strides) })
    }

    /// A mutable view over raw memory.
    ///
    /// # Safety
    /// Every element reachable through `shape`/`strides` from `ptr` must be writable and not
    /// accessed by anyone else for `'a` (except an input view of the same kernel call that is
    /// exactly the same memory, see the crate docs).
    pub unsafe fn from_raw_parts(ptr: *mut T, shape: Shape, strides: [isize; 2]) -> Self {
        ArrayViewMut {
            ptr,
            shape,
            strides: used_strides(shape, strides),
            _life: PhantomData,
        }
    }

    /// The view's shape.
    pub fn shape(&self) -> Shape {
        self.shape
    }
    /// Element strides per dimension (unused axes are 0).
    pub fn strides(&self) -> [isize; 2] {
        self.strides
    }
    /// A shorter-lived view of the same memory (to call several `_into` functions in a row).
    pub fn reborrow(&mut self) -> ArrayViewMut<'_, T> {
        ArrayViewMut {
            ptr: self.ptr,
            shape: self.shape,
            strides: self.strides,
            _life: PhantomData,
        }
    }
    pub(crate) fn is_c_contiguous(&self) -> bool {
        is_c_contig(self.shape, self.strides)
    }
    pub(crate) fn strides2d(&self) -> (isize, isize) {
        match self.shape.ndim() {
            0 => (0, 0),
            1 => (0, self.strides[0]),
            _ => (self.strides[0], self.strides[1]),
        }
    }
}

/// An owned, C-contiguous array (the result of the allocating functions).
#[derive(Clone, PartialEq, Debug)]
pub struct Array<T> {
    data: Vec<T>,
    shape: Shape,
}

impl<T: Element> Array<T> {
    /// Wraps `data` (row-major); its length must equal `shape.size()`.
    pub fn from_vec(data: Vec<T>, shape: Shape) -> Result<Self, KernelError> {
        if data.len() != shape.size() {
            return Err(KernelError::LengthMismatch {
                expected: shape.size(),
                got: data.len(),
            });
        }
        Ok(Array { data, shape })
    }
    /// The array's shape.
    pub fn shape(&self) -> Shape {
        self.shape
    }
    /// The elements in row-major order.
    pub fn as_slice(&self) -> &[T] {
        &self.data
    }
    /// The elements in row-major order, mutable.
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        &mut self.data
    }
    /// The buffer (row-major). Large ones can be handed back with [`recycle`](crate::recycle)
    /// when done.
    pub fn into_vec(self) -> Vec<T> {
        self.data
    }
    /// A C-contiguous view of the whole array (to feed it to the next kernel).
    ///
    /// ```
    /// use raptors_kernels::{binary, reduce, Array, BinaryOp, ReduceOp, Reduced, Shape};
    /// let a = Array::from_vec(vec![1.0f64, 2.0, 3.0], Shape::d1(3)).unwrap();
    /// let sq = binary(BinaryOp::Mul, a.view(), a.view()).unwrap();
    /// assert_eq!(reduce(ReduceOp::Sum, sq.view(), None).unwrap(), Reduced::Scalar(14.0));
    /// ```
    pub fn view(&self) -> ArrayView<'_, T> {
        // SAFETY: `data` holds exactly `shape.size()` elements in C order, borrowed for the view.
        unsafe { ArrayView::from_raw_parts(self.data.as_ptr(), self.shape, c_strides(self.shape)) }
    }
    /// A mutable C-contiguous view of the whole array.
    pub fn view_mut(&mut self) -> ArrayViewMut<'_, T> {
        // SAFETY: exclusive borrow of `data`, which covers the shape in C order.
        unsafe {
            ArrayViewMut::from_raw_parts(self.data.as_mut_ptr(), self.shape, c_strides(self.shape))
        }
    }
}
