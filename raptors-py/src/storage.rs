//! Memory behind a `raptors.Array`: either a `Vec` we own or memory owned by another Python object
//! (a C-contiguous NumPy array adopted zero-copy). Everything is C-contiguous.

use std::ptr::NonNull;

use pyo3::prelude::*;
use raptors_kernels::{c_strides, Array, ArrayView, DType, Element, Shape};

/// Who frees the memory.
enum Owner {
    /// `Vec::from_raw_parts(ptr, len, cap)` on drop.
    Vec { cap: usize },
    /// Another Python object (e.g. a NumPy array) that keeps `ptr` valid while referenced.
    Python(#[allow(dead_code)] Py<PyAny>),
}

/// A C-contiguous run of `len` elements.
///
/// Access goes through the raw pointer only (never a long-lived `&[T]`), because in-place operators
/// and the buffer protocol write through it while other references to the `Array` exist, exactly like
/// NumPy's memory model.
pub(crate) struct Buffer<T: Element> {
    ptr: NonNull<T>,
    len: usize,
    owner: Owner,
}

// SAFETY: the buffer is either a heap allocation we own exclusively or memory kept alive by a Python
// reference (`Py<PyAny>` is Send + Sync). Concurrent writes from several threads (in-place operators
// on the same array with the GIL released) are a data race the user must avoid, with the same contract
// as NumPy arrays; the binding itself never mutates a buffer except through an explicit `out=`/in-place.
unsafe impl<T: Element> Send for Buffer<T> {}
// SAFETY: see `Send` above; shared access only reads through the pointer.
unsafe impl<T: Element> Sync for Buffer<T> {}

impl<T: Element> Drop for Buffer<T> {
    fn drop(&mut self) {
        if let Owner::Vec { cap } = self.owner {
            // SAFETY: ptr/len/cap came from a `Vec<T>` we took apart in `from_vec` and never freed.
            let v = unsafe { Vec::from_raw_parts(self.ptr.as_ptr(), self.len, cap) };
            // Large buffers go back to the kernels' result cache (no mmap + page faults next time).
            raptors_kernels::recycle(v);
        }
    }
}

impl<T: Element> Buffer<T> {
    pub(crate) fn from_vec(v: Vec<T>) -> Self {
        let mut v = std::mem::ManuallyDrop::new(v);
        let (len, cap) = (v.len(), v.capacity());
        // `Vec::as_mut_ptr` is never null (dangling but aligned when cap == 0).
        let ptr = NonNull::new(v.as_mut_ptr()).unwrap_or(NonNull::dangling());
        Buffer {
            ptr,
            len,
            owner: Owner::Vec { cap },
        }
    }

    /// # Safety
    /// `ptr` must point to `len` initialised, aligned `T`s that stay valid while `owner` is alive.
    pub(crate) unsafe fn borrowed(ptr: *mut T, len: usize, owner: Py<PyAny>) -> Self {
        let ptr = NonNull::new(ptr).unwrap_or(NonNull::dangling());
        Buffer {
            ptr,
            len,
            owner: Owner::Python(owner),
        }
    }

    pub(crate) fn ptr(&self) -> *mut T {
        self.ptr.as_ptr()
    }

    pub(crate) fn is_borrowed(&self) -> bool {
        matches!(self.owner, Owner::Python(_))
    }

    pub(crate) fn view(&self, shape: Shape) -> ArrayView<'_, T> {
        // SAFETY: `len == shape.size()` (checked at construction of every `RArray`), the memory is
        // C-contiguous and lives as long as `self`.
        unsafe { ArrayView::from_raw_parts(self.ptr(), shape, c_strides(shape)) }
    }

    pub(crate) fn to_vec(&self) -> Vec<T> {
        // SAFETY: ptr/len describe initialised memory alive for the duration of this borrow.
        unsafe { std::slice::from_raw_parts(self.ptr(), self.len) }.to_vec()
    }
}

/// Type-erased storage of an `Array`.
pub(crate) enum Storage {
    F32(Buffer<f32>),
    F64(Buffer<f64>),
}

impl Storage {
    pub(crate) fn dtype(&self) -> DType {
        match self {
            Storage::F32(_) => DType::F32,
            Storage::F64(_) => DType::F64,
        }
    }

    pub(crate) fn data_ptr(&self) -> *mut u8 {
        match self {
            Storage::F32(b) => b.ptr().cast(),
            Storage::F64(b) => b.ptr().cast(),
        }
    }

    pub(crate) fn is_borrowed(&self) -> bool {
        match self {
            Storage::F32(b) => b.is_borrowed(),
            Storage::F64(b) => b.is_borrowed(),
        }
    }
}

/// Typed view of either dtype, used to dispatch to the generic kernels.
pub(crate) enum DynView<'a> {
    F32(ArrayView<'a, f32>),
    F64(ArrayView<'a, f64>),
}

impl DynView<'_> {
    pub(crate) fn dtype(&self) -> DType {
        match self {
            DynView::F32(_) => DType::F32,
            DynView::F64(_) => DType::F64,
        }
    }

    pub(crate) fn shape(&self) -> Shape {
        match self {
            DynView::F32(v) => v.shape(),
            DynView::F64(v) => v.shape(),
        }
    }
}

/// The binding's view of the two element types: Python float conversion and dtype dispatch.
pub(crate) trait Float: Element + Into<f64> {
    /// A Python float (or a NumPy scalar's value) as this type.
    fn from_py_float(x: f64) -> Self;
    fn storage(b: Buffer<Self>) -> Storage;
    fn view<'a, 'b>(v: &'b DynView<'a>) -> Option<&'b ArrayView<'a, Self>>;
}

impl Float for f32 {
    fn from_py_float(x: f64) -> Self {
        // NumPy casts Python floats to float32 with round-to-nearest, as `as` does.
        x as f32
    }
    fn storage(b: Buffer<Self>) -> Storage {
        Storage::F32(b)
    }
    fn view<'a, 'b>(v: &'b DynView<'a>) -> Option<&'b ArrayView<'a, Self>> {
        match v {
            DynView::F32(v) => Some(v),
            DynView::F64(_) => None,
        }
    }
}

impl Float for f64 {
    fn from_py_float(x: f64) -> Self {
        x
    }
    fn storage(b: Buffer<Self>) -> Storage {
        Storage::F64(b)
    }
    fn view<'a, 'b>(v: &'b DynView<'a>) -> Option<&'b ArrayView<'a, Self>> {
        match v {
            DynView::F64(v) => Some(v),
            DynView::F32(_) => None,
        }
    }
}

/// Any view as a C-contiguous `Array<U>`: the kernels' cast (a copy when the dtype already is `U`).
pub(crate) fn cast_to<U: Float>(v: &DynView<'_>) -> Array<U> {
    match v {
        DynView::F32(v) => raptors_kernels::cast(*v),
        DynView::F64(v) => raptors_kernels::cast(*v),
    }
}

/// Moves a value into a closure that runs with the GIL released.
pub(crate) struct AssertSend<T>(T);

// SAFETY: used only to carry kernel views (raw pointers into memory kept alive by Python references
// held on the caller's stack) and closures over them into `Python::detach`; no Python object is
// touched while detached.
unsafe impl<T> Send for AssertSend<T> {}

impl<T> AssertSend<T> {
    fn into_inner(self) -> T {
        self.0
    }
}

/// Element count above which kernels run with the GIL released (below it the release/re-acquire
/// costs more than the work).
pub(crate) const DETACH_THRESHOLD: usize = 1 << 16;

/// Runs `f`, releasing the GIL when the operation touches more than `DETACH_THRESHOLD` elements.
pub(crate) fn run_kernel<R: Send>(py: Python<'_>, elements: usize, f: impl FnOnce() -> R) -> R {
    if elements > DETACH_THRESHOLD {
        let job = AssertSend(f);
        // `into_inner` takes `job` by value so the closure captures the whole (Send) wrapper rather
        // than its non-Send field (edition-2021 disjoint captures).
        py.detach(move || job.into_inner()())
    } else {
        f()
    }
}
