//! File offset → virtual address through the `PT_LOAD` segments, on the assembled fixtures of
//! both architectures and on a real system library: every function's first byte, found through
//! its section's file offset, must come back at the function's address.

mod common;

use common::{build_fixture, Fx};
use raptors_asm::segments::{load_segments, vaddr_of_file_offset};

fn check(path: &std::path::Path) {
    let (elf, table) = raptors_asm::open(path).unwrap();
    let segments = load_segments(&elf);
    assert!(segments.iter().any(|s| s.executable), "{segments:?}");
    let mut checked = 0;
    for f in &table.functions {
        let Some(sec) = elf.code_section_at(f.address) else {
            continue;
        };
        let offset = sec.offset + (f.address - sec.addr);
        assert_eq!(
            vaddr_of_file_offset(&elf, offset),
            Some(f.address),
            "{} at {:#x} (file offset {offset:#x}) in {}",
            f.name,
            f.address,
            path.display()
        );
        checked += 1;
    }
    assert!(checked > 0, "no function checked in {}", path.display());
    // Past the end of the file nothing is mapped.
    assert_eq!(
        vaddr_of_file_offset(&elf, elf.data().len() as u64 + 1),
        None
    );
}

#[test]
fn file_offsets_map_to_function_addresses() {
    for fx in [Fx::X86, Fx::A64] {
        let built = build_fixture(fx);
        check(&built.shared);
        let (lib, package) = fx.system_library();
        common::require_file(lib, package);
        check(std::path::Path::new(lib));
    }
}
