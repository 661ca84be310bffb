//! Calls into `raptors-asm` (symbols, disasm, simd, compare) and turns its output into artifacts.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};
use serde_json::Value;

use super::adapters;
use super::model::{Avail, HotLoopPair};
use super::runlog::StepLog;
use super::symbols::{parse_symbols, Chosen, Sym};

/// The built `raptors-asm` binary.
pub struct Asm {
    pub bin: PathBuf,
}

impl Asm {
    fn cmd(&self) -> Command {
        Command::new(&self.bin)
    }

    pub fn json(&self, log: &StepLog, args: &[&str], files: &[&Path]) -> Result<Value> {
        let mut c = self.cmd();
        c.args(args).args(files).arg("--json");
        let out = log.run(&mut c)?;
        serde_json::from_str(&out)
            .with_context(|| format!("raptors-asm {} printed invalid JSON", args.join(" ")))
    }

    pub fn symbols(&self, log: &StepLog, lib: &Path) -> Result<Vec<Sym>> {
        let v = self.json(log, &["symbols"], &[lib])?;
        parse_symbols(&v)
    }

    fn with_symbols(&self, sub: &str, lib: &Path, symbols: &[String]) -> Command {
        let mut c = self.cmd();
        c.arg(sub).arg(lib);
        for s in symbols {
            c.arg("--symbol").arg(s);
        }
        c
    }

    pub fn disasm(&self, log: &StepLog, lib: &Path, symbols: &[String]) -> Result<String> {
        log.run(&mut self.with_symbols("disasm", lib, symbols))
    }

    /// `simd` as (text, JSON).
    pub fn simd(&self, log: &StepLog, lib: &Path, symbols: &[String]) -> Result<(String, Value)> {
        let text = log.run(&mut self.with_symbols("simd", lib, symbols))?;
        let mut c = self.with_symbols("simd", lib, symbols);
        c.arg("--json");
        let json = serde_json::from_str(&log.run(&mut c)?)
            .context("raptors-asm simd printed invalid JSON")?;
        Ok((text, json))
    }

    /// `compare` of two chosen functions. When a name is shared by several functions (and the
    /// chosen one carries its address), that side comes from `raptors-asm loops` over every
    /// copy, keeping the copy at the chosen address, in the same shape as a `compare` side.
    pub fn compare_chosen(
        &self,
        log: &StepLog,
        a: (&Path, &Chosen),
        b: (&Path, &Chosen),
    ) -> Result<Value> {
        if a.1.address.is_none() && b.1.address.is_none() {
            return self.compare(log, a.0, b.0, &a.1.symbol, &b.1.symbol);
        }
        let side = |lib: &Path, c: &Chosen| -> Result<Value> {
            let Some(addr) = c.address else {
                let v = self.compare(log, lib, lib, &c.symbol, &c.symbol)?;
                return Ok(v["a"].clone());
            };
            let mut cmd = self.cmd();
            cmd.arg("loops")
                .arg(lib)
                .arg("--symbol")
                .arg(format!("^{}$", regex::escape(&c.symbol)))
                .arg("--json");
            let v: Value = serde_json::from_str(&log.run(&mut cmd)?)
                .context("raptors-asm loops printed invalid JSON")?;
            let f = v["functions"]
                .as_array()
                .and_then(|fs| fs.iter().find(|f| f["address"].as_u64() == Some(addr)))
                .with_context(|| {
                    format!("raptors-asm loops lists no `{}` at {addr:#x}", c.symbol)
                })?;
            let loops = f["loops"].as_array().cloned().unwrap_or_default();
            let hot = loops
                .iter()
                .find(|l| l["hottest"] == Value::Bool(true))
                .cloned()
                .unwrap_or(Value::Null);
            Ok(serde_json::json!({
                "file": v["file"], "arch": v["arch"], "function": f["name"], "address": addr,
                "loops_found": loops.len(), "loop": hot,
            }))
        };
        Ok(serde_json::json!({"a": side(a.0, a.1)?, "b": side(b.0, b.1)?}))
    }

    pub fn compare(&self, log: &StepLog, a: &Path, b: &Path, sa: &str, sb: &str) -> Result<Value> {
        let mut c = self.cmd();
        c.arg("compare")
            .arg(a)
            .arg(b)
            .args(["--symbol-a", sa, "--symbol-b", sb, "--json"]);
        serde_json::from_str(&log.run(&mut c)?).context("raptors-asm compare printed invalid JSON")
    }
}

/// One function to analyse and the ops it runs (for the artifact's index).
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    pub symbol: String,
    pub why: Vec<String>,
}

/// Adds `symbol` (with the reason it is analysed) to `list`, merging duplicates.
pub fn add_target(list: &mut Vec<Target>, symbol: &str, why: String) {
    match list.iter_mut().find(|t| t.symbol == symbol) {
        Some(t) => {
            if !t.why.contains(&why) {
                t.why.push(why)
            }
        }
        None => list.push(Target {
            symbol: symbol.to_string(),
            why: vec![why],
        }),
    }
}

/// The index printed above a disassembly: which function runs which op, and how it was found.
pub fn index(targets: &[Target], lib: &Path, title: &str) -> String {
    let mut s = format!("{title}\nlibrary: {}\n\n", lib.display());
    for t in targets {
        s.push_str(&format!("{}\n", t.symbol));
        for w in &t.why {
            s.push_str(&format!("    {w}\n"));
        }
    }
    s.push('\n');
    s
}

pub fn names(targets: &[Target]) -> Vec<String> {
    targets.iter().map(|t| t.symbol.clone()).collect()
}

/// The loop body from `compare`'s `mca` field, without llvm-mca's markers.
fn body_lines(side: &Value) -> Vec<String> {
    side.pointer("/loop/mca")
        .and_then(Value::as_str)
        .map(|m| {
            m.lines()
                .filter(|l| {
                    !l.contains("LLVM-MCA-BEGIN")
                        && !l.contains("LLVM-MCA-END")
                        && !l.trim().is_empty()
                })
                .map(|l| l.trim_end().replace('\t', " "))
                .collect()
        })
        .unwrap_or_default()
}

/// Two loop bodies in columns, with the function names on top.
pub fn side_by_side(compare: &Value) -> String {
    let head = |k: &str| {
        compare
            .pointer(&format!("/{k}/function"))
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string()
    };
    let a = body_lines(&compare["a"]);
    let b = body_lines(&compare["b"]);
    let width = a
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0)
        .max(40);
    let clip = |s: String, w: usize| -> String {
        if s.chars().count() > w {
            s.chars().take(w - 1).collect::<String>() + "…"
        } else {
            s
        }
    };
    let mut out = format!(
        "{:width$} | {}\n{:width$} | {}\n",
        "NumPy",
        "Raptors",
        clip(head("a"), width),
        clip(head("b"), 60)
    );
    out.push_str(&format!("{}-+-{}\n", "-".repeat(width), "-".repeat(40)));
    for i in 0..a.len().max(b.len()) {
        let l = a.get(i).cloned().unwrap_or_default();
        let r = b.get(i).cloned().unwrap_or_default();
        out.push_str(&format!("{l:width$} | {r}\n"));
    }
    out
}

/// Runs `compare` for one pair and converts it for the report.
#[allow(clippy::too_many_arguments)]
pub fn loop_pair(
    asm: &Asm,
    log: &StepLog,
    op: &str,
    dtype: &str,
    arch: &str,
    variant: &str,
    numpy: (&Path, &Chosen),
    raptors: (&Path, &Chosen),
) -> (HotLoopPair, Option<Value>) {
    match asm.compare_chosen(log, numpy, raptors) {
        Ok(v) => (
            HotLoopPair {
                op: op.into(),
                dtype: dtype.into(),
                arch: arch.into(),
                raptors_variant: variant.into(),
                numpy: adapters::loop_metrics(&v, "a").into(),
                raptors: adapters::loop_metrics(&v, "b").into(),
                side_by_side: side_by_side(&v),
            },
            Some(v),
        ),
        Err(e) => {
            let why = format!("raptors-asm compare failed: {e:#}");
            (
                HotLoopPair {
                    op: op.into(),
                    dtype: dtype.into(),
                    arch: arch.into(),
                    raptors_variant: variant.into(),
                    numpy: Avail::missing(why.clone()),
                    raptors: Avail::missing(why),
                    side_by_side: String::new(),
                },
                None,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_merge_reasons() {
        let mut t = Vec::new();
        add_target(&mut t, "FLOAT_add_X86_V3", "add f32".into());
        add_target(&mut t, "FLOAT_add_X86_V3", "mean_axis0 f32".into());
        add_target(&mut t, "FLOAT_add_X86_V3", "add f32".into());
        add_target(&mut t, "FLOAT_multiply_X86_V3", "scale f32".into());
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].why, ["add f32", "mean_axis0 f32"]);
        let idx = index(&t, Path::new("/x.so"), "# NumPy");
        assert!(idx.contains("FLOAT_multiply_X86_V3\n    scale f32"));
    }

    #[test]
    fn loop_bodies_side_by_side() {
        let v = serde_json::json!({
            "a": {"function": "FLOAT_add", "loop": {"mca": "# LLVM-MCA-BEGIN\nvaddps (%rsi), %ymm0, %ymm0\nvmovups %ymm0, (%rdx)\n# LLVM-MCA-END\n"}},
            "b": {"function": "sum_axis0_f32", "loop": {"mca": "vaddps (%rdi), %zmm1, %zmm1\n"}}
        });
        let s = side_by_side(&v);
        let lines: Vec<&str> = s.lines().collect();
        assert!(lines[1].starts_with("FLOAT_add") && lines[1].ends_with("sum_axis0_f32"));
        assert!(
            lines[3].starts_with("vaddps (%rsi), %ymm0, %ymm0")
                && lines[3].ends_with("vaddps (%rdi), %zmm1, %zmm1")
        );
        assert!(
            lines[4].trim_end().ends_with('|'),
            "right side shorter: {s}"
        );
        assert!(!s.contains("LLVM-MCA"));
    }
}
