//! `KernelError` -> Python exceptions with NumPy's wording and exception classes.

use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;
use raptors_kernels::{KernelError, Shape, SimdLevel};

/// NumPy prints shapes in error messages without spaces: `(2,3)`, `(4,)`, `()`.
pub(crate) fn np_shape(s: Shape) -> String {
    match s.dims() {
        [] => "()".to_owned(),
        [n] => format!("({n},)"),
        dims => {
            let parts: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
            format!("({})", parts.join(","))
        }
    }
}

/// `numpy.exceptions.AxisError`: subclasses both `ValueError` and `IndexError`.
pub(crate) fn axis_error_type(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    static AXIS_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    AXIS_ERROR.import(py, "numpy.exceptions", "AxisError")
}

fn axis_error(py: Python<'_>, axis: isize, ndim: usize) -> PyErr {
    match axis_error_type(py).and_then(|t| t.call1((axis, ndim))) {
        Ok(exc) => PyErr::from_value(exc),
        Err(e) => e,
    }
}

/// Message for a bad or unavailable `RAPTORS_SIMD`, naming the valid choices.
pub(crate) fn simd_message(e: &KernelError) -> String {
    let available: Vec<&str> = raptors_kernels::available_levels()
        .iter()
        .map(|l| l.name())
        .collect();
    let available = available.join(", ");
    match e {
        // The kernel's message already lists every accepted value.
        KernelError::InvalidSimdEnv { .. } => {
            format!("raptors: {e}; available on this CPU: {available}")
        }
        _ => {
            let valid: Vec<&str> = SimdLevel::ALL.iter().map(|l| l.name()).collect();
            format!(
                "raptors: {e} (valid RAPTORS_SIMD values: auto, {}; available on this CPU: {available})",
                valid.join(", ")
            )
        }
    }
}

pub(crate) fn kernel_err(py: Python<'_>, e: KernelError) -> PyErr {
    match e {
        KernelError::BroadcastMismatch { a, b } => PyValueError::new_err(format!(
            "operands could not be broadcast together with shapes {} {}",
            np_shape(a),
            np_shape(b)
        )),
        KernelError::OutShapeMismatch { expected, got } => PyValueError::new_err(format!(
            "non-broadcastable output operand with shape {} doesn't match the broadcast shape {}",
            np_shape(got),
            np_shape(expected)
        )),
        KernelError::AxisOutOfBounds { axis, ndim } => axis_error(py, axis, ndim),
        KernelError::SimdUnavailable { .. } | KernelError::InvalidSimdEnv { .. } => {
            PyRuntimeError::new_err(simd_message(&e))
        }
        other => PyValueError::new_err(other.to_string()),
    }
}

pub(crate) const SUPPORTED: &str = "raptors supports float32 and float64";

/// `TypeError` for an array/scalar whose dtype the kernels do not handle.
pub(crate) fn unsupported_dtype(name: &str) -> PyErr {
    PyTypeError::new_err(format!(
        "unsupported dtype {name}: {SUPPORTED} (convert with raptors.asarray(x, dtype='float64') \
         or dtype='float32')"
    ))
}

pub(crate) fn too_many_dims(ndim: usize) -> PyErr {
    PyValueError::new_err(format!(
        "raptors supports arrays with at most 2 dimensions, got {ndim}"
    ))
}

pub(crate) fn read_only() -> PyErr {
    PyValueError::new_err("output array is read-only")
}
