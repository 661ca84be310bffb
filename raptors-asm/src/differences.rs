//! What measurably differs between two loops (the two sides of a `compare`), largest first, as
//! typed values a report can word for its own side names. Nothing is reported for loops that look
//! alike by these measures.
//!
//! Thresholds: counts (vector width, calls, accumulators) differ when they differ by more than
//! 0.5; per-element figures (loads, stores, instructions per element) when they differ by more
//! than 10 % of the larger one.

use serde::{Deserialize, Serialize};

use crate::loops::Loop;

/// Relative difference above which two per-element figures count as different.
pub const PER_ELEMENT_TOLERANCE: f64 = 0.10;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Widest vector register of the loop's data operations, bits.
    VectorBits,
    /// Calls inside the loop body (a helper that was not inlined).
    Calls,
    /// Independent loop-carried accumulators.
    Accumulators,
    LoadsPerElement,
    StoresPerElement,
    InstructionsPerElement,
}

impl Metric {
    /// What the metric is, for a sentence.
    pub fn label(self) -> &'static str {
        match self {
            Metric::VectorBits => "vector width (bits)",
            Metric::Calls => "calls inside the hot loop",
            Metric::Accumulators => "independent accumulators",
            Metric::LoadsPerElement => "loads per element",
            Metric::StoresPerElement => "stores per element",
            Metric::InstructionsPerElement => "instructions per element",
        }
    }
}

/// One measurable difference between side A and side B.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Difference {
    pub metric: Metric,
    pub a: f64,
    pub b: f64,
}

impl Difference {
    /// "loads per element: Raptors 0.25 vs NumPy 0.5" with the two sides named (B first, as
    /// the side under study).
    pub fn describe(&self, name_a: &str, name_b: &str) -> String {
        let mut s = format!(
            "{}: {name_b} {} vs {name_a} {}",
            self.metric.label(),
            fmt_num(self.b),
            fmt_num(self.a)
        );
        if self.metric == Metric::Calls {
            s.push_str(" (a call per iteration means a helper was not inlined into the loop)");
        }
        s
    }
}

/// Short number text: integers without decimals, else 2 (1 from 10 on).
pub fn fmt_num(x: f64) -> String {
    if x == x.round() && x.abs() < 1e6 {
        format!("{x:.0}")
    } else if x.abs() >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

fn per_element(l: &Loop, per_iter: u64) -> Option<f64> {
    l.elements_per_iteration
        .filter(|e| *e > 0.0)
        .map(|e| per_iter as f64 / e)
}

fn differs(a: f64, b: f64) -> bool {
    let hi = a.abs().max(b.abs());
    hi > 0.0 && (a - b).abs() / hi > PER_ELEMENT_TOLERANCE
}

/// The differences between loop `a` and loop `b`, in the order above (structure, then traffic).
pub fn loop_differences(a: &Loop, b: &Loop) -> Vec<Difference> {
    let mut out = Vec::new();
    let mut count = |metric, x: f64, y: f64| {
        if (x - y).abs() > 0.5 {
            out.push(Difference { metric, a: x, b: y });
        }
    };
    count(
        Metric::VectorBits,
        a.vector_bits.into(),
        b.vector_bits.into(),
    );
    count(Metric::Calls, a.calls as f64, b.calls as f64);
    count(
        Metric::Accumulators,
        a.accumulators as f64,
        b.accumulators as f64,
    );
    for (metric, x, y) in [
        (
            Metric::LoadsPerElement,
            per_element(a, a.loads),
            per_element(b, b.loads),
        ),
        (
            Metric::StoresPerElement,
            per_element(a, a.stores),
            per_element(b, b.stores),
        ),
        (
            Metric::InstructionsPerElement,
            a.instructions_per_element,
            b.instructions_per_element,
        ),
    ] {
        if let (Some(x), Some(y)) = (x, y) {
            if differs(x, y) {
                out.push(Difference { metric, a: x, b: y });
            }
        }
    }
    out
}
