//! Criterion benches and the statistically sound Raptors-vs-NumPy comparison runner.
//!
//! Library layout (the `raptors-bench` binary and `cargo xtask` call into it):
//! - [`stats`]: paired speedup, bootstrap CI, outliers, the significance rule;
//! - [`power`]: power / false-positive simulation from recorded noise ([`stop_rule`]: the runner's
//!   stopping rule, replayed for the sequential simulation);
//! - [`model`] + [`report`]: results JSON and markdown table;
//! - [`baseline`]: `--baseline FILE` regression detection;
//! - [`runner`]: drives `python/compare_runner.py` with progress and Ctrl-C handling;
//! - [`counters`]: perf probe/classification, `perf stat` and the valgrind fallback;
//! - [`sampling`]: `perf record -e cpu-clock` of a real run: samples per object, symbol, file
//!   offset and thread (the real-run kernel, AVX-512 included, which valgrind cannot run).

pub mod baseline;
pub mod collect;
pub mod counters;
pub mod criterion_report;
pub mod model;
pub mod power;
pub mod report;
pub mod rng;
pub mod runner;
pub mod sampling;
pub mod stats;
pub mod stop_rule;
