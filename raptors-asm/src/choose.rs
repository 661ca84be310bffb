//! Which function of a library runs an operation: chosen from what executed (a profiler's hot
//! functions, or executed instruction addresses with a load bias), else by name patterns the
//! caller passes in (documented fallback). The result says which way it was chosen and why.
//!
//! Works on any ELF: names are compared after [`crate::names::normalize`] (Rust hash and
//! recursion marks removed), same-named local functions are told apart by address, and nothing
//! here knows which library or operation it is looking at.

use std::collections::BTreeMap;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::names::normalize;
use crate::symbols::{Function, SymbolTable};

/// A function as a profiler reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutedFunction {
    /// As the profiler prints it (demangled; may carry a Rust hash or a recursion mark).
    pub name: String,
    /// Self cost (instructions executed inside it, or samples).
    pub cost: u64,
    /// Runtime address of its entry, when known (callgrind with `--dump-instr=yes`).
    #[serde(default)]
    pub entry: Option<u64>,
}

/// What executed inside one library during one operation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Execution {
    /// The tool that measured it (`callgrind`, `qemu-exec`, `perf-sample`), for the evidence.
    pub tool: String,
    /// Functions with their self cost (any order).
    #[serde(default)]
    pub functions: Vec<ExecutedFunction>,
    /// Executed instruction addresses (runtime) with their execution counts. When given, they
    /// decide: each count goes to the function containing its address.
    #[serde(default)]
    pub instructions: Vec<(u64, u64)>,
    /// Runtime address − file address of the library. None: estimated from the entries of
    /// uniquely named `functions` ([`estimate_load_bias`]).
    #[serde(default)]
    pub load_bias: Option<u64>,
}

/// What to choose from.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChooseRequest {
    /// None: no profile for this library and operation.
    #[serde(default)]
    pub execution: Option<Execution>,
    /// Regexes over normalized names, tried in order when execution gives no answer; among the
    /// matches of the first pattern that matches, the largest function wins (the loop body, not
    /// a thunk).
    #[serde(default)]
    pub patterns: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChosenBy {
    /// The hottest function of the library in a profile of the operation.
    Execution,
    /// A name pattern (execution gave no usable answer).
    Pattern,
}

/// A function with the cost execution attributed to it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub function: String,
    pub address: u64,
    pub cost: u64,
}

/// The chosen function.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    /// Name in the symbol table (demangled, no Rust hash).
    pub function: String,
    /// File address: unique even where several functions share the name.
    pub address: u64,
    pub size: u64,
    pub chosen_by: ChosenBy,
    /// Cost execution attributed to it, and its share of the library's (execution only).
    pub cost: Option<u64>,
    pub share: Option<f64>,
    /// Functions in the table with this name (> 1: local copies, told apart by `address`).
    pub same_name: usize,
    /// Why this one, in a sentence.
    pub evidence: String,
    /// The next hottest functions (execution only), for context.
    pub runners_up: Vec<Candidate>,
}

/// The load bias agreed on by the uniquely named functions among `anchors` (name, runtime
/// entry): runtime − file address, page aligned. callgrind prints object-relative addresses, so
/// there the bias is 0; qemu and perf print runtime addresses.
pub fn estimate_load_bias(table: &SymbolTable, anchors: &[(String, u64)]) -> Option<u64> {
    let mut votes: BTreeMap<u64, usize> = BTreeMap::new();
    for (name, runtime) in anchors {
        if let [only] = table.named(name).as_slice() {
            if let Some(b) = runtime.checked_sub(only.address) {
                if b % 0x1000 == 0 {
                    *votes.entry(b).or_default() += 1;
                }
            }
        }
    }
    // Most votes; on a tie the smaller bias.
    votes
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
        .map(|(b, _)| b)
}

/// Costs per table function from executed instruction addresses.
fn by_address(
    table: &SymbolTable,
    instructions: &[(u64, u64)],
    bias: u64,
) -> (Vec<(usize, u64)>, u64) {
    let mut per: BTreeMap<usize, u64> = BTreeMap::new();
    let mut outside = 0;
    for &(runtime, n) in instructions {
        let f = runtime
            .checked_sub(bias)
            .and_then(|a| table.containing(a))
            .map(|f| f.address);
        match f.and_then(|a| table.functions.binary_search_by_key(&a, |f| f.address).ok()) {
            Some(i) => *per.entry(i).or_default() += n,
            None => outside += n,
        }
    }
    let mut v: Vec<(usize, u64)> = per.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    (v, outside)
}

fn candidate(f: &Function, cost: u64) -> Candidate {
    Candidate {
        function: f.name.clone(),
        address: f.address,
        cost,
    }
}

/// Execution's answer, or why there is none.
fn from_execution(table: &SymbolTable, e: &Execution) -> Result<Choice, String> {
    let tool = if e.tool.is_empty() {
        "profile"
    } else {
        e.tool.as_str()
    };
    let anchors: Vec<(String, u64)> = e
        .functions
        .iter()
        .filter_map(|f| f.entry.map(|a| (f.name.clone(), a)))
        .collect();
    let bias = e.load_bias.or_else(|| estimate_load_bias(table, &anchors));
    if !e.instructions.is_empty() {
        let Some(bias) = bias else {
            return Err(format!(
                "{tool} gave executed addresses but no load bias, and none could be estimated \
                 from its function entries"
            ));
        };
        let (per, outside) = by_address(table, &e.instructions, bias);
        let total: u64 = per.iter().map(|p| p.1).sum::<u64>() + outside;
        let Some(&(top, cost)) = per.first() else {
            return Err(format!(
                "none of the {} executed addresses from {tool} lies in a function of the table \
                 (load bias {bias:#x})",
                e.instructions.len()
            ));
        };
        let f = &table.functions[top];
        let share = cost as f64 / total.max(1) as f64;
        return Ok(Choice {
            function: f.name.clone(),
            address: f.address,
            size: f.size,
            chosen_by: ChosenBy::Execution,
            cost: Some(cost),
            share: Some(share),
            same_name: table.named(&f.name).len(),
            evidence: format!(
                "{:.0} % of the library's {total} executed instructions ({tool}, by address, load \
                 bias {bias:#x})",
                share * 100.0
            ),
            runners_up: per
                .iter()
                .skip(1)
                .take(4)
                .map(|&(i, c)| candidate(&table.functions[i], c))
                .collect(),
        });
    }
    let mut hot: Vec<&ExecutedFunction> = e.functions.iter().collect();
    hot.sort_by(|a, b| b.cost.cmp(&a.cost).then(a.name.cmp(&b.name)));
    let Some(top) = hot.first() else {
        return Err(format!("{tool} reported no executed function"));
    };
    let total: u64 = hot.iter().map(|f| f.cost).sum();
    let share = top.cost as f64 / total.max(1) as f64;
    let copies = table.named(&top.name);
    let f = match copies.as_slice() {
        [] => {
            return Err(format!(
                "{tool}'s hottest function `{}` is not in the symbol table",
                top.name
            ))
        }
        [one] => *one,
        many => {
            let file = match (top.entry, bias) {
                (Some(rt), Some(b)) => rt.checked_sub(b),
                _ => None,
            };
            match file.and_then(|a| many.iter().find(|f| f.address == a)) {
                Some(f) => *f,
                None => {
                    return Err(format!(
                        "{tool}'s hottest `{}` has {} same-named copies and its entry ({}) matches \
                         none of them",
                        top.name,
                        many.len(),
                        top.entry
                            .map_or("unknown".to_string(), |a| format!("{a:#x}"))
                    ))
                }
            }
        }
    };
    let same_name = copies.len();
    let mut evidence = format!(
        "{:.0} % of the library's {total} executed instructions ({tool})",
        share * 100.0
    );
    if same_name > 1 {
        evidence.push_str(&format!(
            "; {same_name} functions share this name, the one at {:#x} ran",
            f.address
        ));
    }
    Ok(Choice {
        function: f.name.clone(),
        address: f.address,
        size: f.size,
        chosen_by: ChosenBy::Execution,
        cost: Some(top.cost),
        share: Some(share),
        same_name,
        evidence,
        runners_up: hot
            .iter()
            .skip(1)
            .take(4)
            .map(|h| {
                let address = table.named(&h.name).first().map_or(0, |f| f.address);
                Candidate {
                    function: normalize(&h.name).to_string(),
                    address,
                    cost: h.cost,
                }
            })
            .collect(),
    })
}

/// The first pattern with a match, its largest match; Err with the reason otherwise.
fn from_patterns(table: &SymbolTable, patterns: &[String]) -> Result<Choice, String> {
    if patterns.is_empty() {
        return Err("no fallback pattern was given".into());
    }
    for p in patterns {
        let re = Regex::new(p).map_err(|e| format!("invalid pattern /{p}/: {e}"))?;
        let best = table
            .functions
            .iter()
            .filter(|f| re.is_match(normalize(&f.name)))
            .max_by(|a, b| a.size.cmp(&b.size).then(b.name.cmp(&a.name)));
        if let Some(f) = best {
            return Ok(Choice {
                function: f.name.clone(),
                address: f.address,
                size: f.size,
                chosen_by: ChosenBy::Pattern,
                cost: None,
                share: None,
                same_name: table.named(&f.name).len(),
                evidence: format!("matched /{p}/ (the largest match)"),
                runners_up: Vec::new(),
            });
        }
    }
    Err(format!("no function matches {}", patterns.join(" | ")))
}

/// Chooses the function that runs an operation: execution first, then the patterns. `Err` says
/// why neither gave an answer.
pub fn choose(table: &SymbolTable, req: &ChooseRequest) -> Result<Choice, String> {
    let why_not = match &req.execution {
        Some(e) => match from_execution(table, e) {
            Ok(c) => return Ok(c),
            Err(why) => why,
        },
        None => "no execution profile".to_string(),
    };
    match from_patterns(table, &req.patterns) {
        Ok(mut c) => {
            c.evidence = format!("{}; {why_not}", c.evidence);
            Ok(c)
        }
        Err(p) => Err(format!("{why_not}; {p}")),
    }
}

/// Human-readable answer of `raptors-asm choose`.
pub fn choice_text(c: &Result<Choice, String>, out: &mut String) {
    use std::fmt::Write as _;
    match c {
        Ok(c) => {
            let _ = writeln!(
                out,
                "{} at {:#x} (size {}), chosen by {}: {}",
                c.function,
                c.address,
                c.size,
                match c.chosen_by {
                    ChosenBy::Execution => "execution",
                    ChosenBy::Pattern => "name pattern",
                },
                c.evidence
            );
            for r in &c.runners_up {
                let _ = writeln!(out, "  then {} ({})", r.function, r.cost);
            }
        }
        Err(why) => {
            let _ = writeln!(out, "no function chosen: {why}");
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::elf::SymSource;

    /// A table of (name, address, size), address-sorted like a real one.
    pub(crate) fn table(funcs: &[(&str, u64, u64)]) -> SymbolTable {
        let mut functions: Vec<Function> = funcs
            .iter()
            .map(|&(name, address, size)| Function {
                name: name.to_string(),
                raw_name: name.to_string(),
                address,
                size,
                end: address + size,
                bounds_source: SymSource::Symtab,
                size_inferred: false,
                section: ".text".into(),
                aliases: Vec::new(),
            })
            .collect();
        functions.sort_by_key(|f| f.address);
        SymbolTable {
            functions,
            stripped: false,
            from_eh_frame: 0,
            warnings: Vec::new(),
        }
    }

    fn numpy_like() -> SymbolTable {
        table(&[
            ("FLOAT_add", 0x1000, 0x100),
            ("FLOAT_add_X86_V3", 0x1100, 0x400),
            ("FLOAT_pairwise_sum", 0x1500, 0x80),
            ("FLOAT_pairwise_sum", 0x1600, 0x90),
            ("DOUBLE_add_X86_V3", 0x1700, 0x400),
        ])
    }

    fn f(name: &str, cost: u64, entry: Option<u64>) -> ExecutedFunction {
        ExecutedFunction {
            name: name.into(),
            cost,
            entry,
        }
    }

    #[test]
    fn hottest_profiled_function_wins() {
        let t = numpy_like();
        let req = ChooseRequest {
            execution: Some(Execution {
                tool: "callgrind".into(),
                functions: vec![
                    f("FLOAT_pairwise_sum'2", 10, None),
                    f("FLOAT_add_X86_V3", 90, None),
                ],
                ..Default::default()
            }),
            patterns: vec!["^FLOAT_add".into()],
        };
        let c = choose(&t, &req).unwrap();
        assert_eq!(
            (c.function.as_str(), c.address),
            ("FLOAT_add_X86_V3", 0x1100)
        );
        assert_eq!(c.chosen_by, ChosenBy::Execution);
        assert_eq!(c.share, Some(0.9));
        assert!(c.evidence.contains("90 %") && c.evidence.contains("callgrind"));
        assert_eq!(c.runners_up[0].function, "FLOAT_pairwise_sum");
    }

    #[test]
    fn same_named_copies_are_told_apart_by_entry_and_bias() {
        let t = numpy_like();
        let bias = 0x7f00_0000_0000;
        let exec = |entry| Execution {
            tool: "callgrind".into(),
            functions: vec![
                f("FLOAT_pairwise_sum", 80, Some(entry)),
                f("FLOAT_add", 20, Some(bias + 0x1000)),
                f("DOUBLE_add_X86_V3", 1, Some(bias + 0x1700)),
            ],
            ..Default::default()
        };
        assert_eq!(
            estimate_load_bias(
                &t,
                &exec(0)
                    .functions
                    .iter()
                    .filter_map(|f| f.entry.map(|e| (f.name.clone(), e)))
                    .collect::<Vec<_>>()
            ),
            Some(bias)
        );
        let req = ChooseRequest {
            execution: Some(exec(bias + 0x1600)),
            patterns: vec![],
        };
        let c = choose(&t, &req).unwrap();
        assert_eq!((c.address, c.same_name), (0x1600, 2));
        assert!(
            c.evidence.contains("the one at 0x1600 ran"),
            "{}",
            c.evidence
        );
        // An entry matching no copy is not guessed at: with no pattern, no choice, and the reason.
        let req = ChooseRequest {
            execution: Some(exec(bias + 0x1650)),
            patterns: vec![],
        };
        let e = choose(&t, &req).unwrap_err();
        assert!(
            e.contains("2 same-named copies") && e.contains("no fallback pattern"),
            "{e}"
        );
    }

    #[test]
    fn executed_addresses_decide_when_given() {
        let t = numpy_like();
        let req = ChooseRequest {
            execution: Some(Execution {
                tool: "qemu-exec".into(),
                // The names say FLOAT_add, the addresses say the second pairwise_sum: addresses win.
                functions: vec![f("FLOAT_add", 1000, None)],
                instructions: vec![
                    (0x40_1610, 700),
                    (0x40_1620, 200),
                    (0x40_1004, 100),
                    (0x9, 5),
                ],
                load_bias: Some(0x40_0000),
            }),
            patterns: vec![],
        };
        let c = choose(&t, &req).unwrap();
        assert_eq!(
            (c.function.as_str(), c.address, c.cost),
            ("FLOAT_pairwise_sum", 0x1600, Some(900))
        );
        assert!((c.share.unwrap() - 900.0 / 1005.0).abs() < 1e-12);
        assert!(c.evidence.contains("qemu-exec") && c.evidence.contains("0x400000"));
        // Addresses without a bias that can be estimated: said so, then the pattern.
        let mut no_bias = req.clone();
        no_bias.execution.as_mut().unwrap().load_bias = None;
        no_bias.patterns = vec!["^DOUBLE_add".into()];
        let c = choose(&t, &no_bias).unwrap();
        assert_eq!(c.chosen_by, ChosenBy::Pattern);
        assert!(c.evidence.contains("no load bias"), "{}", c.evidence);
    }

    #[test]
    fn patterns_are_the_documented_fallback() {
        let t = numpy_like();
        let req = ChooseRequest {
            execution: Some(Execution {
                tool: "callgrind".into(),
                functions: vec![f("not_in_this_library", 5, None)],
                ..Default::default()
            }),
            patterns: vec!["^FLOAT_multiply".into(), "^FLOAT_add(_[A-Z0-9_]+)?$".into()],
        };
        let c = choose(&t, &req).unwrap();
        assert_eq!(
            c.function, "FLOAT_add_X86_V3",
            "the largest match of the first pattern that matches"
        );
        assert_eq!(c.chosen_by, ChosenBy::Pattern);
        assert!(
            c.evidence.contains("not in the symbol table"),
            "{}",
            c.evidence
        );
        let none = ChooseRequest {
            execution: None,
            patterns: vec!["^nothing$".into()],
        };
        assert!(choose(&t, &none)
            .unwrap_err()
            .contains("no function matches ^nothing$"));
        let bad = ChooseRequest {
            execution: None,
            patterns: vec!["(".into()],
        };
        assert!(choose(&t, &bad).unwrap_err().contains("invalid pattern"));
    }

    #[test]
    fn rust_hashes_in_profiler_names_do_not_matter() {
        let t = table(&[(
            "raptors_kernels::arch::x86_64::avx2::sum_f32",
            0x2000,
            0x300,
        )]);
        let req = ChooseRequest {
            execution: Some(Execution {
                tool: "callgrind".into(),
                functions: vec![f(
                    "raptors_kernels::arch::x86_64::avx2::sum_f32::h0123456789abcdef",
                    7,
                    None,
                )],
                ..Default::default()
            }),
            patterns: vec![],
        };
        assert_eq!(choose(&t, &req).unwrap().address, 0x2000);
    }
}
