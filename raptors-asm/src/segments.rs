//! Loadable segments (`PT_LOAD` program headers): how the loader maps file bytes to virtual
//! addresses. A sampling profiler such as perf reports *file offsets* of sampled instructions
//! (sample ip − mapping start + mapping offset), which do not depend on where the library was
//! loaded; the symbol table speaks in *virtual addresses*. The segments translate one into the
//! other, so samples can be handed to [`crate::choose`] with a load bias of 0.

use serde::{Deserialize, Serialize};

use crate::elf::ElfFile;

const PT_LOAD: u32 = 1;
const PF_X: u32 = 1;

/// One `PT_LOAD` segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadSegment {
    /// File offset of the segment's first byte.
    pub offset: u64,
    /// Virtual address it is mapped at.
    pub vaddr: u64,
    /// Bytes taken from the file (the rest of `memsz` is zero-filled).
    pub filesz: u64,
    pub memsz: u64,
    pub executable: bool,
}

impl LoadSegment {
    /// The virtual address of file offset `offset`, if this segment maps it from the file.
    pub fn vaddr_of(&self, offset: u64) -> Option<u64> {
        let inside = offset
            .checked_sub(self.offset)
            .filter(|d| *d < self.filesz)?;
        self.vaddr.checked_add(inside)
    }
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(off..off + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], off: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(off..off + 8)?.try_into().ok()?))
}

/// The file's `PT_LOAD` segments in table order. The header table was bounds-checked when the
/// file was opened; every read is checked again, so a table that does not fit yields fewer
/// segments, never a panic.
pub fn load_segments(elf: &ElfFile) -> Vec<LoadSegment> {
    let b = elf.data();
    let (Some(phoff), Some(phnum)) = (u64_at(b, 0x20), b.get(0x38..0x3a)) else {
        return Vec::new();
    };
    let phnum = u16::from_le_bytes([phnum[0], phnum[1]]) as u64;
    (0..phnum)
        .filter_map(|i| {
            let h = usize::try_from(phoff.checked_add(i * 56)?).ok()?;
            if u32_at(b, h)? != PT_LOAD {
                return None;
            }
            Some(LoadSegment {
                executable: u32_at(b, h + 4)? & PF_X != 0,
                offset: u64_at(b, h + 8)?,
                vaddr: u64_at(b, h + 16)?,
                filesz: u64_at(b, h + 32)?,
                memsz: u64_at(b, h + 40)?,
            })
        })
        .collect()
}

/// The virtual address that file offset `offset` is loaded at, or None when no loadable segment
/// maps it (e.g. an offset inside the section headers).
pub fn vaddr_of_file_offset(elf: &ElfFile, offset: u64) -> Option<u64> {
    load_segments(elf).iter().find_map(|s| s.vaddr_of(offset))
}
