//! Pointer lineage: a forward data-flow pass over a function's control-flow graph that labels
//! every register (and 8-byte stack slot) with the set of *origins* of the pointer it may hold —
//! an argument register's value at entry, a load from non-stack memory (each destination of each
//! load instruction is its own origin), a stack slot never written in the function, or a call's
//! result. A copy, `+ constant`, `pointer + integer` (either order: the first source that has a
//! lineage) keeps it; a select (`csel`, `cmov`) unions its sources; integer-only results
//! (multiply, shift, `p & 31`, extension) have none; spills and reloads go through the stack
//! slots; control-flow joins union.
//!
//! The loop analysis uses it to decide which address streams walk the *same array*: NumPy's
//! `ldp x12, x4, [x0]` loads two different array pointers (two origins), while the eight row
//! pointers of a blocked axis-0 reduction are all computed from the same argument (same set),
//! even when the compiler builds them in vector registers and reloads them from the stack.

use std::collections::BTreeMap;

use crate::effects::{call_clobbers, reg_name, Effect, Lineage, Mem, Writeback, MEM_SRC};
use crate::elf::Arch;
use crate::insn::Flow;

/// A set of origins (sorted, deduplicated).
pub type Set = Vec<u32>;

const LOAD: u32 = 1 << 28;
const STACK: u32 = 2 << 28;
const CALL: u32 = 3 << 28;
const KIND: u32 = 0xf << 28;

fn union_into(into: &mut Set, from: &[u32]) -> bool {
    if from.iter().all(|x| into.binary_search(x).is_ok()) {
        return false;
    }
    let mut v = Vec::with_capacity(into.len() + from.len());
    let (mut i, mut j) = (0, 0);
    while i < into.len() || j < from.len() {
        let next = match (into.get(i), from.get(j)) {
            (Some(&a), Some(&b)) if a == b => {
                i += 1;
                j += 1;
                a
            }
            (Some(&a), Some(&b)) if a < b => {
                i += 1;
                a
            }
            (Some(_), Some(&b)) => {
                j += 1;
                b
            }
            (Some(&a), None) => {
                i += 1;
                a
            }
            (None, Some(&b)) => {
                j += 1;
                b
            }
            (None, None) => unreachable!(),
        };
        v.push(next);
    }
    *into = v;
    true
}

/// Origins of every tracked register and stack slot at one program point.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    pub regs: Vec<Set>,
    pub stack: BTreeMap<i64, Set>,
    /// Registers known to hold `sp + offset` (the stack pointer itself: 0).
    sp: Vec<Option<i64>>,
}

impl State {
    fn entry(arch: Arch) -> State {
        let mut sp = vec![None; 64];
        sp[match arch {
            Arch::X86_64 => crate::effects::X86_RSP,
            Arch::Aarch64 => crate::effects::A64_SP,
        } as usize] = Some(0);
        State {
            regs: (0..64u32).map(|r| vec![r]).collect(),
            stack: BTreeMap::new(),
            sp,
        }
    }

    fn join(&mut self, o: &State) -> bool {
        let mut changed = false;
        for (a, b) in self.regs.iter_mut().zip(&o.regs) {
            changed |= union_into(a, b);
        }
        for (a, b) in self.sp.iter_mut().zip(&o.sp) {
            if *a != *b && a.is_some() {
                *a = None;
                changed = true;
            }
        }
        for (k, v) in &o.stack {
            match self.stack.get_mut(k) {
                Some(s) => changed |= union_into(s, v),
                None => {
                    self.stack.insert(*k, v.clone());
                    changed = true;
                }
            }
        }
        changed
    }

    fn slot(&self, k: i64) -> Set {
        self.stack
            .get(&k)
            .cloned()
            .unwrap_or_else(|| vec![STACK | (k as u32 & !KIND)])
    }

    /// Stack slot address of a memory operand: `sp`-relative, or through a register known to
    /// hold `sp + constant` (`lea -0x58(%rsp),%rcx` then `vpmaskmovq …,(%rcx)`).
    fn stack_at(&self, arch: Arch, m: &Mem) -> Option<i64> {
        if m.is_stack(arch) {
            return Some(m.disp);
        }
        let b = m.base?;
        if m.index.is_some() {
            return None;
        }
        self.sp[b as usize].map(|o| o.wrapping_add(m.disp))
    }

    /// Applies one instruction (index `i` in the function) to the state.
    pub fn step(&mut self, arch: Arch, i: usize, e: &Effect) {
        let mut writes = e.writes;
        let mut loaded: Vec<(u8, Set)> = Vec::new();
        let mut mem_value: Set = Vec::new();
        if let Some(m) = e.mem {
            // A write-back adds a constant: the base keeps its lineage.
            if let Some(b) = m.base {
                if matches!(m.writeback, Writeback::Pre(_) | Writeback::Post(_)) {
                    writes &= !(1 << b);
                }
            }
            let slot_at = self.stack_at(arch, &m);
            if m.read {
                let dests: Vec<u8> = match e.pair {
                    Some((a, b)) => vec![a, b],
                    None => bits(writes).collect(),
                };
                let per = if e.pair.is_some() {
                    m.bytes.max(2) / 2
                } else {
                    m.bytes
                };
                for (k, d) in dests.iter().enumerate() {
                    let v = match slot_at {
                        Some(at) => {
                            let mut v = Vec::new();
                            for slot in slots(at.wrapping_add(k as i64 * per as i64), per) {
                                union_into(&mut v, &self.slot(slot));
                            }
                            v
                        }
                        None if m.pc_rel => Vec::new(),
                        None => vec![LOAD | ((i as u32) << 2 | k as u32 & 3)],
                    };
                    if k == 0 {
                        mem_value = v.clone();
                    }
                    if e.pair.is_some() {
                        loaded.push((*d, v));
                    }
                }
            }
            if m.write {
                if let Some(at) = slot_at {
                    match e.pair {
                        Some((a, b)) => {
                            let per = m.bytes.max(2) / 2;
                            for (k, r) in [a, b].into_iter().enumerate() {
                                let v = self.regs[r as usize].clone();
                                for slot in slots(at.wrapping_add(k as i64 * per as i64), per) {
                                    self.stack.insert(slot, v.clone());
                                }
                            }
                        }
                        None => {
                            let v = self.lineage(e, &mem_value);
                            for slot in slots(at, m.bytes) {
                                self.stack.insert(slot, v.clone());
                            }
                        }
                    }
                }
            }
        }
        let value = self.lineage(e, &mem_value);
        for (d, v) in loaded {
            self.regs[d as usize] = v;
            self.sp[d as usize] = None;
            writes &= !(1 << d);
        }
        if let Some(a) = e.affine.filter(|a| a.mul == 1) {
            self.regs[a.dst as usize] = self.regs[a.src as usize].clone();
            self.sp[a.dst as usize] = self.sp[a.src as usize].map(|o| o.wrapping_add(a.add));
            writes &= !(1 << a.dst);
        }
        let sp = self.sp_reg(arch);
        for w in bits(writes) {
            self.regs[w as usize] = value.clone();
            if w != sp {
                self.sp[w as usize] = None;
            }
        }
        if matches!(e.flow, Flow::Call | Flow::IndirectCall) {
            for r in bits(call_clobbers(arch)) {
                self.regs[r as usize] = vec![CALL | i as u32];
                self.sp[r as usize] = None;
            }
        }
    }

    fn sp_reg(&self, arch: Arch) -> u8 {
        match arch {
            Arch::X86_64 => crate::effects::X86_RSP,
            Arch::Aarch64 => crate::effects::A64_SP,
        }
    }

    /// Lineage of the value an instruction computes (see [`Lineage`]).
    fn lineage(&self, e: &Effect, mem_value: &Set) -> Set {
        let of = |r: u8| -> &[u32] {
            if r == MEM_SRC {
                mem_value
            } else {
                &self.regs[r as usize]
            }
        };
        match e.lineage {
            Lineage::Drop => Vec::new(),
            Lineage::First => e
                .sources()
                .iter()
                .map(|&r| of(r))
                .find(|l| !l.is_empty())
                .map(|l| l.to_vec())
                .unwrap_or_default(),
            Lineage::Union => {
                let mut v = Vec::new();
                for &r in e.sources() {
                    union_into(&mut v, of(r));
                }
                v
            }
        }
    }
}

/// 8-byte stack slots covered by `[disp, disp + bytes)`.
fn slots(disp: i64, bytes: u32) -> impl Iterator<Item = i64> {
    let lo = disp.div_euclid(8).saturating_mul(8);
    let hi = disp.saturating_add(bytes.max(1) as i64);
    (lo..hi).step_by(8)
}

/// Set bits of a register mask.
pub fn bits(m: u64) -> impl Iterator<Item = u8> {
    (0..64u8).filter(move |b| m & (1 << b) != 0)
}

/// Fixed point of [`State::step`] over a function's control-flow graph.
pub struct Origins {
    arch: Arch,
    /// Index of each block's first instruction, ascending.
    starts: Vec<usize>,
    /// State on entry to each block (None: unreachable from the function entry).
    entry: Vec<Option<State>>,
}

impl Origins {
    /// Runs the analysis over `effs` (one function, in address order).
    pub fn analyse(arch: Arch, effs: &[Effect]) -> Origins {
        let n = effs.len();
        let index_of = |a: u64| effs.binary_search_by_key(&a, |e| e.addr).ok();
        let mut leader = vec![false; n];
        if n > 0 {
            leader[0] = true;
        }
        for (k, e) in effs.iter().enumerate() {
            if e.flow != Flow::Next && !matches!(e.flow, Flow::Call | Flow::IndirectCall) {
                if k + 1 < n {
                    leader[k + 1] = true;
                }
                if let Some(t) = index_of(e.target).filter(|_| e.target != 0) {
                    leader[t] = true;
                }
            }
        }
        let starts: Vec<usize> = (0..n).filter(|&k| leader[k]).collect();
        let block_of = |k: usize| starts.partition_point(|&s| s <= k) - 1;
        let mut entry: Vec<Option<State>> = vec![None; starts.len()];
        if starts.is_empty() {
            return Origins {
                arch,
                starts,
                entry,
            };
        }
        entry[0] = Some(State::entry(arch));
        let mut work = vec![0usize];
        let mut queued = vec![false; starts.len()];
        queued[0] = true;
        while let Some(b) = work.pop() {
            queued[b] = false;
            let Some(mut st) = entry[b].clone() else {
                continue;
            };
            let end = starts.get(b + 1).copied().unwrap_or(n);
            for (k, e) in effs.iter().enumerate().take(end).skip(starts[b]) {
                st.step(arch, k, e);
            }
            let last = &effs[end - 1];
            let mut succ = Vec::new();
            let falls = !matches!(
                last.flow,
                Flow::Jump | Flow::IndirectJump | Flow::Return | Flow::Other
            );
            if falls && end < n {
                succ.push(block_of(end));
            }
            if matches!(last.flow, Flow::Jump | Flow::CondJump) {
                if let Some(t) = index_of(last.target) {
                    succ.push(block_of(t));
                }
            }
            for s in succ {
                let changed = match &mut entry[s] {
                    Some(e) => e.join(&st),
                    None => {
                        entry[s] = Some(st.clone());
                        true
                    }
                };
                if changed && !queued[s] {
                    queued[s] = true;
                    work.push(s);
                }
            }
        }
        Origins {
            arch,
            starts,
            entry,
        }
    }

    /// Calls `f(k, state before instruction k)` for `k` in `from..to`, running straight through
    /// from the state on entry to the block that contains `from` (branches inside are ignored:
    /// one pass over the range in address order, as for one loop iteration).
    pub fn walk(&self, effs: &[Effect], from: usize, to: usize, mut f: impl FnMut(usize, &State)) {
        if self.starts.is_empty() || from >= effs.len() {
            return;
        }
        let b = self.starts.partition_point(|&s| s <= from) - 1;
        let Some(mut st) = self.entry[b].clone() else {
            return;
        };
        for (k, e) in effs
            .iter()
            .enumerate()
            .take(to.min(effs.len()))
            .skip(self.starts[b])
        {
            if k >= from {
                f(k, &st);
            }
            st.step(self.arch, k, e);
        }
    }
}

/// Human-readable origin, e.g. `entry rdi`, `load@0x2fa464`, `stack-0x78`, `call@0x…`.
pub fn describe(arch: Arch, o: u32, effs: &[Effect]) -> String {
    let at = |i: usize| effs.get(i).map(|e| e.addr).unwrap_or(0);
    match o & KIND {
        0 => format!("entry {}", reg_name(arch, o as u8)),
        LOAD => {
            let i = ((o & !KIND) >> 2) as usize;
            let k = o & 3;
            if k == 0 {
                format!("load@{:#x}", at(i))
            } else {
                format!("load@{:#x}#{k}", at(i))
            }
        }
        STACK => {
            // Sign-extend the 28-bit slot offset.
            let v = (((o & !KIND) << 4) as i32) >> 4;
            format!("stack{v:+#x}")
        }
        _ => format!("call@{:#x}", at((o & !KIND) as usize)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn union_is_sorted_and_reports_change() {
        let mut a = vec![1, 5, 9];
        assert!(union_into(&mut a, &[2, 5, 10]));
        assert_eq!(a, vec![1, 2, 5, 9, 10]);
        assert!(!union_into(&mut a, &[5, 9]));
    }

    #[test]
    fn pair_loads_get_distinct_origins_and_copies_keep_theirs() {
        // ldp x12, x4, [x0]; add x7, x4, #0x10; ldr q0, [x7]
        let code: Vec<u8> = [0xa940100cu32, 0x91004087, 0x3dc000e0]
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .collect();
        let effs = crate::effects::effects(Arch::Aarch64, &code, 0);
        let o = Origins::analyse(Arch::Aarch64, &effs);
        let mut seen = Vec::new();
        o.walk(&effs, 0, 3, |_, s| seen.push(s.clone()));
        let after = &seen[2];
        assert_ne!(after.regs[12], after.regs[4]);
        assert_eq!(after.regs[7], after.regs[4]);
        assert_eq!(
            describe(Arch::Aarch64, after.regs[4][0], &effs),
            "load@0x0#1"
        );
    }
}
