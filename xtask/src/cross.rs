//! The host's architecture, and building for the other one.
//!
//! Raptors is checked on two architectures: the host's natively, the other one by cross-building
//! with Debian's toolchain (its `rustc` ships the other architecture's standard library). The cross
//! settings — linker, qemu runner, `+crt-static` — are passed in the environment of cross builds
//! only, never in `.cargo/config.toml`: every build on every host reads that file, and on an
//! aarch64 host the host *is* `aarch64-unknown-linux-gnu` (the static flag would reach
//! proc-macros, and the cross linker and qemu runner do not exist there).

use std::fmt;
use std::process::Command;

use crate::setup::{pyo3_env, target_dir};

/// The two architectures Raptors has SIMD kernels for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    X86_64,
    Aarch64,
}

impl Arch {
    /// The architecture xtask itself was built for, which is the host's (xtask always runs natively).
    pub const fn host() -> Arch {
        if cfg!(target_arch = "aarch64") {
            Arch::Aarch64
        } else {
            Arch::X86_64
        }
    }

    pub const fn other(self) -> Arch {
        match self {
            Arch::X86_64 => Arch::Aarch64,
            Arch::Aarch64 => Arch::X86_64,
        }
    }

    /// `uname -m` spelling, also used in file and folder names.
    pub const fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
        }
    }

    /// The same architecture as raptors-asm reads it from an ELF header.
    pub const fn elf(self) -> raptors_asm::Arch {
        match self {
            Arch::X86_64 => raptors_asm::Arch::X86_64,
            Arch::Aarch64 => raptors_asm::Arch::Aarch64,
        }
    }

    pub const fn triple(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64-unknown-linux-gnu",
            Arch::Aarch64 => "aarch64-unknown-linux-gnu",
        }
    }

    /// Prefix of the GNU cross tools for this architecture (`aarch64-linux-gnu-gcc`, ...).
    pub const fn gnu_prefix(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64-linux-gnu-",
            Arch::Aarch64 => "aarch64-linux-gnu-",
        }
    }

    /// The qemu-user binary that runs this architecture's programs on the other one.
    pub const fn qemu(self) -> &'static str {
        match self {
            Arch::X86_64 => "qemu-x86_64-static",
            Arch::Aarch64 => "qemu-aarch64-static",
        }
    }

    /// Debian's name of this architecture (`dpkg --print-architecture`).
    pub const fn deb_arch(self) -> &'static str {
        match self {
            Arch::X86_64 => "amd64",
            Arch::Aarch64 => "arm64",
        }
    }

    /// The SIMD levels of this architecture's kernels (names as `RAPTORS_SIMD` takes them).
    pub fn simd_levels(self) -> &'static [&'static str] {
        raptors_bench::machine::simd_levels(self.name())
    }

    /// `CARGO_TARGET_<TRIPLE>_` prefix of cargo's per-target environment settings.
    fn cargo_env_prefix(self) -> String {
        format!(
            "CARGO_TARGET_{}_",
            self.triple().to_uppercase().replace('-', "_")
        )
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a cross build is for: its link mode differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrossPurpose {
    /// Test binaries run under qemu-user: linked statically, because a dynamically linked guest
    /// binary under qemu-user hangs at its first thread (libtest spawns one per test).
    RunUnderQemu,
    /// A cdylib that is only disassembled: `+crt-static` would make rustc drop the cdylib type.
    Disassemble,
}

/// The cargo running xtask, for host builds (rustup's or Debian's, whichever the user runs).
pub fn host_cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(crate::setup::project_root());
    pyo3_env(&mut cmd);
    cmd
}

/// Debian's cargo/rustc (they ship the other architecture's standard library) with the cross
/// settings for `target` in the environment, in a target dir of its own per purpose so the two
/// toolchains and the two link modes never invalidate each other's artefacts.
pub fn cross_cargo(target: Arch, purpose: CrossPurpose) -> Command {
    debug_assert_ne!(
        target,
        Arch::host(),
        "cross builds are for the other architecture"
    );
    let dir = match purpose {
        CrossPurpose::RunUnderQemu => "cross",
        CrossPurpose::Disassemble => "cross-cdylib",
    };
    let prefix = target.cargo_env_prefix();
    let mut cmd = Command::new("/usr/bin/cargo");
    cmd.current_dir(crate::setup::project_root())
        .env("RUSTC", "/usr/bin/rustc")
        .env("RUSTDOC", "/usr/bin/rustdoc")
        .env("CARGO_TARGET_DIR", target_dir().join(dir))
        .env(
            format!("{prefix}LINKER"),
            format!("{}gcc", target.gnu_prefix()),
        )
        .env(format!("{prefix}RUNNER"), target.qemu())
        .env(
            format!("{prefix}RUSTFLAGS"),
            match purpose {
                CrossPurpose::RunUnderQemu => "-C target-feature=+crt-static",
                CrossPurpose::Disassemble => "-C target-feature=-crt-static",
            },
        )
        // A RUSTFLAGS from the user's shell would replace the per-target flags above.
        .env_remove("RUSTFLAGS")
        // rustup's proxies must not leak into Debian's toolchain.
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("CARGO");
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(cmd: &Command, key: &str) -> Option<String> {
        cmd.get_envs()
            .find(|(k, _)| *k == key)
            .and_then(|(_, v)| v.map(|v| v.to_string_lossy().into_owned()))
    }

    #[test]
    fn cross_settings_name_the_other_target() {
        let target = Arch::host().other();
        let cmd = cross_cargo(target, CrossPurpose::RunUnderQemu);
        let prefix = match target {
            Arch::X86_64 => "CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_",
            Arch::Aarch64 => "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_",
        };
        assert_eq!(
            env_of(&cmd, &format!("{prefix}LINKER")).as_deref(),
            Some(format!("{}gcc", target.gnu_prefix()).as_str())
        );
        assert_eq!(
            env_of(&cmd, &format!("{prefix}RUNNER")).as_deref(),
            Some(target.qemu())
        );
        assert_eq!(
            env_of(&cmd, &format!("{prefix}RUSTFLAGS")).as_deref(),
            Some("-C target-feature=+crt-static")
        );
        let cdylib = cross_cargo(target, CrossPurpose::Disassemble);
        assert_eq!(
            env_of(&cdylib, &format!("{prefix}RUSTFLAGS")).as_deref(),
            Some("-C target-feature=-crt-static")
        );
        assert_ne!(
            env_of(&cmd, "CARGO_TARGET_DIR"),
            env_of(&cdylib, "CARGO_TARGET_DIR")
        );
    }

    #[test]
    fn the_other_of_the_other_is_the_host() {
        assert_eq!(Arch::host().other().other(), Arch::host());
        assert_ne!(Arch::host().other(), Arch::host());
    }
}
