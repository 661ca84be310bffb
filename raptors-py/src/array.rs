//! `raptors.Array`: a C-contiguous float32/float64 array of at most 2 dimensions.

use std::ffi::{c_int, c_void};

use numpy::npyffi::{self, npy_intp, NPY_ARRAY_WRITEABLE, PY_ARRAY_API};
use numpy::{PyArrayDescr, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::{PyBufferError, PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyFloat, PyList, PyTuple};
use raptors_kernels::{Array, BinaryOp, DType, ReduceOp, Shape};

use crate::convert::{self, Operand};
use crate::ops;
use crate::storage::{cast_to, Buffer, DynView, Float, Storage};

/// A float32/float64 array with at most 2 dimensions (C-contiguous). Converts to and from NumPy
/// without copying; arithmetic and reductions run on raptors' SIMD kernels.
#[pyclass(name = "Array", module = "raptors", frozen, weakref)]
pub struct RArray {
    storage: Storage,
    shape: Shape,
    writeable: bool,
    // Py_buffer needs stable shape/stride arrays that live as long as the exporter.
    buf_shape: [ffi::Py_ssize_t; 2],
    buf_strides: [ffi::Py_ssize_t; 2],
}

impl RArray {
    fn with_storage(storage: Storage, shape: Shape, writeable: bool) -> Self {
        let item = storage.dtype().itemsize() as ffi::Py_ssize_t;
        let mut buf_shape = [0; 2];
        let mut buf_strides = [0; 2];
        let dims = shape.dims();
        let mut stride = item;
        for i in (0..dims.len()).rev() {
            buf_shape[i] = dims[i] as ffi::Py_ssize_t;
            buf_strides[i] = stride;
            stride *= dims[i].max(1) as ffi::Py_ssize_t;
        }
        RArray {
            storage,
            shape,
            writeable,
            buf_shape,
            buf_strides,
        }
    }

    pub(crate) fn from_array<T: Float>(a: Array<T>) -> Self {
        let shape = a.shape();
        Self::with_storage(T::storage(Buffer::from_vec(a.into_vec())), shape, true)
    }

    pub(crate) fn from_vec<T: Float>(v: Vec<T>, shape: Shape) -> Self {
        debug_assert_eq!(v.len(), shape.size());
        Self::with_storage(T::storage(Buffer::from_vec(v)), shape, true)
    }

    /// Copies (and if needed casts) any view into a new owned array of dtype `to`.
    pub(crate) fn from_view(v: &DynView<'_>, to: DType) -> Self {
        match to {
            DType::F32 => Self::from_array(cast_to::<f32>(v)),
            DType::F64 => Self::from_array(cast_to::<f64>(v)),
        }
    }

    /// Adopts a C-contiguous, aligned, native-endian float32/float64 NumPy array without copying;
    /// the new Array keeps `arr` alive.
    pub(crate) fn borrow_ndarray(arr: &Bound<'_, PyUntypedArray>, dt: DType) -> PyResult<Self> {
        let shape = Shape::new(arr.shape()).map_err(|e| crate::errors::kernel_err(arr.py(), e))?;
        debug_assert!(arr.is_c_contiguous());
        // SAFETY: `arr` is a live ndarray; its field struct is valid while we hold the reference.
        let fields = unsafe { &*npyffi::_PyArray_GET_ITEM_DATA(arr.as_array_ptr()) };
        let writeable = fields.flags & NPY_ARRAY_WRITEABLE != 0;
        let owner = arr.clone().into_any().unbind();
        let len = shape.size();
        // SAFETY: the caller checked dtype, alignment and C-contiguity, so `data` holds `len`
        // elements of `dt`; `owner` keeps the ndarray (and thus its memory) alive.
        let storage = unsafe {
            match dt {
                DType::F32 => Storage::F32(Buffer::borrowed(fields.data.cast(), len, owner)),
                DType::F64 => Storage::F64(Buffer::borrowed(fields.data.cast(), len, owner)),
            }
        };
        Ok(Self::with_storage(storage, shape, writeable))
    }

    pub(crate) fn dtype_(&self) -> DType {
        self.storage.dtype()
    }

    pub(crate) fn shape_(&self) -> Shape {
        self.shape
    }

    pub(crate) fn is_writeable(&self) -> bool {
        self.writeable
    }

    pub(crate) fn data_ptr(&self) -> *mut u8 {
        self.storage.data_ptr()
    }

    pub(crate) fn nbytes_(&self) -> usize {
        self.shape.size() * self.dtype_().itemsize()
    }

    pub(crate) fn view(&self) -> DynView<'_> {
        match &self.storage {
            Storage::F32(b) => DynView::F32(b.view(self.shape)),
            Storage::F64(b) => DynView::F64(b.view(self.shape)),
        }
    }

    /// A NumPy ndarray over this Array's memory (no copy); its `base` is the Array.
    pub(crate) fn numpy_view<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let this = slf.get();
        let descr = convert::np_descr(py, this.dtype_());
        let mut dims: [npy_intp; 2] = [this.buf_shape[0], this.buf_shape[1]];
        let flags = if this.writeable {
            NPY_ARRAY_WRITEABLE
        } else {
            0
        };
        // SAFETY: `data` points to `size` elements of `descr`'s type laid out C-contiguously (strides
        // NULL => NumPy computes C strides); NewFromDescr steals the descr reference. The Array is
        // set as the base object right after, so the memory outlives the view.
        unsafe {
            let arr = PY_ARRAY_API.PyArray_NewFromDescr(
                py,
                npyffi::get_type_object(py, npyffi::NpyTypes::PyArray_Type),
                descr.into_ptr().cast(),
                this.shape.ndim() as c_int,
                dims.as_mut_ptr(),
                std::ptr::null_mut(),
                this.data_ptr().cast::<c_void>(),
                flags,
                std::ptr::null_mut(),
            );
            let arr = Bound::from_owned_ptr_or_err(py, arr)?;
            // SetBaseObject steals a reference to the base.
            let base = slf.clone().into_ptr();
            if PY_ARRAY_API.PyArray_SetBaseObject(py, arr.as_ptr().cast(), base) < 0 {
                return Err(PyErr::fetch(py));
            }
            Ok(arr)
        }
    }

    fn value_at(&self, i: usize) -> f64 {
        match &self.storage {
            // SAFETY: callers pass i < size; memory is initialised and alive.
            Storage::F32(b) => unsafe { *b.ptr().add(i) as f64 },
            // SAFETY: as above.
            Storage::F64(b) => unsafe { *b.ptr().add(i) },
        }
    }

    fn reduce(
        slf: &Bound<'_, Self>,
        op: ReduceOp,
        axis: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let axis = convert::parse_axis(axis)?;
        ops::reduce(slf.py(), op, &slf.get().view(), axis)
    }

    fn binop(
        slf: &Bound<'_, Self>,
        op: BinaryOp,
        other: &Bound<'_, PyAny>,
        reflected: bool,
    ) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        // Fast path: Array op Array of the same dtype.
        if let Ok(o) = other.cast::<RArray>() {
            let (a, b) = (slf.get(), o.get());
            if a.dtype_() == b.dtype_() {
                let (x, y) = if reflected { (b, a) } else { (a, b) };
                return Ok(ops::binary_arrays(py, op, &x.view(), &y.view())?
                    .into_any()
                    .unbind());
            }
        }
        let Some(o) = convert::operand(py, other, true)? else {
            return Ok(py.NotImplemented());
        };
        let me = Operand::from_rarray(slf);
        let (x, y) = if reflected { (&o, &me) } else { (&me, &o) };
        Ok(ops::binary(py, op, x, y)?.into_any().unbind())
    }

    fn inplace(
        slf: &Bound<'_, Self>,
        op: BinaryOp,
        other: &Bound<'_, PyAny>,
        symbol: &str,
    ) -> PyResult<()> {
        let py = slf.py();
        let Some(o) = convert::operand(py, other, true)? else {
            return Err(PyTypeError::new_err(format!(
                "unsupported operand type(s) for {symbol}=: 'raptors.Array' and '{}'",
                other.get_type().name()?
            )));
        };
        let me = Operand::from_rarray(slf);
        let out = ops::OutArg::from_rarray(slf)?;
        ops::binary_into(py, op, &me, &o, &out)
    }
}

#[pymethods]
impl RArray {
    /// NumPy defers binary operators to types with a higher priority, so `ndarray + Array` calls
    /// `Array.__radd__` and yields an Array.
    #[classattr]
    #[allow(non_upper_case_globals)]
    const __array_priority__: f64 = 1000.0;

    #[getter]
    fn shape<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.shape.dims())
    }

    #[getter]
    fn ndim(&self) -> usize {
        self.shape.ndim()
    }

    #[getter]
    fn size(&self) -> usize {
        self.shape.size()
    }

    #[getter]
    fn dtype<'py>(&self, py: Python<'py>) -> Bound<'py, PyArrayDescr> {
        convert::np_descr(py, self.dtype_())
    }

    #[getter]
    fn itemsize(&self) -> usize {
        self.dtype_().itemsize()
    }

    #[getter]
    fn nbytes(&self) -> usize {
        self.nbytes_()
    }

    /// True when the Array shares memory with another object (adopted from NumPy zero-copy).
    #[getter]
    fn is_view(&self) -> bool {
        self.storage.is_borrowed()
    }

    #[getter]
    fn writeable(&self) -> bool {
        self.writeable
    }

    fn __len__(&self) -> PyResult<usize> {
        match self.shape.dims().first() {
            Some(&n) => Ok(n),
            None => Err(PyTypeError::new_err("len() of unsized object")),
        }
    }

    fn __bool__(&self) -> PyResult<bool> {
        match self.shape.size() {
            1 => Ok(self.value_at(0) != 0.0),
            0 => Err(PyValueError::new_err(
                "The truth value of an empty array is ambiguous. Use `array.size > 0` to check that an array is not empty.",
            )),
            _ => Err(PyValueError::new_err(
                "The truth value of an array with more than one element is ambiguous. Use a.any() or a.all()",
            )),
        }
    }

    fn __float__(&self) -> PyResult<f64> {
        if self.shape.size() == 1 {
            Ok(self.value_at(0))
        } else {
            Err(PyTypeError::new_err(
                "only length-1 arrays can be converted to Python scalars",
            ))
        }
    }

    /// `Array([...], dtype=float32)`: NumPy's formatting with the class name swapped.
    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        let r = Self::numpy_view(slf)?.repr()?.to_string();
        Ok(match r.strip_prefix("array") {
            Some(rest) => format!("Array{rest}"),
            None => r,
        })
    }

    fn __str__(slf: &Bound<'_, Self>) -> PyResult<String> {
        Ok(Self::numpy_view(slf)?.str()?.to_string())
    }

    /// NumPy's `__array__` protocol: a zero-copy ndarray view unless `dtype`/`copy` ask otherwise.
    #[pyo3(signature = (dtype=None, copy=None))]
    fn __array__<'py>(
        slf: &Bound<'py, Self>,
        dtype: Option<&Bound<'py, PyAny>>,
        copy: Option<bool>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let view = Self::numpy_view(slf)?;
        if dtype.is_none() && copy != Some(true) {
            return Ok(view);
        }
        let np = convert::numpy(slf.py())?;
        let kwargs = pyo3::types::PyDict::new(slf.py());
        kwargs.set_item("dtype", dtype)?;
        kwargs.set_item("copy", copy)?;
        np.call_method("array", (view,), Some(&kwargs))
    }

    /// The data as a NumPy array. `copy=False` (default) returns a view sharing memory with the Array.
    #[pyo3(signature = (copy=false))]
    fn to_numpy<'py>(slf: &Bound<'py, Self>, copy: bool) -> PyResult<Bound<'py, PyAny>> {
        let view = Self::numpy_view(slf)?;
        if copy {
            view.call_method0("copy")
        } else {
            Ok(view)
        }
    }

    /// Indexing is delegated to NumPy on a zero-copy view. Results: a Python float for a single
    /// element; otherwise an Array that shares memory when the selection is C-contiguous (rows,
    /// row ranges) and is a copy otherwise (columns, steps) - unlike NumPy, whose basic slices are
    /// always views.
    fn __getitem__<'py>(
        slf: &Bound<'py, Self>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let item = Self::numpy_view(slf)?.get_item(key)?;
        if item.cast::<PyUntypedArray>().is_ok() {
            Ok(convert::to_rarray(slf.py(), &item, None, false)?.into_any())
        } else {
            Ok(PyFloat::new(slf.py(), item.extract::<f64>()?).into_any())
        }
    }

    /// `a[key] = value` writes through a NumPy view (NumPy's assignment and broadcasting rules).
    fn __setitem__(
        slf: &Bound<'_, Self>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        if !slf.get().writeable {
            return Err(crate::errors::read_only());
        }
        Self::numpy_view(slf)?.set_item(key, value)
    }

    fn __iter__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let n = slf.get().__len__()?;
        let items = (0..n)
            .map(|i| Self::__getitem__(slf, &i.into_pyobject(slf.py())?.into_any()))
            .collect::<PyResult<Vec<_>>>()?;
        Ok(PyList::new(slf.py(), items)?
            .into_any()
            .try_iter()?
            .into_any())
    }

    /// The transpose (a copy: Arrays are always C-contiguous).
    #[getter]
    #[allow(non_snake_case)]
    fn T<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, Self>> {
        if slf.get().shape.ndim() < 2 {
            return Ok(slf.clone());
        }
        let t = Self::numpy_view(slf)?.getattr("T")?;
        convert::to_rarray(slf.py(), &t, None, false)
    }

    /// Pickle support: rebuilt by `raptors.array` from a NumPy copy of the data.
    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyAny>,))> {
        let ctor = slf.py().import("raptors")?.getattr("array")?;
        Ok((ctor, (Self::to_numpy(slf, true)?,)))
    }

    /// A new Array owning a copy of the data.
    pub(crate) fn copy(&self) -> RArray {
        match &self.storage {
            Storage::F32(b) => RArray::from_vec(b.to_vec(), self.shape),
            Storage::F64(b) => RArray::from_vec(b.to_vec(), self.shape),
        }
    }

    /// A copy converted to `dtype` (float32 or float64).
    fn astype(&self, py: Python<'_>, dtype: &Bound<'_, PyAny>) -> PyResult<RArray> {
        let to = convert::parse_dtype(py, Some(dtype))?.unwrap_or(self.dtype_());
        Ok(RArray::from_view(&self.view(), to))
    }

    /// Nested Python lists of floats (a float for 0-d arrays), like `ndarray.tolist()`.
    fn tolist<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match *self.shape.dims() {
            [] => Ok(PyFloat::new(py, self.value_at(0)).into_any()),
            [n] => Ok(PyList::new(py, (0..n).map(|i| self.value_at(i)))?.into_any()),
            [m, n] => {
                let rows = (0..m)
                    .map(|i| PyList::new(py, (0..n).map(|j| self.value_at(i * n + j))))
                    .collect::<PyResult<Vec<_>>>()?;
                Ok(PyList::new(py, rows)?.into_any())
            }
            _ => unreachable!("Shape has at most 2 dimensions"),
        }
    }

    #[pyo3(signature = (axis=None))]
    fn sum(slf: &Bound<'_, Self>, axis: Option<&Bound<'_, PyAny>>) -> PyResult<Py<PyAny>> {
        Self::reduce(slf, ReduceOp::Sum, axis)
    }

    #[pyo3(signature = (axis=None))]
    fn mean(slf: &Bound<'_, Self>, axis: Option<&Bound<'_, PyAny>>) -> PyResult<Py<PyAny>> {
        Self::reduce(slf, ReduceOp::Mean, axis)
    }

    #[pyo3(signature = (axis=None))]
    fn min(slf: &Bound<'_, Self>, axis: Option<&Bound<'_, PyAny>>) -> PyResult<Py<PyAny>> {
        Self::reduce(slf, ReduceOp::Min, axis)
    }

    #[pyo3(signature = (axis=None))]
    fn max(slf: &Bound<'_, Self>, axis: Option<&Bound<'_, PyAny>>) -> PyResult<Py<PyAny>> {
        Self::reduce(slf, ReduceOp::Max, axis)
    }

    fn __add__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        Self::binop(slf, BinaryOp::Add, other, false)
    }
    fn __radd__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        Self::binop(slf, BinaryOp::Add, other, true)
    }
    fn __sub__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        Self::binop(slf, BinaryOp::Sub, other, false)
    }
    fn __rsub__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        Self::binop(slf, BinaryOp::Sub, other, true)
    }
    fn __mul__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        Self::binop(slf, BinaryOp::Mul, other, false)
    }
    fn __rmul__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        Self::binop(slf, BinaryOp::Mul, other, true)
    }
    fn __truediv__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        Self::binop(slf, BinaryOp::Div, other, false)
    }
    fn __rtruediv__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        Self::binop(slf, BinaryOp::Div, other, true)
    }

    fn __iadd__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<()> {
        Self::inplace(slf, BinaryOp::Add, other, "+")
    }
    fn __isub__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<()> {
        Self::inplace(slf, BinaryOp::Sub, other, "-")
    }
    fn __imul__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<()> {
        Self::inplace(slf, BinaryOp::Mul, other, "*")
    }
    fn __itruediv__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<()> {
        Self::inplace(slf, BinaryOp::Div, other, "/")
    }

    /// `-a` is `a * -1` (an exact sign flip in IEEE arithmetic).
    fn __neg__(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        let minus_one = Operand::PyInt(-1.0);
        Ok(ops::binary(
            slf.py(),
            BinaryOp::Mul,
            &Operand::from_rarray(slf),
            &minus_one,
        )?
        .into_any()
        .unbind())
    }

    fn __pos__(&self) -> RArray {
        self.copy()
    }

    /// Buffer protocol: `memoryview(a)` and `numpy.asarray(a)` share the Array's memory.
    unsafe fn __getbuffer__(
        slf: Bound<'_, Self>,
        view: *mut ffi::Py_buffer,
        flags: c_int,
    ) -> PyResult<()> {
        if view.is_null() {
            return Err(PyBufferError::new_err("Py_buffer pointer is NULL"));
        }
        let this = slf.get();
        if flags & ffi::PyBUF_WRITABLE == ffi::PyBUF_WRITABLE && !this.writeable {
            return Err(PyBufferError::new_err("Array is read-only"));
        }
        let format: &'static std::ffi::CStr = match this.dtype_() {
            DType::F32 => c"f",
            DType::F64 => c"d",
        };
        let ndim = this.shape.ndim();
        // SAFETY: `view` is non-null and provided by the interpreter for us to fill. The shape and
        // stride arrays live inside this (frozen, never moved) object, which `obj` keeps alive until
        // the consumer releases the buffer; the format string is a static.
        unsafe {
            (*view).buf = this.data_ptr().cast();
            (*view).len = this.nbytes_() as ffi::Py_ssize_t;
            (*view).readonly = c_int::from(!this.writeable);
            (*view).itemsize = this.dtype_().itemsize() as ffi::Py_ssize_t;
            (*view).format = if flags & ffi::PyBUF_FORMAT == ffi::PyBUF_FORMAT {
                format.as_ptr().cast_mut()
            } else {
                std::ptr::null_mut()
            };
            (*view).ndim = ndim as c_int;
            (*view).shape = if flags & ffi::PyBUF_ND == ffi::PyBUF_ND {
                this.buf_shape.as_ptr().cast_mut()
            } else {
                std::ptr::null_mut()
            };
            (*view).strides = if flags & ffi::PyBUF_STRIDES == ffi::PyBUF_STRIDES {
                this.buf_strides.as_ptr().cast_mut()
            } else {
                std::ptr::null_mut()
            };
            (*view).suboffsets = std::ptr::null_mut();
            (*view).internal = std::ptr::null_mut();
            (*view).obj = slf.into_any().into_ptr();
        }
        Ok(())
    }
}
