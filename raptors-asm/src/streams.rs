//! What one loop iteration consumes: address streams, the arrays they walk, and elements per
//! iteration counted per *input element*.
//!
//! One pass over the loop body in address order follows every general-purpose register as
//! `value at iteration start · multiplier + constant` through `add/sub #imm`, `lea disp(reg)`,
//! copies, left shifts by a constant (an index scaled to bytes) and AArch64 write-back; any
//! other write makes it unknown. A memory access then has the address
//! `base₀ + index₀·scale + offset`, which names its **stream** (`base₀`, `index₀`, `scale`) and its
//! offset inside the iteration; the registers' net change over the body gives each stream's
//! **stride**. A stream consumes `min(bytes covered by its accesses, |stride|)` per iteration.
//! Streams whose base pointers share their origins ([`crate::origins`]) walk one **array**; the
//! elements of an array are summed over its streams (two halves `x4`, `x4+16` of one array; the
//! rows of a blocked axis-0 reduction: rows × columns). The loop's `elements_per_iteration` is
//! the largest input array's; an array that is read and written while another array is read is
//! the accumulator/output, not an input.
//!
//! A stride held in a register (NumPy's strided and pairwise loops) is not a constant, but such a
//! loop usually counts its elements in a separate **counter**: a register that advances by a
//! constant, forms no address and is what the exit test reads against an unchanging bound
//! (`add $8,%rdx; …; cmp %r13,%rdx; jl`). When the array's streams access exactly as many distinct
//! elements per iteration as the counter's step, that is the count; when they disagree the
//! count stays unknown and the reason names both. Anything else not derivable (a pointer loaded
//! inside the body, memory accessed by a nested loop) makes it `None`, with the reason in
//! `elements_basis`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::effects::{reg_name, Effect, Writeback};
use crate::elf::Arch;
use crate::insn::Insn;
use crate::origins::{bits, describe, Origins};

/// One address stream of a loop.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stream {
    /// Base register at iteration start (`None`: absolute address or index only).
    pub base: Option<String>,
    pub index: Option<String>,
    pub scale: i64,
    /// Bytes the address advances per iteration; `None` when not a constant (a stride held in
    /// a register, a pointer loaded or computed inside the body).
    pub stride_bytes: Option<i64>,
    pub accesses: u64,
    /// Distinct bytes read / written per iteration (union of the accessed ranges, capped at
    /// `|stride|` so overlapping windows are not counted twice).
    pub read_bytes: u64,
    pub written_bytes: u64,
    /// Element width used to count elements (most common among the accesses).
    pub element_bits: u16,
    /// `read_bytes / element size` (written bytes for a store-only stream); `None` if the stride
    /// is unknown.
    pub elements_per_iteration: Option<f64>,
    /// Index into the loop's `arrays`.
    pub array: usize,
}

/// What an array does in the loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Read only (or read and written when nothing else is read: an in-place update).
    Input,
    /// Written only.
    Output,
    /// Read and written while another array is read (`out[j] += …`).
    Accumulator,
    /// Same address every iteration (stride 0): a scalar operand or a spill.
    Invariant,
}

/// Streams grouped by array.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ArrayStreams {
    pub role: Role,
    pub streams: usize,
    /// Sum over its streams; `None` if any stream's is unknown.
    pub elements_per_iteration: Option<f64>,
    /// Where its base pointer comes from (`entry rdi`, `load@0x…`, …), see `origins`.
    pub origin: Vec<String>,
}

/// Result for one loop.
#[derive(Debug, Clone, Default)]
pub struct StreamAnalysis {
    pub streams: Vec<Stream>,
    pub arrays: Vec<ArrayStreams>,
    pub elements_per_iteration: Option<f64>,
    /// How `elements_per_iteration` was derived, or why it is unknown.
    pub basis: String,
}

/// Value of a register during the pass: `(root register at iteration start, multiplier,
/// constant offset)`, i.e. `root₀ · mul + offset` (`mul` ≠ 1 after a shift: an index scaled to
/// bytes).
type Val = Option<(u8, i64, i64)>;

struct Access {
    off: i64,
    bytes: u32,
    read: bool,
    write: bool,
    elem_bits: u16,
}

#[derive(Default)]
struct Acc {
    accesses: Vec<Access>,
    /// Unknown base (pointer loaded/computed in the body): stride cannot be derived.
    indirect: bool,
}

/// Stream key: (base root, index root, scale, indirect-instruction address).
type Key = (Option<u8>, Option<u8>, i64, u64);

/// A decoded function: per-instruction effects and facts (same order) and its pointer lineage.
pub struct FunctionCode<'a> {
    pub arch: Arch,
    pub effs: &'a [Effect],
    pub insns: &'a [Insn],
    pub origins: &'a Origins,
}

/// Analyses the loop `[lo, hi)` (indices into `code.effs`/`code.insns`); `nested(addr)` tells
/// whether an address lies in a loop nested in this one; `loop_element_bits` is the element
/// width of the loop's vector operations (for accesses that do not name one, like `ldr q0`).
pub fn analyse(
    code: &FunctionCode<'_>,
    lo: usize,
    hi: usize,
    nested: &dyn Fn(u64) -> bool,
    loop_element_bits: u16,
) -> StreamAnalysis {
    let (arch, effs, insns, origins) = (code.arch, code.effs, code.insns, code.origins);
    let mut vals: Vec<Val> = (0..64u8).map(|r| Some((r, 1, 0))).collect();
    // Roots of registers used to form an address: pointers and indices, never a pure counter.
    let mut address_roots: u64 = 0;
    let mut streams: BTreeMap<Key, Acc> = BTreeMap::new();
    let mut nested_memory = false;
    for (k, e) in effs.iter().enumerate().take(hi).skip(lo) {
        if nested(e.addr) {
            for w in bits(e.writes) {
                vals[w as usize] = None;
            }
            if e.mem.is_some_and(|m| !m.pc_rel && !m.is_stack(arch)) {
                nested_memory = true;
            }
            continue;
        }
        let mut wb_base = None;
        if let Some(m) = e.mem.filter(|m| !m.pc_rel && !m.is_stack(arch)) {
            let pre = match m.writeback {
                Writeback::Pre(d) => d,
                _ => 0,
            };
            // A scaled base is not a pointer walk this pass can follow.
            let b = m
                .base
                .map(|r| vals[r as usize].filter(|&(_, mul, _)| mul == 1));
            let x = m.index.map(|r| vals[r as usize]);
            for (root, _, _) in [b.flatten(), x.flatten()].into_iter().flatten() {
                address_roots |= 1 << root;
            }
            // Element width: the decoder's (`.4s`, `ps`, `ss`); a general-purpose access is its
            // own element; a vector access without one (`ldr q0`) takes the loop's.
            let elem = match insns.get(k) {
                Some(i) if i.elem_bits > 0 => i.elem_bits,
                Some(i) if !i.simd && m.bytes <= 8 => (m.bytes * 8) as u16,
                _ => 0,
            };
            let bytes = m.bytes;
            let access = |off| Access {
                off,
                bytes,
                read: m.read,
                write: m.write,
                elem_bits: elem,
            };
            match (b, x) {
                (Some(None), _) | (_, Some(None)) => {
                    let key = (m.base, m.index, m.scale as i64, e.addr);
                    let a = streams.entry(key).or_default();
                    a.indirect = true;
                    a.accesses.push(access(m.disp));
                }
                _ if m.vector_index => {
                    let a = streams.entry((m.base, None, 0, e.addr)).or_default();
                    a.indirect = true;
                    a.accesses.push(access(m.disp));
                }
                (b, x) => {
                    let (br, bo) = b
                        .flatten()
                        .map(|(r, _, o)| (Some(r), o))
                        .unwrap_or((None, 0));
                    let (xr, xm, xo) = x
                        .flatten()
                        .map(|(r, mul, o)| (Some(r), mul, o))
                        .unwrap_or((None, 1, 0));
                    // Wrapping: garbage code must not overflow-panic.
                    let off = bo
                        .wrapping_add(pre)
                        .wrapping_add(xo.wrapping_mul(m.scale as i64))
                        .wrapping_add(m.disp);
                    streams
                        .entry((br, xr, (m.scale as i64).wrapping_mul(xm), 0))
                        .or_default()
                        .accesses
                        .push(access(off));
                }
            }
            if let Some(base) = m.base {
                wb_base = Some(base);
                vals[base as usize] = match m.writeback {
                    Writeback::None => vals[base as usize],
                    Writeback::Pre(d) | Writeback::Post(d) => {
                        vals[base as usize].map(|(r, mul, o)| (r, mul, o.wrapping_add(d)))
                    }
                    Writeback::PostReg => None,
                };
            }
        }
        let mut writes = e.writes;
        if let Some(b) = wb_base {
            writes &= !(1 << b);
        }
        if let Some(a) = e.affine {
            vals[a.dst as usize] = vals[a.src as usize].map(|(r, mul, o)| {
                (
                    r,
                    mul.wrapping_mul(a.mul),
                    o.wrapping_mul(a.mul).wrapping_add(a.add),
                )
            });
            writes &= !(1 << a.dst);
        }
        for w in bits(writes) {
            vals[w as usize] = None;
        }
    }
    let stride = |r: Option<u8>| -> Option<i64> {
        match r {
            None => Some(0),
            Some(r) => match vals[r as usize] {
                Some((root, 1, o)) if root == r => Some(o),
                _ => None,
            },
        }
    };
    // Origins of each root register at loop entry.
    let mut entry_state = None;
    origins.walk(effs, lo, lo + 1, |_, s| entry_state = Some(s.clone()));
    let mut out = StreamAnalysis::default();
    let mut indirect: Vec<bool> = Vec::new();
    let mut group_of: Vec<(Vec<u32>, usize)> = Vec::new();
    let mut arrays: Vec<(Vec<usize>, Vec<u32>)> = Vec::new();
    for (&(br, xr, scale, indirect_at), acc) in &streams {
        let stride_bytes = if acc.indirect {
            None
        } else {
            match (stride(br), stride(xr)) {
                (Some(b), Some(x)) => Some(b.wrapping_add(x.wrapping_mul(scale))),
                _ => None,
            }
        };
        let span = |pick: &dyn Fn(&Access) -> bool| -> u64 {
            let mut iv: Vec<(i128, i128)> = acc
                .accesses
                .iter()
                .filter(|a| pick(a))
                .map(|a| (a.off as i128, a.off as i128 + a.bytes as i128))
                .collect();
            iv.sort();
            let mut total = 0i128;
            let mut cur: Option<(i128, i128)> = None;
            for (a, b) in iv {
                cur = match cur {
                    Some((s, e)) if a <= e => Some((s, e.max(b))),
                    Some((s, e)) => {
                        total += e - s;
                        Some((a, b))
                    }
                    None => Some((a, b)),
                };
            }
            if let Some((s, e)) = cur {
                total += e - s;
            }
            let cap = stride_bytes.map(|s| s.unsigned_abs()).unwrap_or(u64::MAX);
            (total.min(u64::MAX as i128) as u64).min(cap)
        };
        let read_bytes = span(&|a| a.read);
        let written_bytes = span(&|a| a.write);
        let mut votes: BTreeMap<u16, usize> = BTreeMap::new();
        for a in acc.accesses.iter().filter(|a| a.elem_bits > 0) {
            *votes.entry(a.elem_bits).or_default() += 1;
        }
        let mut element_bits = votes
            .iter()
            .max_by_key(|(b, n)| (**n, **b))
            .map(|(b, _)| *b)
            .unwrap_or(0);
        if element_bits == 0 {
            element_bits = loop_element_bits;
        }
        let counted = if read_bytes > 0 {
            read_bytes
        } else {
            written_bytes
        };
        let elements_per_iteration = match stride_bytes {
            Some(_) if element_bits >= 8 => Some(counted as f64 / (element_bits as f64 / 8.0)),
            _ => None,
        };
        // Array identity: the origins of the base pointer (index register if there is none).
        let root = br.or(xr);
        let key: Vec<u32> = match (root, &entry_state, indirect_at) {
            (Some(r), Some(s), 0) => s.regs[r as usize].clone(),
            _ => vec![u32::MAX - out.streams.len() as u32],
        };
        let array = match group_of.iter().find(|(k, _)| *k == key) {
            Some((_, g)) => *g,
            None => {
                group_of.push((key.clone(), arrays.len()));
                arrays.push((Vec::new(), key));
                arrays.len() - 1
            }
        };
        arrays[array].0.push(out.streams.len());
        indirect.push(acc.indirect);
        out.streams.push(Stream {
            base: br.map(|r| reg_name(arch, r)),
            index: xr.map(|r| reg_name(arch, r)),
            scale,
            stride_bytes,
            accesses: acc.accesses.len() as u64,
            read_bytes,
            written_bytes,
            element_bits,
            elements_per_iteration,
            array,
        });
    }
    let any_read = |ids: &[usize]| ids.iter().any(|&i| out.streams[i].read_bytes > 0);
    let any_write = |ids: &[usize]| ids.iter().any(|&i| out.streams[i].written_bytes > 0);
    let invariant = |ids: &[usize]| ids.iter().all(|&i| out.streams[i].stride_bytes == Some(0));
    let read_only_exists = arrays
        .iter()
        .any(|(ids, _)| any_read(ids) && !any_write(ids) && !invariant(ids));
    for (ids, key) in &arrays {
        let role = if invariant(ids) {
            Role::Invariant
        } else if any_read(ids) && any_write(ids) {
            if read_only_exists {
                Role::Accumulator
            } else {
                Role::Input
            }
        } else if any_read(ids) {
            Role::Input
        } else {
            Role::Output
        };
        let mut sum = Some(0.0);
        for &i in ids {
            sum = match (sum, out.streams[i].elements_per_iteration) {
                (Some(a), Some(b)) => Some(a + b),
                _ => None,
            };
        }
        out.arrays.push(ArrayStreams {
            role,
            streams: ids.len(),
            elements_per_iteration: sum,
            origin: key
                .iter()
                .filter(|&&o| o < u32::MAX - 4096)
                .map(|&o| describe(arch, o, effs))
                .collect(),
        });
    }
    // Arrays walked at a register stride: counted by the loop counter where it counts them.
    let counter = loop_counter(arch, &effs[lo..hi], &vals, address_roots);
    let mut counted: Vec<Result<Option<String>, String>> = Vec::new();
    for i in 0..out.arrays.len() {
        counted.push(match out.arrays[i].elements_per_iteration {
            Some(_) => Ok(None),
            None => counted_by(&out, i, &indirect, counter.as_ref()).map(|(e, how)| {
                out.arrays[i].elements_per_iteration = Some(e);
                Some(how)
            }),
        });
    }
    let (value, basis) = elements(&out, nested_memory, &counted);
    out.elements_per_iteration = value;
    out.basis = basis;
    out
}

/// A register that only counts iterations: it advances by a constant `step`, forms no
/// address, and is what the loop's exit test reads (against a bound that does not change).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Counter {
    reg: String,
    step: i64,
}

/// The loop's iteration counter, if its exit test reads one. The test is the back-edge itself
/// when it reads registers (`cbnz x2`), else the last instruction before it that is not a
/// register copy (`cmp x4, x2`, `sub $8, %rdx`, `subs x2, x2, #8`).
fn loop_counter(arch: Arch, body: &[Effect], vals: &[Val], address_roots: u64) -> Option<Counter> {
    let (branch, rest) = body.split_last()?;
    let copy = |e: &Effect| {
        e.affine
            .is_some_and(|a| a.dst != a.src && a.mul == 1 && a.add == 0)
    };
    let test = if branch.reads != 0 {
        branch
    } else {
        rest.iter().rev().find(|e| !copy(e))?
    };
    let mut regs = test.reads;
    if let Some(a) = test.affine {
        regs |= 1 << a.dst;
    }
    let step_of = |r: u8| match vals[r as usize] {
        Some((root, 1, k)) if root == r && address_roots & (1 << r) == 0 => Some(k),
        _ => None,
    };
    let invariant = |r: u8| vals[r as usize] == Some((r, 1, 0));
    let mut counter = None;
    for r in bits(regs) {
        match step_of(r) {
            Some(k) if k != 0 => {
                if counter.is_some() {
                    return None; // two counters: which one counts elements is not clear
                }
                counter = Some(Counter {
                    reg: reg_name(arch, r),
                    step: k,
                });
            }
            _ if invariant(r) => {}
            _ => return None, // the bound changes inside the loop
        }
    }
    counter
}

/// Elements one iteration reads (written, for an output) from array `i`, counted by the loop
/// counter when its streams advance by a register: each stream's distinct accessed elements,
/// summed, must equal the counter's step (else it is not an element counter, and the count stays
/// unknown).
fn counted_by(
    a: &StreamAnalysis,
    i: usize,
    indirect: &[bool],
    counter: Option<&Counter>,
) -> Result<(f64, String), String> {
    let ids: Vec<usize> = (0..a.streams.len())
        .filter(|&k| a.streams[k].array == i)
        .collect();
    let unknown = ids
        .iter()
        .find(|&&k| a.streams[k].elements_per_iteration.is_none())
        .map(|&k| stream_name(&a.streams[k]))
        .unwrap_or_default();
    let no_constant =
        format!("unknown: stream {unknown} does not advance by a constant per iteration");
    let Some(c) = counter else {
        return Err(no_constant);
    };
    if ids
        .iter()
        .any(|&k| indirect[k] || a.streams[k].element_bits < 8)
    {
        return Err(no_constant);
    }
    let accessed: u64 = ids
        .iter()
        .map(|&k| {
            let s = &a.streams[k];
            let bytes = if s.read_bytes > 0 {
                s.read_bytes
            } else {
                s.written_bytes
            };
            bytes / (s.element_bits as u64 / 8)
        })
        .sum();
    if accessed != c.step.unsigned_abs() {
        return Err(format!(
            "{no_constant}, and its {} streams access {accessed} elements while the loop counter {} steps by {}",
            ids.len(),
            c.reg,
            c.step
        ));
    }
    Ok((
        accessed as f64,
        format!(
            "{} stream{} at a register stride access {accessed} distinct elements, as many as the loop counter {} ({:+} per iteration) counts",
            ids.len(),
            if ids.len() == 1 { "" } else { "s" },
            c.reg,
            c.step
        ),
    ))
}

fn stream_name(s: &Stream) -> String {
    let mut n = s.base.clone().unwrap_or_default();
    if let Some(x) = &s.index {
        n = format!("{n}+{x}*{}", s.scale);
    }
    n
}

/// The loop's elements per iteration from its arrays, and the sentence saying how.
/// `counted[i]`: how array `i`'s count came from the loop counter (`Ok(Some)`), from its strides
/// (`Ok(None)`), or why it is unknown (`Err`).
fn elements(
    a: &StreamAnalysis,
    nested_memory: bool,
    counted: &[Result<Option<String>, String>],
) -> (Option<f64>, String) {
    if nested_memory {
        return (
            None,
            "unknown: a nested loop accesses memory (see the inner loop)".into(),
        );
    }
    let pick = |role: Role| -> Vec<(usize, &ArrayStreams)> {
        a.arrays
            .iter()
            .enumerate()
            .filter(|(_, x)| x.role == role)
            .collect()
    };
    let mut arrays = pick(Role::Input);
    let what = if arrays.is_empty() {
        arrays = pick(Role::Output);
        "output"
    } else {
        "input"
    };
    if arrays.is_empty() {
        return (None, "unknown: no array is read or written".into());
    }
    // Each array's elements: from its strides, or counted by the loop counter.
    let mut counts: Vec<(usize, f64, Option<String>)> = Vec::new();
    for &(i, x) in &arrays {
        match (&counted[i], x.elements_per_iteration) {
            (Err(why), _) => return (None, why.clone()),
            (Ok(how), Some(e)) => counts.push((i, e, how.clone())),
            (Ok(_), None) => return (None, "unknown: an array's count is missing".into()),
        }
    }
    let (best, e, how) = counts
        .iter()
        .max_by(|p, q| p.1.partial_cmp(&q.1).unwrap_or(std::cmp::Ordering::Equal))
        .cloned()
        .expect("non-empty");
    let n = arrays.len();
    let arrays_word = if n == 1 { "y" } else { "ys" };
    if let Some(how) = how {
        return (
            Some(e),
            format!("{what} array {best}: {how} = {e} elements; {n} {what} arra{arrays_word}"),
        );
    }
    let per: Vec<String> = a
        .streams
        .iter()
        .filter(|s| s.array == best)
        .map(|s| format!("{}", s.elements_per_iteration.unwrap_or(0.0)))
        .collect();
    (
        Some(e),
        format!(
            "{what} array {best} ({} stream{}: {}) = {e} elements; {n} {what} arra{arrays_word}",
            per.len(),
            if per.len() == 1 { "" } else { "s" },
            per.join(" + "),
        ),
    )
}
