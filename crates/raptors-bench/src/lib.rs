//! Criterion benches and the statistically sound Raptors-vs-NumPy comparison runner.
