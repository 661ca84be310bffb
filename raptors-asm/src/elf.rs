//! ELF loading. The header and section table are validated by hand (every offset and size is
//! checked against the file length) before goblin sees the bytes, so malformed input becomes a
//! typed [`AsmError`] naming the file, the offset and the reason — never a panic or an
//! out-of-bounds slice. What later stages need (sections, raw symbols) is copied into owned
//! structs so the analysis code never touches goblin's borrowed views.

use std::ops::Deref;
use std::path::{Path, PathBuf};

use goblin::elf::section_header::{SHF_EXECINSTR, SHT_NOBITS};
use goblin::elf::sym::{STT_FILE, STT_FUNC, STT_GNU_IFUNC, STT_NOTYPE, STT_SECTION};

use crate::error::{AsmError, Result};

/// Instruction set of the file (from `e_machine`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Arch {
    X86_64,
    Aarch64,
}

impl Arch {
    /// `uname -m` spelling (`x86_64`, `aarch64`), also used in file and folder names.
    pub fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
        }
    }

    /// The name people write in prose and tables (`x86-64`, `aarch64`).
    pub fn display_name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86-64",
            Arch::Aarch64 => "aarch64",
        }
    }

    /// The name objdump prints after "file format".
    pub fn objdump_format(self) -> &'static str {
        match self {
            Arch::X86_64 => "elf64-x86-64",
            Arch::Aarch64 => "elf64-littleaarch64",
        }
    }
}

/// One section header, copied out of the file and already bounds-checked.
#[derive(Debug, Clone)]
pub struct Section {
    pub index: usize,
    pub name: String,
    pub addr: u64,
    pub offset: u64,
    pub size: u64,
    pub executable: bool,
    /// `SHT_NOBITS` sections occupy no file bytes.
    pub nobits: bool,
}

/// Which symbol table a raw symbol came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub enum SymSource {
    #[serde(rename = ".symtab")]
    Symtab,
    #[serde(rename = ".dynsym")]
    Dynsym,
    #[serde(rename = ".eh_frame")]
    EhFrame,
}

/// A defined symbol that points into an executable section.
#[derive(Debug, Clone)]
pub struct RawSym {
    pub name: String,
    pub addr: u64,
    pub size: u64,
    pub is_func: bool,
    pub global: bool,
    pub source: SymSource,
}

enum Bytes {
    Map(memmap2::Mmap),
    Owned(Vec<u8>),
}

impl Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Map(m) => m,
            Bytes::Owned(v) => v,
        }
    }
}

/// A parsed, validated ELF64 little-endian file (x86-64 or AArch64).
pub struct ElfFile {
    pub path: PathBuf,
    bytes: Bytes,
    pub arch: Arch,
    pub sections: Vec<Section>,
    /// Defined symbols inside executable sections, from `.symtab` and `.dynsym`.
    pub raw_symbols: Vec<RawSym>,
    pub has_symtab: bool,
}

const EHDR_SIZE: usize = 64;
const SHDR_SIZE: u64 = 64;
const PHDR_SIZE: u64 = 56;
const EM_X86_64: u16 = 62;
const EM_AARCH64: u16 = 183;

fn rd_u16(b: &[u8], off: usize) -> u16 {
    u16::from_le_bytes([b[off], b[off + 1]])
}
fn rd_u32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}
fn rd_u64(b: &[u8], off: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(a)
}

fn machine_name(m: u16) -> &'static str {
    match m {
        0 => "none",
        3 => "i386",
        8 => "MIPS",
        20 => "PowerPC",
        21 => "PowerPC64",
        22 => "S/390",
        40 => "ARM (32-bit)",
        50 => "IA-64",
        243 => "RISC-V",
        258 => "LoongArch",
        _ => "unknown",
    }
}

impl ElfFile {
    /// Memory-maps and parses `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<ElfFile> {
        let path = path.as_ref();
        let io = |source| AsmError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let meta = file.metadata().map_err(io)?;
        if !meta.is_file() {
            return Err(AsmError::NotElf {
                path: path.to_path_buf(),
                reason: "not a regular file".into(),
            });
        }
        let bytes = if meta.len() == 0 {
            Bytes::Owned(Vec::new())
        } else {
            // SAFETY: the map is read-only and private to this process; the only hazard is another
            // process truncating the file while we read it (SIGBUS), which is the same contract
            // objdump and every mmap-based tool accepts for inputs they do not own.
            Bytes::Map(unsafe { memmap2::Mmap::map(&file) }.map_err(io)?)
        };
        Self::parse(path.to_path_buf(), bytes)
    }

    /// Parses an in-memory image; `path` is only used to name the input in errors.
    pub fn from_bytes(path: impl Into<PathBuf>, data: Vec<u8>) -> Result<ElfFile> {
        Self::parse(path.into(), Bytes::Owned(data))
    }

    /// The whole file.
    pub fn data(&self) -> &[u8] {
        &self.bytes
    }

    /// File bytes of a section (empty for `SHT_NOBITS`). Bounds were checked at parse time.
    pub fn section_data(&self, s: &Section) -> &[u8] {
        if s.nobits {
            return &[];
        }
        let start = s.offset as usize;
        self.bytes
            .get(start..start + s.size as usize)
            .unwrap_or(&[])
    }

    pub fn section_by_name(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// Executable sections that hold code bytes, in address order.
    pub fn code_sections(&self) -> Vec<&Section> {
        let mut v: Vec<&Section> = self
            .sections
            .iter()
            .filter(|s| s.executable && !s.nobits && s.size > 0)
            .collect();
        v.sort_by_key(|s| s.addr);
        v
    }

    /// The executable section containing `addr`.
    pub fn code_section_at(&self, addr: u64) -> Option<&Section> {
        self.sections
            .iter()
            .find(|s| s.executable && !s.nobits && addr >= s.addr && addr - s.addr < s.size)
    }

    fn parse(path: PathBuf, bytes: Bytes) -> Result<ElfFile> {
        let (arch, _) = validate_headers(&path, &bytes)?;
        let (sections, raw_symbols, has_symtab) = {
            let elf = goblin::elf::Elf::parse(&bytes).map_err(|e| goblin_error(&path, e))?;
            extract(&path, &elf, bytes.len() as u64)?
        };
        Ok(ElfFile {
            path,
            bytes,
            arch,
            sections,
            raw_symbols,
            has_symtab,
        })
    }
}

fn goblin_error(path: &Path, e: goblin::error::Error) -> AsmError {
    use goblin::error::Error as G;
    match e {
        G::BadMagic(m) => AsmError::NotElf {
            path: path.to_path_buf(),
            reason: format!("bad magic {m:#x}"),
        },
        G::BufferTooShort(n, what) => AsmError::malformed(
            path,
            None,
            format!("buffer too short for {what} ({n} bytes needed)"),
        ),
        other => AsmError::malformed(path, None, other.to_string()),
    }
}

/// Checks the ELF header, program-header table and section-header table against the file size.
fn validate_headers(path: &Path, b: &[u8]) -> Result<(Arch, u64)> {
    let bad = |off: u64, reason: String| AsmError::malformed(path, Some(off), reason);
    if b.len() < 4 || &b[..4] != b"\x7fELF" {
        let shown: Vec<String> = b.iter().take(4).map(|x| format!("{x:02x}")).collect();
        return Err(AsmError::NotElf {
            path: path.to_path_buf(),
            reason: format!("magic is [{}], expected [7f 45 4c 46]", shown.join(" ")),
        });
    }
    if b.len() < EHDR_SIZE {
        return Err(bad(
            b.len() as u64,
            format!(
                "file is {} bytes, shorter than the 64-byte ELF64 header",
                b.len()
            ),
        ));
    }
    match b[4] {
        2 => {}
        1 => {
            return Err(AsmError::Unsupported {
                path: path.to_path_buf(),
                reason: "32-bit ELF (ELFCLASS32); only ELF64 is supported".into(),
            })
        }
        c => return Err(bad(4, format!("invalid EI_CLASS {c}"))),
    }
    match b[5] {
        1 => {}
        2 => {
            return Err(AsmError::Unsupported {
                path: path.to_path_buf(),
                reason: "big-endian ELF (ELFDATA2MSB); only little-endian is supported".into(),
            })
        }
        d => return Err(bad(5, format!("invalid EI_DATA {d}"))),
    }
    let machine = rd_u16(b, 18);
    let arch = match machine {
        EM_X86_64 => Arch::X86_64,
        EM_AARCH64 => Arch::Aarch64,
        m => {
            return Err(AsmError::Unsupported {
                path: path.to_path_buf(),
                reason: format!(
                    "machine {m} ({}); only x86-64 (62) and AArch64 (183) are supported",
                    machine_name(m)
                ),
            })
        }
    };
    let len = b.len() as u64;
    let phoff = rd_u64(b, 0x20);
    let shoff = rd_u64(b, 0x28);
    let phentsize = rd_u16(b, 0x36) as u64;
    let phnum = rd_u16(b, 0x38) as u64;
    let shentsize = rd_u16(b, 0x3a) as u64;
    let shnum = rd_u16(b, 0x3c) as u64;
    let shstrndx = rd_u16(b, 0x3e) as u64;
    if phnum > 0 {
        if phentsize != PHDR_SIZE {
            return Err(bad(
                0x36,
                format!("e_phentsize is {phentsize}, expected {PHDR_SIZE}"),
            ));
        }
        let end = phnum
            .checked_mul(PHDR_SIZE)
            .and_then(|n| n.checked_add(phoff));
        if end.is_none_or(|e| e > len) {
            return Err(bad(
                phoff,
                format!("program header table ({phnum} entries at e_phoff {phoff:#x}) extends past end of file ({len} bytes)"),
            ));
        }
    }
    if shoff == 0 || shnum == 0 {
        return Err(bad(
            0x28,
            "no section header table (e_shoff or e_shnum is 0)".into(),
        ));
    }
    if shentsize != SHDR_SIZE {
        return Err(bad(
            0x3a,
            format!("e_shentsize is {shentsize}, expected {SHDR_SIZE}"),
        ));
    }
    let table_end = shnum
        .checked_mul(SHDR_SIZE)
        .and_then(|n| n.checked_add(shoff));
    if table_end.is_none_or(|e| e > len) {
        return Err(bad(
            shoff,
            format!("section header table ({shnum} entries at e_shoff {shoff:#x}) extends past end of file ({len} bytes)"),
        ));
    }
    if shstrndx >= shnum {
        return Err(bad(
            0x3e,
            format!("e_shstrndx {shstrndx} is not below e_shnum {shnum}"),
        ));
    }
    // Every section with file bytes must lie inside the file; names must index into .shstrtab.
    let mut str_off = 0;
    let mut str_size = 0;
    for i in 0..shnum {
        let h = (shoff + i * SHDR_SIZE) as usize;
        let sh_type = rd_u32(b, h + 4);
        let off = rd_u64(b, h + 0x18);
        let size = rd_u64(b, h + 0x20);
        if sh_type != SHT_NOBITS && sh_type != 0 && off.checked_add(size).is_none_or(|e| e > len) {
            return Err(bad(
                h as u64,
                format!("section {i}: sh_offset {off:#x} + sh_size {size:#x} extends past end of file ({len} bytes)"),
            ));
        }
        if i == shstrndx {
            if sh_type == SHT_NOBITS {
                return Err(bad(
                    h as u64,
                    format!("section-name string table (section {i}) has no file bytes"),
                ));
            }
            str_off = off;
            str_size = size;
        }
    }
    for i in 0..shnum {
        let h = (shoff + i * SHDR_SIZE) as usize;
        let name = rd_u32(b, h) as u64;
        if i > 0 && name >= str_size.max(1) && rd_u32(b, h + 4) != 0 {
            return Err(bad(
                h as u64,
                format!("section {i}: sh_name {name:#x} is outside the section-name string table ({str_size} bytes at {str_off:#x})"),
            ));
        }
    }
    Ok((arch, shoff))
}

type Extracted = (Vec<Section>, Vec<RawSym>, bool);

fn extract(path: &Path, elf: &goblin::elf::Elf<'_>, len: u64) -> Result<Extracted> {
    let mut sections = Vec::with_capacity(elf.section_headers.len());
    for (index, sh) in elf.section_headers.iter().enumerate() {
        let name = elf.shdr_strtab.get_at(sh.sh_name).unwrap_or("").to_string();
        let nobits = sh.sh_type == SHT_NOBITS || sh.sh_type == 0;
        if !nobits && sh.sh_offset.checked_add(sh.sh_size).is_none_or(|e| e > len) {
            return Err(AsmError::malformed(
                path,
                Some(sh.sh_offset),
                format!("section {index} ({name}) extends past end of file"),
            ));
        }
        if sh.sh_addr.checked_add(sh.sh_size).is_none() {
            return Err(AsmError::malformed(
                path,
                None,
                format!(
                    "section {index} ({name}): address {:#x} + size {:#x} overflows",
                    sh.sh_addr, sh.sh_size
                ),
            ));
        }
        sections.push(Section {
            index,
            name,
            addr: sh.sh_addr,
            offset: sh.sh_offset,
            size: sh.sh_size,
            executable: sh.sh_flags & SHF_EXECINSTR as u64 != 0,
            nobits,
        });
    }
    let mut raw = Vec::new();
    let exec_idx: Vec<bool> = sections.iter().map(|s| s.executable && !s.nobits).collect();
    let mut has_symtab = false;
    let tables = [
        (&elf.syms, &elf.strtab, SymSource::Symtab),
        (&elf.dynsyms, &elf.dynstrtab, SymSource::Dynsym),
    ];
    for (syms, strtab, source) in tables {
        if source == SymSource::Symtab && !syms.is_empty() {
            has_symtab = true;
        }
        for sym in syms.iter() {
            let ty = sym.st_type();
            if ty == STT_SECTION || ty == STT_FILE {
                continue;
            }
            if !(ty == STT_FUNC || ty == STT_GNU_IFUNC || ty == STT_NOTYPE) {
                continue;
            }
            let shndx = sym.st_shndx;
            if shndx == 0 || shndx >= exec_idx.len() || !exec_idx[shndx] {
                continue;
            }
            let Some(name) = strtab.get_at(sym.st_name) else {
                continue;
            };
            // AArch64 mapping symbols ($x, $d) mark code/data, they are not functions.
            if name.is_empty() || name.starts_with("$x") || name.starts_with("$d") {
                continue;
            }
            raw.push(RawSym {
                name: name.to_string(),
                addr: sym.st_value,
                size: sym.st_size,
                is_func: ty != STT_NOTYPE,
                global: sym.st_bind() != goblin::elf::sym::STB_LOCAL,
                source,
            });
        }
    }
    Ok((sections, raw, has_symtab))
}
