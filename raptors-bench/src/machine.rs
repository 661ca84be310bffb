//! The machine a run happens on, as reports need it: the CPU's name (also on aarch64, whose
//! /proc/cpuinfo has no "model name"), whether this process runs under qemu-user emulation, and a
//! typed record of the environment (Python, NumPy's dispatch, Raptors's SIMD levels).
//!
//! Emulation matters twice: a timing taken under qemu-user is the emulator's speed, not the CPU's,
//! and valgrind does not run under qemu-user. qemu-user shows itself in two ways: /proc/cpuinfo is
//! the real kernel's, so it describes the host's CPU (x86 flags under an emulated aarch64), and a
//! child process reading `/proc/<our pid>/exe` sees the qemu binary (qemu answers only the emulated
//! program's own `/proc/self/exe` with the program's path).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Raptors's SIMD levels on an architecture (`RAPTORS_SIMD` names), lowest first; `scalar` and
/// `auto` exist everywhere.
pub fn simd_levels(arch: &str) -> &'static [&'static str] {
    match arch {
        "x86_64" => &["sse2", "avx2", "avx512"],
        "aarch64" => &["neon"],
        _ => &[],
    }
}

/// qemu-user (or another user-mode emulator) running this process.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Emulation {
    /// `qemu-user`.
    pub emulator: String,
    /// The architecture this program was built for, which is emulated.
    pub guest_arch: String,
    /// The real CPU's architecture and name, from /proc/cpuinfo.
    pub host_arch: Option<String>,
    pub host_cpu: String,
    /// What showed it.
    pub evidence: Vec<String>,
}

impl Emulation {
    /// "aarch64 under qemu-user emulation on AMD EPYC".
    pub fn describe(&self) -> String {
        format!(
            "{} under {} emulation on {}",
            self.guest_arch, self.emulator, self.host_cpu
        )
    }
}

fn field<'a>(cpuinfo: &'a str, key: &str) -> Option<&'a str> {
    cpuinfo.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim() == key)
            .then(|| v.trim())
            .filter(|v| !v.is_empty())
    })
}

/// The architecture /proc/cpuinfo describes (its fields differ per architecture).
pub fn cpuinfo_arch(cpuinfo: &str) -> Option<&'static str> {
    if field(cpuinfo, "vendor_id").is_some() || field(cpuinfo, "flags").is_some() {
        Some("x86_64")
    } else if field(cpuinfo, "CPU implementer").is_some() || field(cpuinfo, "Features").is_some() {
        Some("aarch64")
    } else {
        None
    }
}

/// Emulation as seen by a program built for `arch`, given /proc/cpuinfo and what a child process
/// read at `/proc/<our pid>/exe` (None when that could not be read).
pub fn emulation_in(
    arch: &str,
    cpuinfo: &str,
    exe_seen_by_child: Option<&str>,
) -> Option<Emulation> {
    let mut evidence = Vec::new();
    let host_arch = cpuinfo_arch(cpuinfo);
    if let Some(h) = host_arch.filter(|h| *h != arch) {
        evidence.push(format!("/proc/cpuinfo describes an {h} CPU"));
    }
    if let Some(exe) = exe_seen_by_child {
        let name = exe.rsplit('/').next().unwrap_or(exe);
        if name.starts_with("qemu-") {
            evidence.push(format!("/proc/<pid>/exe is {exe}"));
        }
    }
    (!evidence.is_empty()).then(|| Emulation {
        emulator: "qemu-user".into(),
        guest_arch: arch.into(),
        host_arch: host_arch.map(String::from),
        host_cpu: cpu_name_in(cpuinfo, None),
        evidence,
    })
}

/// Emulation of this process, if any.
pub fn emulation() -> Option<Emulation> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let exe = Command::new("readlink")
        .arg(format!("/proc/{}/exe", std::process::id()))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    emulation_in(std::env::consts::ARCH, &cpuinfo, exe.as_deref())
}

/// Arm `CPU implementer` / `CPU part` ids of common server and laptop cores.
const ARM_PARTS: &[(&str, &str, &str)] = &[
    ("0x41", "0xd03", "Arm Cortex-A53"),
    ("0x41", "0xd07", "Arm Cortex-A57"),
    ("0x41", "0xd08", "Arm Cortex-A72"),
    ("0x41", "0xd0b", "Arm Cortex-A76"),
    (
        "0x41",
        "0xd0c",
        "Arm Neoverse N1 (e.g. AWS Graviton2, Ampere Altra)",
    ),
    ("0x41", "0xd40", "Arm Neoverse V1 (e.g. AWS Graviton3)"),
    ("0x41", "0xd49", "Arm Neoverse N2"),
    (
        "0x41",
        "0xd4f",
        "Arm Neoverse V2 (e.g. AWS Graviton4, NVIDIA Grace)",
    ),
    ("0x41", "0xd8e", "Arm Neoverse N3"),
    ("0x41", "0xd84", "Arm Neoverse V3"),
    ("0xc0", "0xac3", "Ampere AmpereOne"),
    ("0xc0", "0xac4", "Ampere AmpereOne A"),
    ("0x61", "0x022", "Apple M1 (Icestorm)"),
    ("0x61", "0x023", "Apple M1 (Firestorm)"),
    ("0x61", "0x032", "Apple M2 (Blizzard)"),
    ("0x61", "0x033", "Apple M2 (Avalanche)"),
];

/// The CPU's name: "model name" (x86-64), else the Arm implementer/part table, else `lscpu`'s
/// "Model name", else the raw Arm ids.
pub fn cpu_name_in(cpuinfo: &str, lscpu: Option<&str>) -> String {
    if let Some(m) = field(cpuinfo, "model name") {
        return m.to_string();
    }
    let (imp, part) = (
        field(cpuinfo, "CPU implementer"),
        field(cpuinfo, "CPU part"),
    );
    let known = ARM_PARTS
        .iter()
        .find(|(i, p, _)| imp == Some(*i) && part.is_some_and(|x| x.eq_ignore_ascii_case(p)));
    if let Some((_, _, name)) = known {
        return name.to_string();
    }
    if let Some(m) = lscpu
        .and_then(|t| field(t, "Model name"))
        .filter(|m| *m != "-")
    {
        return m.to_string();
    }
    match (imp, part) {
        (Some(i), Some(p)) => format!("Arm CPU (implementer {i}, part {p})"),
        _ => "unknown CPU".to_string(),
    }
}

/// This machine's CPU name.
pub fn cpu_name() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let lscpu = Command::new("lscpu").output().ok();
    let lscpu = lscpu.map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
    cpu_name_in(&cpuinfo, lscpu.as_deref())
}

/// Fills what the Python side cannot know into a runner machine record: the CPU's name (also on
/// aarch64) and, under emulation, `emulation` (absent otherwise).
pub fn complete_record(machine: &mut Value) {
    machine["cpu_model"] = Value::from(cpu_name());
    if let Some(e) = emulation() {
        machine["emulation"] = serde_json::to_value(e).unwrap_or(Value::Null);
    }
}

/// A short stable name for this machine, as results files are named (`x86_64-amd-epyc-2cpu`).
pub fn tag() -> String {
    crate::runner::machine_tag(&serde_json::json!({
        "cpu_model": cpu_name(),
        "arch": std::env::consts::ARCH,
        "logical_cpus": std::thread::available_parallelism().map_or(0, |n| n.get()),
    }))
}

/// NumPy's compiled and runtime-selected SIMD targets.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NumpySimd {
    #[serde(default)]
    pub baseline: Vec<String>,
    /// Dispatch targets this CPU has.
    #[serde(default)]
    pub found: Vec<String>,
}

/// The environment a profile records (a typed view of the runner's machine record).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Environment {
    pub cpu_model: String,
    pub arch: String,
    pub logical_cpus: u64,
    pub kernel: String,
    pub python: String,
    pub numpy_version: String,
    pub numpy_simd: NumpySimd,
    pub raptors_version: String,
    /// Level Raptors uses in a normal run (`RAPTORS_SIMD` unset).
    pub raptors_simd_level: String,
    /// Every level of this architecture: None when Raptors runs it here, else Raptors's refusal.
    pub raptors_levels: BTreeMap<String, Option<String>>,
    pub emulation: Option<Emulation>,
}

/// Runs the comparison runner's machine probe (`compare_runner.py --machine-only`) with `python`,
/// completes it ([`complete_record`]) and asks Raptors which levels run here. Returns the record
/// (for `environment.json`) and its typed view.
pub fn probe(python: &Path, pythonpath: Option<&Path>) -> Result<(Value, Environment)> {
    let script = crate::runner::python_scripts()?.join("compare_runner.py");
    let out = crate::runner::python_command(python, pythonpath)
        .arg(script)
        .arg("--machine-only")
        .output()
        .with_context(|| format!("cannot run {}", python.display()))?;
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let Some(mut machine) = lines.iter().find(|v| v["type"] == "machine").cloned() else {
        let fatal = lines.iter().find_map(|v| v["reason"].as_str());
        bail!(
            "the machine probe printed no record: {}",
            fatal.map_or_else(
                || String::from_utf8_lossy(&out.stderr).into_owned(),
                String::from
            )
        );
    };
    complete_record(&mut machine);
    let arch = machine["arch"]
        .as_str()
        .unwrap_or(std::env::consts::ARCH)
        .to_string();
    let levels: BTreeMap<String, Option<String>> = std::iter::once("scalar")
        .chain(simd_levels(&arch).iter().copied())
        .map(|l| {
            let refused = crate::valgrind::python_accepts(python, pythonpath, l).err();
            (l.to_string(), refused)
        })
        .collect();
    machine["raptors_levels"] = serde_json::to_value(&levels)?;
    let env = serde_json::from_value(machine.clone()).context("the machine record")?;
    Ok((machine, env))
}

#[cfg(test)]
mod tests {
    use super::*;

    const X86: &str = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\nflags\t\t: fpu sse2 avx2\n";
    const GRAVITON2: &str = "processor\t: 0\nBogoMIPS\t: 243.75\nFeatures\t: fp asimd evtstrm\nCPU implementer\t: 0x41\nCPU part\t: 0xd0c\n";

    #[test]
    fn qemu_user_is_seen_in_cpuinfo_and_in_the_exe_link() {
        let e = emulation_in("aarch64", X86, None).unwrap();
        assert_eq!(
            e.describe(),
            "aarch64 under qemu-user emulation on AMD EPYC"
        );
        assert_eq!(e.host_arch.as_deref(), Some("x86_64"));
        let e = emulation_in("aarch64", GRAVITON2, Some("/usr/bin/qemu-aarch64-static")).unwrap();
        assert!(e.evidence[0].contains("qemu-aarch64-static"), "{e:?}");
        assert_eq!(
            emulation_in("x86_64", X86, Some("/work/target/debug/xtask")),
            None
        );
        assert_eq!(
            emulation_in("aarch64", GRAVITON2, Some("/usr/bin/python3.11")),
            None
        );
    }

    #[test]
    fn arm_cpus_are_named_from_their_ids() {
        assert_eq!(cpuinfo_arch(GRAVITON2), Some("aarch64"));
        assert!(cpu_name_in(GRAVITON2, None).starts_with("Arm Neoverse N1"));
        let unknown = GRAVITON2.replace("0xd0c", "0xfff");
        assert_eq!(
            cpu_name_in(
                &unknown,
                Some("Architecture: aarch64\nModel name:          Neoverse-X9\n")
            ),
            "Neoverse-X9"
        );
        assert_eq!(
            cpu_name_in(&unknown, None),
            "Arm CPU (implementer 0x41, part 0xfff)"
        );
        assert_eq!(cpu_name_in(X86, None), "AMD EPYC");
    }

    #[test]
    fn every_architecture_has_its_levels_once() {
        assert_eq!(simd_levels("x86_64"), ["sse2", "avx2", "avx512"]);
        assert_eq!(simd_levels("aarch64"), ["neon"]);
    }
}
