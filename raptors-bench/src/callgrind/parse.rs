//! Reader of callgrind's output format (version 1, one part per file as callgrind writes it by
//! default): self cost per function per object and, with `--dump-instr=yes`, the number of times
//! each instruction address ran.
//!
//! Format facts the parser relies on (checked against callgrind 3.19 output in
//! `tests/data/callgrind/`, compressed and uncompressed): names may be compressed (`fn=(7) name`
//! defines id 7, a later `fn=(7)` refers to it; uncompressed names may themselves start with a
//! parenthesis, `(below main)`); positions may be absolute (`0x1a2b`, `12`), relative to the previous
//! cost line (`+3`, `-2`) or repeated (`*`); the target positions on `calls=`/`jump=`/`jcnd=` lines do
//! not move that reference; the cost line after `calls=` is the call's inclusive cost, not self cost,
//! and its position is the call site's.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use raptors_asm::names::strip_recursion;
use serde::{Deserialize, Serialize};

/// Self cost of one function in one object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FnCost {
    /// Object file path as callgrind printed it.
    pub object: String,
    /// Function name as callgrind printed it, recursion levels (`name'2`) folded in.
    pub function: String,
    /// Instructions executed inside the function (self cost, event `Ir`).
    pub ir: u64,
    /// Lowest executed instruction address (runtime) with `--dump-instr=yes`. A called function
    /// always executes its entry, so this is the entry point of a function that was called.
    pub entry: Option<u64>,
}

/// One callgrind part (one output file).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Dump {
    pub part: u32,
    /// What started the part (`--dump-before=getppid`, `Program termination`, …).
    pub trigger: String,
    /// Ir of the whole process during the part (`summary:`/`totals:`; else the sum of the costs).
    pub total_ir: u64,
    /// Self cost per (object, function), objects then functions in name order.
    pub functions: Vec<FnCost>,
    /// Per object: runtime instruction address → times executed (Ir of that instruction). Empty
    /// unless the profile has instruction positions (`--dump-instr=yes`).
    pub instructions: BTreeMap<String, BTreeMap<u64, u64>>,
}

impl Dump {
    /// Ir per object, largest first.
    pub fn objects(&self) -> Vec<(&str, u64)> {
        let mut by: BTreeMap<&str, u64> = BTreeMap::new();
        for f in &self.functions {
            *by.entry(f.object.as_str()).or_default() += f.ir;
        }
        let mut v: Vec<(&str, u64)> = by.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        v
    }
}

/// `(id) name` defines, `(id)` refers; anything else (including `(below main)`) is a plain name.
fn resolve(names: &mut HashMap<(char, String), String>, space: char, value: &str) -> String {
    let value = value.trim();
    if let Some(rest) = value.strip_prefix('(') {
        if let Some((id, name)) = rest.split_once(')') {
            if !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()) {
                let name = name.trim();
                let key = (space, id.to_string());
                if name.is_empty() {
                    return names
                        .get(&key)
                        .cloned()
                        .unwrap_or_else(|| format!("({id})"));
                }
                names.insert(key, name.to_string());
                return name.to_string();
            }
        }
    }
    value.to_string()
}

fn number(tok: &str) -> Option<u64> {
    match tok.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => tok.parse().ok(),
    }
}

/// One subposition: absolute, `+n`/`-n` relative to `last`, or `*` (= `last`).
fn position(tok: &str, last: u64) -> Option<u64> {
    if tok == "*" {
        return Some(last);
    }
    if let Some(r) = tok.strip_prefix('+') {
        return last.checked_add(number(r)?);
    }
    if let Some(r) = tok.strip_prefix('-') {
        return last.checked_sub(number(r)?);
    }
    number(tok)
}

/// What the next cost line is.
#[derive(Clone, Copy, PartialEq)]
enum Next {
    SelfCost,
    /// Follows `calls=`: inclusive cost of the call.
    CallCost,
    /// Follows `jump=`/`jcnd=`: the jump's source position.
    JumpSource,
}

/// Parses one callgrind output file.
pub fn parse_dump(text: &str) -> Result<Dump> {
    let mut dump = Dump::default();
    let mut names: HashMap<(char, String), String> = HashMap::new();
    let mut npos = 1usize;
    let mut instr_pos: Option<usize> = None;
    let mut ir_index: Option<usize> = None;
    let mut last = vec![0u64; 1];
    let (mut object, mut function) = (String::new(), String::new());
    let mut next = Next::SelfCost;
    let mut acc: BTreeMap<(String, String), (u64, Option<u64>)> = BTreeMap::new();
    let mut totals: Option<u64> = None;

    for (lineno, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        let here = || format!("line {}", lineno + 1);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let first = line.as_bytes()[0];
        if first.is_ascii_digit() || matches!(first, b'+' | b'-' | b'*') {
            let ir_at =
                ir_index.with_context(|| format!("{}: cost line before `events:`", here()))?;
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < npos {
                bail!("{}: {} positions expected: {line:?}", here(), npos);
            }
            for (k, tok) in fields[..npos].iter().enumerate() {
                last[k] = position(tok, last[k])
                    .with_context(|| format!("{}: bad position {tok:?}", here()))?;
            }
            let kind = std::mem::replace(&mut next, Next::SelfCost);
            if kind != Next::SelfCost {
                continue;
            }
            // Missing trailing events are zero.
            let ir = match fields.get(npos + ir_at) {
                Some(v) => number(v).with_context(|| format!("{}: bad cost {v:?}", here()))?,
                None => 0,
            };
            if ir == 0 {
                continue;
            }
            // callgrind marks recursion levels as `name'2` (NumPy's pairwise sum): folded into
            // the function itself.
            let f = strip_recursion(&function).to_string();
            let addr = instr_pos.map(|k| last[k]);
            let e = acc.entry((object.clone(), f)).or_default();
            e.0 += ir;
            if let Some(a) = addr {
                e.1 = Some(e.1.map_or(a, |m| m.min(a)));
                *dump
                    .instructions
                    .entry(object.clone())
                    .or_default()
                    .entry(a)
                    .or_default() += ir;
            }
            continue;
        }
        let Some((key, value)) = line.split_once(['=', ':']) else {
            continue;
        };
        match key {
            "positions" => {
                let p: Vec<&str> = value.split_whitespace().collect();
                npos = p.len().max(1);
                instr_pos = p.iter().position(|x| *x == "instr");
                last = vec![0; npos];
            }
            "events" => {
                let ev: Vec<&str> = value.split_whitespace().collect();
                ir_index = Some(
                    ev.iter()
                        .position(|e| *e == "Ir")
                        .with_context(|| format!("{}: no `Ir` event in {value:?}", here()))?,
                );
            }
            "part" => dump.part = value.trim().parse().unwrap_or(0),
            "desc" => {
                if let Some(t) = value.trim().strip_prefix("Trigger:") {
                    dump.trigger = t.trim().to_string();
                }
            }
            "summary" | "totals" => {
                if let Some(i) = ir_index {
                    totals = value.split_whitespace().nth(i).and_then(number);
                }
            }
            "ob" => object = resolve(&mut names, 'o', value),
            "fn" => function = resolve(&mut names, 'f', value),
            "cob" => {
                resolve(&mut names, 'o', value);
            }
            "cfn" => {
                resolve(&mut names, 'f', value);
            }
            "fl" | "fi" | "fe" | "cfi" | "cfl" => {
                resolve(&mut names, 'l', value);
            }
            "calls" => next = Next::CallCost,
            "jump" | "jcnd" => next = Next::JumpSource,
            _ => {}
        }
    }
    if ir_index.is_none() {
        bail!("not a callgrind profile (no `events:` line with `Ir`)");
    }
    dump.functions = acc
        .into_iter()
        .map(|((object, function), (ir, entry))| FnCost {
            object,
            function,
            ir,
            entry,
        })
        .collect();
    dump.total_ir = totals.unwrap_or_else(|| dump.functions.iter().map(|f| f.ir).sum());
    Ok(dump)
}

/// Every part of one run (`prefix`, `prefix.1`, `prefix.2`, …), ordered by part number.
pub fn read_dumps(prefix: &Path) -> Result<Vec<Dump>> {
    let dir = match prefix.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let stem = prefix
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut files: Vec<PathBuf> = Vec::new();
    for entry in fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        let name = path
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name == stem
            || name
                .strip_prefix(&format!("{stem}."))
                .is_some_and(|n| n.parse::<u32>().is_ok())
        {
            files.push(path);
        }
    }
    if files.is_empty() {
        bail!("callgrind wrote no profile at {}", prefix.display());
    }
    let mut dumps = Vec::new();
    for f in files {
        let text = fs::read_to_string(&f).with_context(|| format!("reading {}", f.display()))?;
        dumps.push(parse_dump(&text).with_context(|| format!("parsing {}", f.display()))?);
    }
    dumps.sort_by_key(|d| d.part);
    Ok(dumps)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "# callgrind format
version: 1
creator: callgrind-3.19.0
part: 3
desc: Trigger: --dump-before=getppid
positions: line
events: Ir
summary: 1000

ob=(1) /venv/numpy/_multiarray_umath.so
fl=(1) ???
fn=(1) FLOAT_add_X86_V3
0 600
cob=(2) /lib/libc.so.6
cfi=(2) ???
cfn=(2) memcpy
calls=1 0
0 250
fn=(3) FLOAT_pairwise_sum
0 100
ob=(2)
fl=(2)
fn=(2)
0 250
ob=(1)
fl=(1)
fn=(1)
+2 50
";

    #[test]
    fn self_costs_skip_inclusive_call_costs() {
        let d = parse_dump(SAMPLE).unwrap();
        assert_eq!((d.part, d.total_ir), (3, 1000));
        assert_eq!(d.trigger, "--dump-before=getppid");
        let get = |f: &str| d.functions.iter().find(|c| c.function == f).map(|c| c.ir);
        assert_eq!(get("FLOAT_add_X86_V3"), Some(650));
        assert_eq!(get("memcpy"), Some(250));
        assert_eq!(get("FLOAT_pairwise_sum"), Some(100));
        assert!(d.instructions.is_empty(), "no instr positions");
        assert_eq!(
            d.objects(),
            vec![
                ("/venv/numpy/_multiarray_umath.so", 750),
                ("/lib/libc.so.6", 250)
            ]
        );
    }

    #[test]
    fn instruction_counts_and_recursion_levels() {
        let d = parse_dump(
            "positions: instr line\nevents: Ir Dr\nob=a.so\nfn=p\n0x1010 3 5 1\n+0x10 * 2\n\
             fn=p'2\n0x1000 2 7\ncfn=q\ncalls=4 0x2000 9\n* * 99\n-4 * 1\n",
        )
        .unwrap();
        assert_eq!(d.functions.len(), 1);
        assert_eq!(d.functions[0].function, "p");
        assert_eq!(d.functions[0].ir, 15);
        assert_eq!(d.functions[0].entry, Some(0xffc));
        let counts = &d.instructions["a.so"];
        assert_eq!(
            counts.iter().map(|(a, n)| (*a, *n)).collect::<Vec<_>>(),
            vec![(0xffc, 1), (0x1000, 7), (0x1010, 5), (0x1020, 2)]
        );
        assert_eq!(d.total_ir, 15);
    }

    #[test]
    fn uncompressed_names_may_start_with_a_parenthesis() {
        let d = parse_dump("events: Ir\nob=x\nfn=(below main)\n0 4\nfn=(3) f\n0 1\nfn=(3)\n0 1\n")
            .unwrap();
        let names: Vec<&str> = d.functions.iter().map(|f| f.function.as_str()).collect();
        assert_eq!(names, ["(below main)", "f"]);
    }

    #[test]
    fn rejects_non_callgrind_text() {
        assert!(parse_dump("hello\nworld\n").is_err());
        assert!(parse_dump("events: Ir\n12 notanumber\n").is_err());
        assert!(parse_dump("events: Dr\n1 2\n").is_err());
        assert!(parse_dump("positions: instr line\nevents: Ir\n0x10\n").is_err());
        assert!(parse_dump("events: Ir\n+x 1\n").is_err());
    }
}
