//! Thin pyo3 binding: module `raptors._raptors`.
