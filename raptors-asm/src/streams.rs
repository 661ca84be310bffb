//! What one loop iteration consumes: address streams, the arrays they walk, and elements per
//! iteration counted per *input element*.
//!
//! One pass over the loop body in address order follows every general-purpose register as
//! `value at iteration start + constant` through `add/sub #imm`, `lea disp(reg)`, copies and
//! AArch64 write-back; any other write makes it unknown. A memory access then has the address
//! `base₀ + index₀·scale + offset`, which names its **stream** (`base₀`, `index₀`, `scale`) and its
//! offset inside the iteration; the registers' net change over the body gives each stream's
//! **stride**. A stream consumes `min(bytes covered by its accesses, |stride|)` per iteration.
//! Streams whose base pointers share their origins ([`crate::origins`]) walk one **array**; the
//! elements of an array are summed over its streams (two halves `x4`, `x4+16` of one array; the
//! rows of a blocked axis-0 reduction: rows × columns). The loop's `elements_per_iteration` is
//! the largest input array's; an array that is read and written while another array is read is
//! the accumulator/output, not an input. Anything not derivable (a stride held in a register, a
//! pointer loaded inside the body, memory accessed by a nested loop) makes it `None`, with the
//! reason in `elements_basis`.

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
    pub scale: u8,
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

/// Value of a register during the pass: `(root register at iteration start, constant offset)`.
type Val = Option<(u8, i64)>;

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
type Key = (Option<u8>, Option<u8>, u8, u64);

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
    let mut vals: Vec<Val> = (0..64u8).map(|r| Some((r, 0))).collect();
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
            let b = m.base.map(|r| vals[r as usize]);
            let x = m.index.map(|r| vals[r as usize]);
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
                    let key = (m.base, m.index, m.scale, e.addr);
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
                    let (br, bo) = b.flatten().map(|(r, o)| (Some(r), o)).unwrap_or((None, 0));
                    let (xr, xo) = x.flatten().map(|(r, o)| (Some(r), o)).unwrap_or((None, 0));
                    // Wrapping: garbage code must not overflow-panic.
                    let off = bo
                        .wrapping_add(pre)
                        .wrapping_add(xo.wrapping_mul(m.scale as i64))
                        .wrapping_add(m.disp);
                    streams
                        .entry((br, xr, m.scale, 0))
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
                        vals[base as usize].map(|(r, o)| (r, o.wrapping_add(d)))
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
            vals[a.dst as usize] = vals[a.src as usize].map(|(r, o)| (r, o.wrapping_add(a.add)));
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
                Some((root, o)) if root == r => Some(o),
                _ => None,
            },
        }
    };
    // Origins of each root register at loop entry.
    let mut entry_state = None;
    origins.walk(effs, lo, lo + 1, |_, s| entry_state = Some(s.clone()));
    let mut out = StreamAnalysis::default();
    let mut group_of: Vec<(Vec<u32>, usize)> = Vec::new();
    let mut arrays: Vec<(Vec<usize>, Vec<u32>)> = Vec::new();
    for (&(br, xr, scale, indirect_at), acc) in &streams {
        let stride_bytes = if acc.indirect {
            None
        } else {
            match (stride(br), stride(xr)) {
                (Some(b), Some(x)) => Some(b.wrapping_add(x.wrapping_mul(scale as i64))),
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
    let (value, basis) = elements(&out, nested_memory);
    out.elements_per_iteration = value;
    out.basis = basis;
    out
}

/// The loop's elements per iteration from its arrays, and the sentence saying how.
fn elements(a: &StreamAnalysis, nested_memory: bool) -> (Option<f64>, String) {
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
    if let Some((i, _)) = arrays
        .iter()
        .find(|(_, x)| x.elements_per_iteration.is_none())
    {
        let s = a
            .streams
            .iter()
            .find(|s| s.array == *i && s.elements_per_iteration.is_none());
        let name = s
            .map(|s| {
                let mut n = s.base.clone().unwrap_or_default();
                if let Some(x) = &s.index {
                    n = format!("{n}+{x}*{}", s.scale);
                }
                n
            })
            .unwrap_or_default();
        return (
            None,
            format!("unknown: stream {name} does not advance by a constant per iteration"),
        );
    }
    let (best, x) = arrays
        .iter()
        .max_by(|p, q| {
            p.1.elements_per_iteration
                .partial_cmp(&q.1.elements_per_iteration)
                .unwrap_or(std::cmp::Ordering::Equal)
        })
        .copied()
        .expect("non-empty");
    let e = x.elements_per_iteration.unwrap_or(0.0);
    let per: Vec<String> = a
        .streams
        .iter()
        .filter(|s| s.array == best)
        .map(|s| format!("{}", s.elements_per_iteration.unwrap_or(0.0)))
        .collect();
    let n = arrays.len();
    (
        Some(e),
        format!(
            "{what} array {best} ({} stream{}: {}) = {e} elements; {n} {what} arra{}",
            per.len(),
            if per.len() == 1 { "" } else { "s" },
            per.join(" + "),
            if n == 1 { "y" } else { "ys" }
        ),
    )
}
