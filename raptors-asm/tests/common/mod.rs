//! Shared test helpers: required external tools (a missing tool FAILS with an install hint —
//! `cargo xtask test` guarantees them in CI), temp dirs, and fixtures assembled at test time
//! from the small `.s` sources in `tests/fixtures/`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Whether the tests run on an aarch64 host: the host's binutils and glibc are then the aarch64
/// ones, and the x86-64 ones are the cross packages (and the other way round on x86-64).
const AARCH64_HOST: bool = cfg!(target_arch = "aarch64");

/// Panics (test failure) with what to install when `tool` cannot run.
pub fn require_tool(tool: &str, package: &str) {
    let ok = Command::new(tool)
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        ok,
        "required tool `{tool}` is missing: install it (`apt-get install {package}`); \
         `cargo xtask test` installs/checks it in CI"
    );
}

/// Panics with an install hint when a required input file is missing.
pub fn require_file(path: &str, package: &str) {
    assert!(
        Path::new(path).is_file(),
        "required file {path} is missing: install it (`apt-get install {package}`); \
         `cargo xtask test` guarantees it in CI"
    );
}

/// The `raptors-asm` binary of this build.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_raptors-asm"))
}

/// Runs a command that must succeed and print JSON; panics with its stderr otherwise.
pub fn ok_json(cmd: &mut Command) -> serde_json::Value {
    let out = cmd.output().expect("run raptors-asm");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("valid JSON")
}

/// A clean failure: exit code 1, no panic or backtrace, and each of `needles` in stderr.
pub fn assert_clean_failure(out: &Output, needles: &[&str]) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "expected failure, stderr: {err}");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "panic output: {err}"
    );
    for n in needles {
        assert!(err.contains(n), "expected {n:?} in stderr: {err}");
    }
}

/// Opens a library for analysis; panics with raptors-asm's error.
pub fn open(p: &Path) -> (raptors_asm::ElfFile, raptors_asm::SymbolTable) {
    raptors_asm::open(p).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs a command and returns stdout; panics with stderr on failure.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A fresh directory under the system temp dir (left behind for inspection on failure).
pub fn temp_dir(tag: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let d = std::env::temp_dir().join(format!("raptors-asm-{tag}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("create temp dir");
    d
}

/// Which fixture architecture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fx {
    X86,
    A64,
}

impl Fx {
    fn is_host(self) -> bool {
        (self == Fx::A64) == AARCH64_HOST
    }
    /// Prefix of this architecture's binutils: none for the host's own, the GNU triple otherwise.
    pub fn prefix(self) -> &'static str {
        match (self, self.is_host()) {
            (_, true) => "",
            (Fx::X86, false) => "x86_64-linux-gnu-",
            (Fx::A64, false) => "aarch64-linux-gnu-",
        }
    }
    pub fn package(self) -> &'static str {
        match (self, self.is_host()) {
            (_, true) => "binutils",
            (Fx::X86, false) => "binutils-x86-64-linux-gnu",
            (Fx::A64, false) => "binutils-aarch64-linux-gnu",
        }
    }
    /// A real system library of this architecture (the objdump cross-check input), and the
    /// package that provides it.
    pub fn system_library(self) -> (&'static str, &'static str) {
        match (self, self.is_host()) {
            (Fx::X86, true) => ("/lib/x86_64-linux-gnu/libm.so.6", "libc6"),
            (Fx::X86, false) => ("/usr/x86_64-linux-gnu/lib/libm.so.6", "libc6-amd64-cross"),
            (Fx::A64, true) => ("/lib/aarch64-linux-gnu/libc.so.6", "libc6"),
            (Fx::A64, false) => ("/usr/aarch64-linux-gnu/lib/libc.so.6", "libc6-arm64-cross"),
        }
    }
    pub fn tool(self, name: &str) -> String {
        let t = format!("{}{name}", self.prefix());
        require_tool(&t, self.package());
        t
    }
    /// `tests/fixtures/<stem>_{x86,a64}.s`.
    fn named_source(self, stem: &str) -> PathBuf {
        let arch = match self {
            Fx::X86 => "x86",
            Fx::A64 => "a64",
        };
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(format!("{stem}_{arch}.s"))
    }
}

/// Built fixture: relocatable object (addresses from 0, used for snapshots) and shared library.
pub struct Fixture {
    pub dir: PathBuf,
    pub object: PathBuf,
    pub shared: PathBuf,
}

/// Assembles and links the fixture for `fx` into a new temp dir.
pub fn build_fixture(fx: Fx) -> Fixture {
    build_named_fixture(fx, "kernels")
}

/// Assembles and links `tests/fixtures/<stem>_{x86,a64}.s` into a new temp dir.
pub fn build_named_fixture(fx: Fx, stem: &str) -> Fixture {
    build_variant(fx, stem, &[])
}

/// Like [`build_named_fixture`], with `--defsym NAME=1` for each of `defs` (`.if NAME` blocks
/// in the source select a variant).
pub fn build_variant(fx: Fx, stem: &str, defs: &[&str]) -> Fixture {
    let dir = temp_dir(match fx {
        Fx::X86 => "x86",
        Fx::A64 => "a64",
    });
    let object = dir.join(format!("{stem}.o"));
    let shared = dir.join(format!("lib{stem}.so"));
    let mut asm = Command::new(fx.tool("as"));
    for d in defs {
        asm.arg("--defsym").arg(format!("{d}=1"));
    }
    run(asm.arg("-o").arg(&object).arg(fx.named_source(stem)));
    let mut ld = Command::new(fx.tool("ld"));
    // Small page size keeps the aarch64 .so a few KB (default alignment pads to 64 KiB).
    ld.args([
        "-shared",
        "-z",
        "max-page-size=4096",
        "-z",
        "noseparate-code",
        "-o",
    ])
    .arg(&shared)
    .arg(&object);
    run(&mut ld);
    Fixture {
        dir,
        object,
        shared,
    }
}

/// `objcopy --strip-all` copy of `input`.
pub fn strip_all(fx: Fx, input: &Path, out: &Path) {
    run(Command::new(fx.tool("objcopy"))
        .arg("--strip-all")
        .arg(input)
        .arg(out));
}
