//! Hardware/software counter collection: probe perf and classify why it cannot count, run
//! `perf stat -x,` and parse its CSV, and fall back to valgrind cachegrind (simulated caches).
//! An unsupported counter is `value: null` with its status, never 0.

use serde::{Deserialize, Serialize};
use std::path::Path;
use std::process::Command;

/// Events asked from perf. Software ones work in this VM; hardware ones need a PMU.
pub const PERF_EVENTS: [&str; 9] = [
    "task-clock",
    "page-faults",
    "context-switches",
    "cycles",
    "instructions",
    "branches",
    "branch-misses",
    "cache-references",
    "cache-misses",
];
const HARDWARE_EVENTS: [&str; 6] = [
    "cycles",
    "instructions",
    "branches",
    "branch-misses",
    "cache-references",
    "cache-misses",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CounterStatus {
    Counted,
    /// perf printed `<not supported>` (no PMU / event unknown to the kernel).
    NotSupported,
    /// perf printed `<not counted>` (e.g. disabled or multiplexed away).
    NotCounted,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PerfCounter {
    /// Event name as perf printed it (may carry a modifier such as `:u`).
    pub event: String,
    pub value: Option<f64>,
    pub unit: String,
    pub status: CounterStatus,
}

impl PerfCounter {
    /// Event name without modifiers (`instructions:u` → `instructions`).
    pub fn base_event(&self) -> &str {
        self.event.split(':').next().unwrap_or(&self.event)
    }
}

/// Parse `perf stat -x,` output (CSV; other lines such as comments or blank lines are ignored).
pub fn parse_perf_csv(text: &str) -> Vec<PerfCounter> {
    let mut out = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split(',').collect();
        if f.len() < 3 || line.starts_with('#') || f[2].is_empty() {
            continue;
        }
        let (value, status) = match f[0].trim() {
            "<not supported>" => (None, CounterStatus::NotSupported),
            "<not counted>" => (None, CounterStatus::NotCounted),
            v => match v.parse::<f64>() {
                Ok(x) => (Some(x), CounterStatus::Counted),
                Err(_) => continue,
            },
        };
        out.push(PerfCounter {
            event: f[2].trim().to_string(),
            value,
            unit: f[1].trim().to_string(),
            status,
        });
    }
    out
}

/// Why perf can or cannot count here.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum PerfStatus {
    /// Every probed event, hardware included, was counted.
    Works,
    /// perf runs, software events count, hardware events are `<not supported>` (this VM).
    NoHardwarePmu { unsupported: Vec<String> },
    /// perf_event_open was refused. `errno` when perf printed it, else inferred from the message.
    PermissionDenied {
        errno: String,
        perf_event_paranoid: Option<i64>,
        likely_cause: String,
        message: String,
    },
    /// No perf binary (or the distribution wrapper has no perf for this kernel).
    NotInstalled { detail: String },
    /// Anything else, with the output.
    Failed { detail: String },
}

impl PerfStatus {
    pub fn label(&self) -> &'static str {
        match self {
            PerfStatus::Works => "works",
            PerfStatus::NoHardwarePmu { .. } => "no_hardware_pmu",
            PerfStatus::PermissionDenied { .. } => "permission_denied",
            PerfStatus::NotInstalled { .. } => "not_installed",
            PerfStatus::Failed { .. } => "failed",
        }
    }
    /// Whether `perf stat` can be used at all (software counters at least).
    pub fn usable(&self) -> bool {
        matches!(self, PerfStatus::Works | PerfStatus::NoHardwarePmu { .. })
    }
}

/// Process facts that explain a permission refusal (read from /proc, never guessed).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PermissionContext {
    pub perf_event_paranoid: Option<i64>,
    pub cap_sys_admin: Option<bool>,
    pub cap_perfmon: Option<bool>,
    /// `Seccomp:` from /proc/self/status (0 off, 1 strict, 2 filter).
    pub seccomp_mode: Option<u8>,
    pub in_container: bool,
}

impl PermissionContext {
    pub fn read() -> Self {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.trim().to_string())
        };
        let cap_eff = field("CapEff:").and_then(|v| u64::from_str_radix(&v, 16).ok());
        let cgroup = std::fs::read_to_string("/proc/1/cgroup").unwrap_or_default();
        PermissionContext {
            perf_event_paranoid: std::fs::read_to_string("/proc/sys/kernel/perf_event_paranoid")
                .ok()
                .and_then(|s| s.trim().parse().ok()),
            cap_sys_admin: cap_eff.map(|c| c & (1 << 21) != 0),
            cap_perfmon: cap_eff.map(|c| c & (1 << 38) != 0),
            seccomp_mode: field("Seccomp:").and_then(|v| v.parse().ok()),
            in_container: Path::new("/.dockerenv").exists()
                || Path::new("/run/.containerenv").exists()
                || cgroup.contains("docker")
                || cgroup.contains("containerd"),
        }
    }
}

fn perf_errno(stderr: &str) -> Option<String> {
    // "... failed with unexpected error 13 (Permission denied)"
    let idx = stderr.find("failed with unexpected error ")?;
    let rest = &stderr[idx + "failed with unexpected error ".len()..];
    let num: String = rest.chars().take_while(char::is_ascii_digit).collect();
    match num.as_str() {
        "1" => Some("EPERM".into()),
        "13" => Some("EACCES".into()),
        "" => None,
        n => Some(format!("errno {n}")),
    }
}

/// Classify a probe run of `perf stat -x, -e task-clock,cycles,instructions -- true`.
/// `spawn_error` is set when the perf binary could not be started at all.
pub fn classify_probe(
    spawn_error: Option<std::io::ErrorKind>,
    success: bool,
    stderr: &str,
    ctx: &PermissionContext,
) -> PerfStatus {
    if let Some(kind) = spawn_error {
        return if kind == std::io::ErrorKind::NotFound {
            PerfStatus::NotInstalled {
                detail: "no `perf` executable on PATH".into(),
            }
        } else {
            PerfStatus::Failed {
                detail: format!("cannot start perf: {kind:?}"),
            }
        };
    }
    let lower = stderr.to_lowercase();
    if lower.contains("perf not found for kernel")
        || lower.contains("not installed")
        || lower.contains("command not found")
    {
        return PerfStatus::NotInstalled {
            detail: first_lines(stderr, 4),
        };
    }
    let refused = lower
        .contains("access to performance monitoring and observability operations is limited")
        || lower.contains("no permission to enable")
        || lower.contains("you may not have permission")
        || lower.contains("permission denied")
        || lower.contains("operation not permitted");
    if refused {
        let errno = perf_errno(stderr).unwrap_or_else(|| {
            if lower.contains("operation not permitted") {
                "EPERM".into()
            } else {
                "EACCES or EPERM (perf did not print the errno)".into()
            }
        });
        let paranoid = ctx.perf_event_paranoid;
        let likely_cause = if errno == "EPERM" && (ctx.in_container || ctx.seccomp_mode == Some(2))
        {
            "seccomp filter refuses perf_event_open (container without seccomp=unconfined / CAP_PERFMON)".to_string()
        } else if ctx.cap_sys_admin == Some(true) || ctx.cap_perfmon == Some(true) {
            "refused although the process has CAP_SYS_ADMIN/CAP_PERFMON: an LSM or seccomp policy"
                .to_string()
        } else if paranoid.is_some_and(|p| p >= 3) {
            format!(
                "perf_event_paranoid = {} forbids all events without CAP_PERFMON",
                paranoid.unwrap_or(3)
            )
        } else {
            format!(
                "perf_event_paranoid = {} and no CAP_PERFMON/CAP_SYS_ADMIN",
                paranoid.map_or("unknown".into(), |p| p.to_string())
            )
        };
        return PerfStatus::PermissionDenied {
            errno,
            perf_event_paranoid: paranoid,
            likely_cause,
            message: first_lines(stderr, 6),
        };
    }
    let counters = parse_perf_csv(stderr);
    if !success || counters.is_empty() {
        return PerfStatus::Failed {
            detail: first_lines(stderr, 8),
        };
    }
    let unsupported: Vec<String> = counters
        .iter()
        .filter(|c| {
            HARDWARE_EVENTS.contains(&c.base_event()) && c.status == CounterStatus::NotSupported
        })
        .map(|c| c.event.clone())
        .collect();
    let software_ok = counters
        .iter()
        .any(|c| c.base_event() == "task-clock" && c.status == CounterStatus::Counted);
    if !unsupported.is_empty() && software_ok {
        PerfStatus::NoHardwarePmu { unsupported }
    } else if counters.iter().all(|c| c.status == CounterStatus::Counted) {
        PerfStatus::Works
    } else {
        PerfStatus::Failed {
            detail: format!("unexpected counter states: {}", first_lines(stderr, 8)),
        }
    }
}

fn first_lines(s: &str, n: usize) -> String {
    s.lines()
        .filter(|l| !l.trim().is_empty())
        .take(n)
        .collect::<Vec<_>>()
        .join("\n")
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PerfProbe {
    pub version: Option<String>,
    pub command: String,
    pub context: PermissionContext,
    #[serde(flatten)]
    pub status: PerfStatus,
}

/// Run the probe on this machine.
pub fn probe_perf() -> PerfProbe {
    let ctx = PermissionContext::read();
    let version = Command::new("perf")
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    let args = [
        "stat",
        "-x,",
        "-e",
        "task-clock,cycles,instructions",
        "--",
        "true",
    ];
    let status = match Command::new("perf").args(args).output() {
        Err(e) => classify_probe(Some(e.kind()), false, "", &ctx),
        Ok(o) => classify_probe(
            None,
            o.status.success(),
            &String::from_utf8_lossy(&o.stderr),
            &ctx,
        ),
    };
    PerfProbe {
        version,
        command: format!("perf {}", args.join(" ")),
        context: ctx,
        status,
    }
}

/// Cache geometry for cachegrind (`--I1/--D1/--LL=size,assoc,line`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CacheGeometry {
    pub size: u64,
    pub assoc: u64,
    pub line: u64,
}

impl CacheGeometry {
    /// cachegrind needs a power-of-two number of sets; shrink the size to the nearest valid one.
    pub fn valgrind_compatible(self) -> Self {
        let sets = (self.size / (self.assoc.max(1) * self.line.max(1))).max(1);
        let pow2 = 1u64 << (63 - sets.leading_zeros());
        CacheGeometry {
            size: pow2 * self.assoc.max(1) * self.line.max(1),
            ..self
        }
    }
    pub fn arg(&self) -> String {
        format!("{},{},{}", self.size, self.assoc, self.line)
    }
}

/// I1, D1 and last-level geometry from sysfs; Zen 4 values when sysfs is unavailable.
pub fn cache_geometry() -> (CacheGeometry, CacheGeometry, CacheGeometry) {
    let base = Path::new("/sys/devices/system/cpu/cpu0/cache");
    let mut found: Vec<(u32, String, CacheGeometry)> = Vec::new();
    for i in 0..8 {
        let dir = base.join(format!("index{i}"));
        let rd = |k: &str| {
            std::fs::read_to_string(dir.join(k))
                .ok()
                .map(|s| s.trim().to_string())
        };
        let (Some(level), Some(kind), Some(size), Some(assoc), Some(line)) = (
            rd("level"),
            rd("type"),
            rd("size"),
            rd("ways_of_associativity"),
            rd("coherency_line_size"),
        ) else {
            continue;
        };
        let mult = match size.chars().last() {
            Some('K') => 1024,
            Some('M') => 1 << 20,
            _ => 1,
        };
        let num: u64 = size.trim_end_matches(['K', 'M']).parse().unwrap_or(0);
        if let (Ok(level), Ok(assoc), Ok(line)) = (level.parse(), assoc.parse(), line.parse()) {
            found.push((
                level,
                kind,
                CacheGeometry {
                    size: num * mult,
                    assoc,
                    line,
                },
            ));
        }
    }
    let pick = |lvl: u32, kind: &str, default: CacheGeometry| {
        found
            .iter()
            .find(|(l, k, _)| *l == lvl && k == kind)
            .map_or(default, |(_, _, g)| *g)
    };
    let l1 = CacheGeometry {
        size: 32 << 10,
        assoc: 8,
        line: 64,
    };
    let ll = found
        .iter()
        .filter(|(_, k, _)| k == "Unified")
        .max_by_key(|(l, _, _)| *l)
        .map_or(
            CacheGeometry {
                size: 32 << 20,
                assoc: 16,
                line: 64,
            },
            |(_, _, g)| *g,
        );
    (
        pick(1, "Instruction", l1).valgrind_compatible(),
        pick(1, "Data", l1).valgrind_compatible(),
        ll.valgrind_compatible(),
    )
}

/// Totals from a cachegrind output file (`events:` + `summary:` lines).
pub fn parse_cachegrind(text: &str) -> Result<Vec<(String, u64)>, String> {
    let events = text
        .lines()
        .find_map(|l| l.strip_prefix("events:"))
        .ok_or("no `events:` line in cachegrind output")?;
    let summary = text
        .lines()
        .find_map(|l| l.strip_prefix("summary:"))
        .ok_or("no `summary:` line in cachegrind output")?;
    let names: Vec<&str> = events.split_whitespace().collect();
    let values: Vec<u64> = summary
        .split_whitespace()
        .map(|v| {
            v.parse()
                .map_err(|e| format!("bad summary value {v:?}: {e}"))
        })
        .collect::<Result<_, _>>()?;
    if names.len() != values.len() {
        return Err(format!(
            "{} events but {} summary values",
            names.len(),
            values.len()
        ));
    }
    Ok(names.into_iter().map(String::from).zip(values).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Captured on this VM: `perf stat -x, -e task-clock,cycles,instructions,... true` (perf 6.1).
    const NO_PMU: &str = "0.50,msec,task-clock,501563,100.00,0.278,CPUs utilized\n\
<not supported>,,cycles,0,100.00,,\n<not supported>,,instructions,0,100.00,,\n\
<not supported>,,cache-misses,0,100.00,,\n51,,page-faults,501563,100.00,101.682,K/sec\n";
    /// Bare-metal style output where the PMU works (user-only modifier as with paranoid 2).
    const WORKS: &str = "0.52,msec,task-clock:u,520113,100.00,0.600,CPUs utilized\n\
1823456,,cycles:u,520113,100.00,3.506,GHz\n1456789,,instructions:u,520113,100.00,0.80,insn per cycle\n";
    /// Older perf, perf_event_paranoid = 3 (Debian's extra-restrictive level), non-root user.
    const PARANOID: &str = "perf_event_open(..., PERF_FLAG_FD_CLOEXEC) failed with unexpected error 13 (Permission denied)\n\
perf_event_open(..., 0) failed unexpectedly with error 13 (Permission denied)\nError:\n\
You may not have permission to collect stats.\n\nConsider tweaking /proc/sys/kernel/perf_event_paranoid,\n\
which controls use of the performance events system by\nunprivileged users (without CAP_SYS_ADMIN).\n\n\
The current value is 3:\n";
    /// Container whose seccomp profile refuses perf_event_open with EPERM.
    const SECCOMP: &str = "perf_event_open(..., PERF_FLAG_FD_CLOEXEC) failed with unexpected error 1 (Operation not permitted)\n\
perf_event_open(..., 0) failed unexpectedly with error 1 (Operation not permitted)\nError:\n\
No permission to enable task-clock event.\n";
    /// Newer perf message without an errno.
    const LIMITED: &str =
        "Error:\nAccess to performance monitoring and observability operations is limited.\n\
Consider adjusting /proc/sys/kernel/perf_event_paranoid setting to open\n";
    /// Debian's /usr/bin/perf wrapper when no perf matches the running kernel.
    const WRAPPER: &str = "/usr/bin/perf: line 13: exec: perf_6.18: not found\nE: linux-perf-6.18 is not installed.\n";

    fn ctx(paranoid: i64, container: bool) -> PermissionContext {
        PermissionContext {
            perf_event_paranoid: Some(paranoid),
            cap_sys_admin: Some(false),
            cap_perfmon: Some(false),
            seccomp_mode: Some(if container { 2 } else { 0 }),
            in_container: container,
        }
    }

    #[test]
    fn csv_parser_keeps_unsupported_as_null_never_zero() {
        let c = parse_perf_csv(NO_PMU);
        assert_eq!(c.len(), 5);
        assert_eq!(c[0].value, Some(0.50));
        assert_eq!(c[0].unit, "msec");
        let cycles = c.iter().find(|c| c.event == "cycles").unwrap();
        assert_eq!(
            (cycles.value, cycles.status),
            (None, CounterStatus::NotSupported)
        );
        assert_eq!(c[4].value, Some(51.0));
        let w = parse_perf_csv(WORKS);
        assert_eq!(w[2].base_event(), "instructions");
        assert_eq!(w[2].value, Some(1_456_789.0));
        assert!(parse_perf_csv(PARANOID).is_empty());
    }

    #[test]
    fn each_probe_case_is_classified() {
        let c = ctx(2, false);
        assert!(
            matches!(classify_probe(None, true, NO_PMU, &c), PerfStatus::NoHardwarePmu { ref unsupported } if unsupported.len() == 3)
        );
        assert_eq!(classify_probe(None, true, WORKS, &c), PerfStatus::Works);
        assert!(matches!(
            classify_probe(Some(std::io::ErrorKind::NotFound), false, "", &c),
            PerfStatus::NotInstalled { .. }
        ));
        assert!(matches!(
            classify_probe(None, false, WRAPPER, &c),
            PerfStatus::NotInstalled { .. }
        ));
        match classify_probe(None, false, PARANOID, &ctx(3, false)) {
            PerfStatus::PermissionDenied {
                errno,
                perf_event_paranoid,
                likely_cause,
                ..
            } => {
                assert_eq!(errno, "EACCES");
                assert_eq!(perf_event_paranoid, Some(3));
                assert!(likely_cause.contains("paranoid = 3"), "{likely_cause}");
            }
            other => panic!("{other:?}"),
        }
        match classify_probe(None, false, SECCOMP, &ctx(2, true)) {
            PerfStatus::PermissionDenied {
                errno,
                likely_cause,
                ..
            } => {
                assert_eq!(errno, "EPERM");
                assert!(likely_cause.contains("seccomp"), "{likely_cause}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            classify_probe(None, false, LIMITED, &c),
            PerfStatus::PermissionDenied { .. }
        ));
        assert!(matches!(
            classify_probe(None, false, "perf: segfault\n", &c),
            PerfStatus::Failed { .. }
        ));
    }

    #[test]
    fn cachegrind_summary_is_parsed_and_malformed_files_are_errors() {
        let text = "desc: I1 cache: 32768 B\ncmd: python x.py\nevents: Ir I1mr ILmr Dr D1mr DLmr Dw D1mw DLmw \n\
fl=x\n1 2 3\nsummary: 376745883 4177096 19854 111824784 4659215 80184 53684052 677948 224220\n";
        let v = parse_cachegrind(text).unwrap();
        assert_eq!(v[0], ("Ir".to_string(), 376_745_883));
        assert_eq!(v[8], ("DLmw".to_string(), 224_220));
        assert!(parse_cachegrind("events: Ir\n").is_err());
        assert!(parse_cachegrind("events: Ir Dr\nsummary: 5\n").is_err());
    }

    #[test]
    fn cache_geometry_is_made_valgrind_compatible() {
        let odd = CacheGeometry {
            size: 12 << 20,
            assoc: 12,
            line: 64,
        }; // 16384 sets: fine
        assert_eq!(odd.valgrind_compatible(), odd);
        let bad = CacheGeometry {
            size: 96 << 20,
            assoc: 16,
            line: 64,
        }; // 98304 sets -> 65536
        assert_eq!(bad.valgrind_compatible().size, 64 << 20);
    }
}
