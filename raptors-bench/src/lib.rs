//! Criterion benches and the statistically sound Raptors-vs-NumPy comparison runner.
//!
//! Library layout (the `raptors-bench` binary and `cargo xtask` call into it):
//! - [`ops`]: the one op table (`ops.json`), also read by the Python runner and drivers;
//! - [`stats`]: paired speedup, bootstrap CI, outliers, the significance rule (`decide`);
//! - [`power`]: power / false-positive simulation from recorded noise ([`stop_rule`]: the runner's
//!   stopping rule, replayed for the sequential simulation);
//! - [`compare`]: the comparison run (runner, statistics, results JSON + markdown + plot, A/A
//!   checks, baseline) as one call;
//! - [`bandwidth`]: the machine's read bandwidth (cache and DRAM), the bound cells are set against;
//! - [`model`] + [`report`]: results JSON and markdown table; [`summary`]: the typed view a report
//!   needs (per cell: speedup, intervals, the stored verdict, drift);
//! - [`machine`]: the CPU's name, qemu-user emulation, the typed environment record;
//!   [`provenance`]: the header stamped on generated evidence (text, Markdown, JSON, PNG);
//! - [`baseline`]: `--baseline FILE` regression detection;
//! - [`runner`]: drives `python/compare_runner.py` with progress and Ctrl-C handling;
//! - [`counters`] + [`collect`]: perf probe/classification, `perf stat` and the cachegrind fallback;
//! - [`callgrind`]: which functions and instructions run each op (valgrind callgrind), and
//!   [`valgrind`]: the SIMD level valgrind can run on this host, shared by both valgrind tools.
//! - [`clock`] + [`cycles`]: the measured core clock and measured cycles per element (single
//!   thread, L1/L2 sizes) beside llvm-mca's host-model prediction;
//! - [`sampling`]: `perf record -e cpu-clock` of a real run: samples per object, symbol, file
//!   offset and thread (the real-run kernel, AVX-512 included, which valgrind cannot run).
//! - [`evidence`]: the profile evidence folder's schema (the functions chosen per op, loops,
//!   step records, `report.json`), the analysis that fills it from callgrind, perf samples and
//!   raptors-asm's symbol tables, and its rendering (README.md, hot_loops.md, findings.md).

pub mod bandwidth;
pub mod baseline;
pub mod callgrind;
pub mod clock;
pub mod collect;
pub mod compare;
pub mod counters;
pub mod criterion_report;
pub mod cycles;
pub mod evidence;
pub mod machine;
pub mod model;
pub mod ops;
pub mod power;
pub mod provenance;
pub mod qemu_exec;
pub mod report;
pub mod rng;
pub mod runner;
pub mod sampling;
pub mod stats;
pub mod stop_rule;
pub mod summary;
pub mod valgrind;
