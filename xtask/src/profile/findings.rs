//! Findings written from the run's data: nothing here knows what the answer "should" be; every
//! sentence is computed from the loop metrics and timings in the [`ReportInput`].

use super::model::{Avail, HotLoopPair, LoopMetrics, ReportInput, TimingRow};

/// Square size of a timing row ("2048x2048", "2048²", "2048" → 2048).
pub fn size_of(row: &TimingRow) -> u64 {
    row.size
        .split(|c: char| !c.is_ascii_digit())
        .find(|s| !s.is_empty())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

pub fn timing<'a>(
    input: &'a ReportInput,
    op: &str,
    dtype: &str,
    size: Option<u64>,
) -> Option<&'a TimingRow> {
    let rows = input
        .timings
        .ok()?
        .rows
        .iter()
        .filter(|r| r.op == op && r.dtype == dtype);
    match size {
        Some(n) => rows.into_iter().find(|r| size_of(r) == n),
        None => rows.max_by_key(|r| size_of(r)),
    }
}

fn fmt_num(x: f64) -> String {
    if x == x.round() && x.abs() < 1e6 {
        format!("{x:.0}")
    } else if x.abs() >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

fn plural(n: f64, word: &str) -> String {
    format!(
        "{} {word}{}",
        fmt_num(n),
        if (n - 1.0).abs() < 1e-9 { "" } else { "s" }
    )
}

/// "256-bit vectors, 1 accumulator, 2 loads + 1 store per element, 0.75 instructions/element".
pub fn describe_loop(m: &LoopMetrics) -> String {
    let mut parts = Vec::new();
    parts.push(if m.vector_bits > 0 {
        format!("{}-bit vectors", m.vector_bits)
    } else {
        "scalar code".to_string()
    });
    if let Some(a) = m.accumulators {
        parts.push(plural(a, "accumulator"));
    }
    match (m.per_element(m.loads), m.per_element(m.stores)) {
        (Some(l), Some(s)) => parts.push(format!(
            "{} loads + {} stores per element",
            fmt_num(l),
            fmt_num(s)
        )),
        _ => parts.push(format!(
            "{} loads + {} stores per iteration",
            fmt_num(m.loads),
            fmt_num(m.stores)
        )),
    }
    if let Some(ipe) = m.instructions_per_element {
        parts.push(format!("{} instructions/element", fmt_num(ipe)));
    } else {
        parts.push(format!(
            "{} instructions/iteration",
            fmt_num(m.instructions_per_iteration)
        ));
    }
    if let Some(u) = m.unroll {
        if u > 1.0 {
            parts.push(format!("unrolled {}x", fmt_num(u)));
        }
    }
    parts.join(", ")
}

/// The measurable differences between two loops, largest first. Empty when they look alike.
pub fn differences(np: &LoopMetrics, rp: &LoopMetrics) -> Vec<String> {
    let mut out = Vec::new();
    if np.vector_bits != rp.vector_bits {
        out.push(format!(
            "vector width: Raptors {} bits vs NumPy {} bits",
            rp.vector_bits, np.vector_bits
        ));
    }
    if (rp.calls - np.calls).abs() > 0.5 {
        out.push(format!(
            "calls inside the hot loop: Raptors {} vs NumPy {} (a call per iteration means a helper \
             was not inlined into the loop)",
            fmt_num(rp.calls),
            fmt_num(np.calls)
        ));
    }
    if let (Some(a), Some(b)) = (rp.accumulators, np.accumulators) {
        if (a - b).abs() > 0.5 {
            out.push(format!(
                "independent accumulators: Raptors {} vs NumPy {}",
                fmt_num(a),
                fmt_num(b)
            ));
        }
    }
    for (what, r, n) in [
        (
            "loads per element",
            rp.per_element(rp.loads),
            np.per_element(np.loads),
        ),
        (
            "stores per element",
            rp.per_element(rp.stores),
            np.per_element(np.stores),
        ),
        (
            "instructions per element",
            rp.instructions_per_element,
            np.instructions_per_element,
        ),
    ] {
        if let (Some(r), Some(n)) = (r, n) {
            if differs(r, n) {
                out.push(format!(
                    "{what}: Raptors {} vs NumPy {}",
                    fmt_num(r),
                    fmt_num(n)
                ));
            }
        }
    }
    out
}

fn differs(a: f64, b: f64) -> bool {
    let hi = a.abs().max(b.abs());
    hi > 0.0 && (a - b).abs() / hi > 0.1
}

fn speed_sentence(row: &TimingRow) -> String {
    format!(
        "measured at {}: speedup {:.2}x (95 % CI {:.2}–{:.2}) — {}",
        row.size,
        row.speedup,
        row.ci_low,
        row.ci_high,
        row.verdict()
    )
}

/// The x86-64 pair to explain an op with: the real-run Raptors build when it was analysed.
pub fn x86_pair<'a>(input: &'a ReportInput, op: &str, dtype: &str) -> Option<&'a HotLoopPair> {
    let mut pairs: Vec<&HotLoopPair> = input
        .loops
        .iter()
        .filter(|p| p.op == op && p.dtype == dtype && p.arch == "x86_64")
        .collect();
    pairs.sort_by_key(|p| {
        (
            p.raptors.ok().is_none(),
            !p.raptors_variant.contains("real"),
        )
    });
    pairs.into_iter().next()
}

fn pair_sentence(p: &HotLoopPair) -> Option<String> {
    let (Avail::Ok(np), Avail::Ok(rp)) = (&p.numpy, &p.raptors) else {
        return None;
    };
    let diffs = differences(np, rp);
    let tail = if diffs.is_empty() {
        "the inner loops look alike by these measures, so any gap comes from outside them \
         (call overhead, allocation, memory traffic)"
            .to_string()
    } else {
        format!("differences: {}", diffs.join("; "))
    };
    Some(format!(
        "NumPy `{}`: {}. Raptors `{}` ({}): {}. {}.",
        np.symbol,
        describe_loop(np),
        rp.symbol,
        p.raptors_variant,
        describe_loop(rp),
        capitalise(&tail)
    ))
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// Bullet points, one per op × dtype plus an overall one.
pub fn findings(input: &ReportInput) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(t) = input.timings.ok() {
        let faster = t.rows.iter().filter(|r| r.ci_low > 1.0).count();
        let slower = t.rows.iter().filter(|r| r.ci_high < 1.0).count();
        let same = t.rows.len() - faster - slower;
        out.push(format!(
            "Timings: Raptors is significantly faster in {faster} of {} cells, NumPy in {slower}, \
             no significant difference in {same} (95 % bootstrap CIs).",
            t.rows.len()
        ));
    }
    for f in &input.functions {
        let mut s = format!("**{} {}** — ", f.op, f.dtype);
        let mut any = false;
        if let Some(p) = x86_pair(input, &f.op, &f.dtype) {
            if let Some(text) = pair_sentence(p) {
                s.push_str(&format!("x86-64: {text} "));
                any = true;
            }
        }
        if let Some(p) = input
            .loops
            .iter()
            .find(|p| p.op == f.op && p.dtype == f.dtype && p.arch == "aarch64")
        {
            if let Some(text) = pair_sentence(p) {
                s.push_str(&format!("aarch64: {text} "));
                any = true;
            }
        }
        let exec = input
            .executed
            .iter()
            .find(|e| e.op == f.op && e.dtype == f.dtype);
        if let Some(text) = exec.and_then(executed_sentence) {
            s.push_str(&format!("{text} "));
            any = true;
        }
        let row = timing(input, &f.op, &f.dtype, None);
        if let Some(row) = row {
            s.push_str(&capitalise(&speed_sentence(row)));
            s.push('.');
            any = true;
        }
        if let (Some(e), Some(row)) = (exec, row) {
            if let Some(text) = contradiction(e, row) {
                s.push_str(&format!(" {text}"));
            }
        }
        if any {
            out.push(s.trim_end().to_string());
        }
    }
    out
}

fn executed_sentence(e: &super::model::ExecutedIr) -> Option<String> {
    let (n, r) = (e.numpy_ir_per_element?, e.raptors_ir_per_element?);
    Some(format!(
        "Executed (callgrind, AVX2-or-lower paths): NumPy {} vs Raptors {} instructions per element inside their modules.",
        fmt_num(n),
        fmt_num(r)
    ))
}

/// When the instruction counts and the clock disagree, say so: the time then goes somewhere
/// instructions do not show (waiting, page faults, memory traffic).
fn contradiction(e: &super::model::ExecutedIr, row: &TimingRow) -> Option<String> {
    let (n, r) = (e.numpy_ir_per_element?, e.raptors_ir_per_element?);
    if r < 0.8 * n && row.ci_high < 1.0 {
        Some(format!(
            "Raptors executes {:.1}x fewer instructions per element yet is slower: its time is \
             spent outside the executed instructions of the single-threaded callgrind run (thread \
             start-up/synchronisation, page faults of fresh result buffers, memory traffic).",
            n / r.max(1e-12)
        ))
    } else if r > 1.25 * n && row.ci_low > 1.0 {
        Some(format!(
            "Raptors executes {:.1}x more instructions per element yet is faster: wider vectors or \
             parallelism in the real run make up for it.",
            r / n.max(1e-12)
        ))
    } else {
        None
    }
}

/// The explicit explanation of mean axis 0, f32, 2048² (the case the project was started for).
pub fn mean_axis0_explanation(input: &ReportInput) -> String {
    let mut s = String::new();
    match timing(input, "mean_axis0", "f32", Some(2048)) {
        Some(row) => s.push_str(&format!("Timing: {}.\n\n", speed_sentence(row))),
        None => {
            let sizes: Vec<String> = input
                .timings
                .ok()
                .map(|t| {
                    let mut v: Vec<String> = t
                        .rows
                        .iter()
                        .filter(|r| r.op == "mean_axis0" && r.dtype == "f32")
                        .map(|r| r.size.clone())
                        .collect();
                    v.dedup();
                    v
                })
                .unwrap_or_default();
            s.push_str(&format!(
                "Timing: not measured at 2048² in this run{}.\n\n",
                if sizes.is_empty() {
                    String::new()
                } else {
                    format!(" (measured sizes: {})", sizes.join(", "))
                }
            ));
            if let Some(row) = timing(input, "mean_axis0", "f32", None) {
                s.push_str(&format!(
                    "Nearest measurement: {}.\n\n",
                    speed_sentence(row)
                ));
            }
        }
    }
    if let Some(e) = input
        .executed
        .iter()
        .find(|e| e.op == "mean_axis0" && e.dtype == "f32")
    {
        if let Some(text) = executed_sentence(e) {
            s.push_str(&format!("{text}\n\n"));
        }
        if let Some(row) = timing(input, "mean_axis0", "f32", Some(2048))
            .or_else(|| timing(input, "mean_axis0", "f32", None))
        {
            if let Some(text) = contradiction(e, row) {
                s.push_str(&format!("{text}\n\n"));
            }
        }
    }
    match x86_pair(input, "mean_axis0", "f32") {
        Some(p) => match (&p.numpy, &p.raptors) {
            (Avail::Ok(np), Avail::Ok(rp)) => {
                s.push_str(&format!(
                    "| | NumPy | Raptors ({}) |\n|---|---|---|\n",
                    p.raptors_variant
                ));
                let row = |name: &str, a: String, b: String| format!("| {name} | {a} | {b} |\n");
                let opt = |x: Option<f64>| x.map(fmt_num).unwrap_or_else(|| "n/a".into());
                s.push_str(&row("function", format!("`{}`", np.symbol), format!("`{}`", rp.symbol)));
                s.push_str(&row("vector width (bits)", np.vector_bits.to_string(), rp.vector_bits.to_string()));
                s.push_str(&row("accumulators", opt(np.accumulators), opt(rp.accumulators)));
                s.push_str(&row("loads / element", opt(np.per_element(np.loads)), opt(rp.per_element(rp.loads))));
                s.push_str(&row("stores / element", opt(np.per_element(np.stores)), opt(rp.per_element(rp.stores))));
                s.push_str(&row("instructions / element", opt(np.instructions_per_element), opt(rp.instructions_per_element)));
                s.push_str(&row("unroll", opt(np.unroll), opt(rp.unroll)));
                s.push_str(&row("calls in the loop", fmt_num(np.calls), fmt_num(rp.calls)));
                s.push_str(&row("read streams", opt(np.read_streams), opt(rp.read_streams)));
                s.push_str(&row(
                    "bytes read + written / iteration",
                    format!("{} + {}", opt(np.bytes_read), opt(np.bytes_written)),
                    format!("{} + {}", opt(rp.bytes_read), opt(rp.bytes_written)),
                ));
                // Both loops add input rows into the output row: per input element, the
                // traffic through L1 is what really differs (the accumulator row's re-reads
                // and re-writes are amortised over the rows one pass consumes).
                let traffic = |m: &super::model::LoopMetrics| {
                    m.accumulate_bytes_per_input_element(4.0)
                };
                s.push_str(&row(
                    "bytes moved / input element (accumulating into the output row)",
                    opt(traffic(np)),
                    opt(traffic(rp)),
                ));
                s.push('\n');
                if let (Some(a), Some(b)) = (traffic(np), traffic(rp)) {
                    // Read streams beyond the output row are input rows consumed per pass.
                    let rows = |m: &super::model::LoopMetrics| {
                        opt(m.read_streams.map(|r| (r - 1.0).max(1.0)))
                    };
                    s.push_str(&format!(
                        "Per input element NumPy's loop moves {} bytes through L1 and Raptors's {} \
                         (NumPy/Raptors {}x): per pass over the output row NumPy's loop reads {} input \
                         row(s), Raptors's {}.\n\n",
                        fmt_num(a),
                        fmt_num(b),
                        fmt_num(a / b),
                        rows(np),
                        rows(rp),
                    ));
                }
                let diffs = differences(np, rp);
                if diffs.is_empty() {
                    s.push_str(
                        "By these measures the two inner loops are alike; the gap must come from \
                         outside the loop (see the timing and counters).\n",
                    );
                } else {
                    s.push_str("What differs in the inner loops:\n");
                    for d in diffs {
                        s.push_str(&format!("- {d}\n"));
                    }
                }
                s.push_str("\nThe two loops are printed side by side in `hot_loops.md`.\n");
            }
            (np, rp) => {
                for (side, v) in [("NumPy", np), ("Raptors", rp)] {
                    if let Avail::Missing(why) = v {
                        s.push_str(&format!("{side}'s inner loop is not available: {why}\n"));
                    }
                }
            }
        },
        None => s.push_str("No x86-64 hot-loop comparison for mean_axis0 f32 in this run (op or dtype not selected, or the analysis step failed — see Status).\n"),
    }
    s
}
