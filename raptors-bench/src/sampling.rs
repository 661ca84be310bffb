//! Where a real run spends its time, by sampling: `perf record -e cpu-clock`.
//!
//! callgrind counts instructions exactly but runs the program on valgrind's CPU, which has no
//! AVX-512 (so it never sees the kernels a real run on an AVX-512 machine uses). `cpu-clock` is a
//! software event: it needs no hardware PMU (it works in this VM) and samples whatever code the
//! CPU really executes. The samples say which function — and which addresses inside it — the time
//! went to, per shared object and per thread; a function's loop is then chosen from the sampled
//! addresses (`chosen_by: perf-sample`).
//!
//! Addresses are reported as **file offsets** in each object (from perf's mmap events: sample ip −
//! mapping start + mapping offset), so they do not depend on where the loader put the library;
//! turning a file offset into the ELF's virtual address is the disassembler's job (raptors-asm).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

/// The event sampled: a software clock, so it works without a PMU.
pub const EVENT: &str = "cpu-clock";

/// Why sampling did not produce samples.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum SamplingError {
    /// No perf binary (or the distribution wrapper has no perf for this kernel).
    #[error("perf is not installed or not runnable here: {detail}")]
    NotInstalled { detail: String },
    /// perf_event_open refused (container without the capability, perf_event_paranoid > 2, ...).
    #[error("perf record was refused ({detail}); perf_event_paranoid = {paranoid}")]
    PermissionDenied { detail: String, paranoid: String },
    /// perf ran but the workload or perf failed.
    #[error("perf record failed: {detail}")]
    Failed { detail: String },
    /// perf script's output could not be read.
    #[error("perf script output: {detail}")]
    Parse { detail: String },
}

/// Samples of one shared object (or `[kernel.kallsyms]`, `[vdso]`, an anonymous JIT region...).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ObjectSamples {
    /// The object's path as perf printed it.
    pub object: String,
    pub samples: u64,
    /// Samples per symbol as perf resolved it (`[unknown]` where it could not), most first.
    pub symbols: Vec<SymbolSamples>,
    /// Samples per file offset of the sampled instruction, where the mapping was known.
    pub file_offsets: BTreeMap<u64, u64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SymbolSamples {
    pub symbol: String,
    pub samples: u64,
}

/// Everything one `perf record` saw.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Samples {
    pub event: String,
    pub total: u64,
    /// Per object, most samples first.
    pub objects: Vec<ObjectSamples>,
    /// Samples per thread id; the process's main thread has tid == pid.
    pub threads: BTreeMap<u32, u64>,
    /// The sampled process's pid (the first non-kernel sample's), if any sample was seen.
    pub pid: Option<u32>,
}

impl Samples {
    /// The object whose path ends with `path`'s file name and is the same file (perf prints the
    /// path the loader used, which may differ from `path` by symlinks).
    pub fn object(&self, path: &Path) -> Option<&ObjectSamples> {
        let want = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        self.objects.iter().find(|o| {
            let got = std::fs::canonicalize(&o.object).unwrap_or_else(|_| PathBuf::from(&o.object));
            got == want
        })
    }

    /// Samples outside the main thread (helper threads), as a share of all samples.
    pub fn other_threads_share(&self) -> Option<f64> {
        let pid = self.pid?;
        let main = self.threads.get(&pid).copied().unwrap_or(0);
        (self.total > 0).then(|| (self.total - main) as f64 / self.total as f64)
    }
}

/// Runs `workload` under `perf record -e cpu-clock -F frequency`, writing `data`; returns the
/// workload's stdout. Sample times are CLOCK_MONOTONIC (`-k`), the clock of Python's
/// `time.monotonic()`, so a workload can print when each of its parts ran ([`read_windows`]).
pub fn record(workload: &Command, data: &Path, frequency_hz: u32) -> Result<String, SamplingError> {
    let mut cmd = Command::new("perf");
    cmd.args([
        "record",
        "-q",
        "-k",
        "CLOCK_MONOTONIC",
        "-e",
        EVENT,
        "-F",
        &frequency_hz.to_string(),
        "-o",
    ])
    .arg(data)
    .arg("--")
    .arg(workload.get_program())
    .args(workload.get_args());
    if let Some(dir) = workload.get_current_dir() {
        cmd.current_dir(dir);
    }
    for (k, v) in workload.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let out = cmd.output().map_err(|e| SamplingError::NotInstalled {
        detail: format!("cannot run perf: {e}"),
    })?;
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    Err(classify_failure(&stderr, out.status.code()))
}

/// Sampling frequency of [`sample_ops`]: ~300 samples per side and op in 0.15 s.
pub const OP_FREQUENCY_HZ: u32 = 1999;

/// Samples of every op × dtype as a real run executes it: per dtype, one `perf record` of
/// `python/callgrind_driver.py` repeating each op (op table expressions, `size`²) for `seconds`
/// on NumPy, then on Raptors at Raptors's own SIMD level and thread count; the driver prints when
/// each op ran, and each op gets the samples of its time window. NumPy's and Raptors's samples
/// fall into their own shared objects ([`Samples::object`]). `Err` when perf cannot sample on this
/// machine at all (not installed, refused); otherwise each op × dtype has its samples or the
/// reason it has none. `work` holds perf's data files while they are read.
#[allow(clippy::type_complexity)]
pub fn sample_ops(
    python: &Path,
    cells: &[(String, String)],
    size: usize,
    seconds: f64,
    work: &Path,
) -> Result<BTreeMap<(String, String), Result<Samples, SamplingError>>, SamplingError> {
    let failed = |detail: String| SamplingError::Failed { detail };
    let script = crate::runner::python_scripts()
        .map_err(|e| failed(format!("{e:#}")))?
        .join("callgrind_driver.py");
    std::fs::create_dir_all(work).map_err(|e| failed(format!("{}: {e}", work.display())))?;
    let mut out = BTreeMap::new();
    let mut dtypes: Vec<&String> = cells.iter().map(|c| &c.1).collect();
    dtypes.dedup();
    for dtype in dtypes {
        let ops: Vec<&str> = cells
            .iter()
            .filter(|c| &c.1 == dtype)
            .map(|c| c.0.as_str())
            .collect();
        let data = work.join(format!("perf-{dtype}.data"));
        let mut cmd = crate::runner::python_command(python, None);
        cmd.arg(&script)
            .args(["--dtype", dtype, "--ops", &ops.join(","), "--reps", "1"])
            .args([
                "--size",
                &size.to_string(),
                "--seconds",
                &seconds.to_string(),
            ]);
        let per_op = match record(&cmd, &data, OP_FREQUENCY_HZ) {
            Err(
                e @ (SamplingError::NotInstalled { .. } | SamplingError::PermissionDenied { .. }),
            ) => return Err(e),
            Err(e) => Err(e),
            Ok(stdout) => {
                let windows = op_windows(&stdout);
                read_windows(&data, &windows)
                    .map(|s| windows.into_iter().map(|w| w.0).zip(s).collect::<Vec<_>>())
            }
        };
        let _ = std::fs::remove_file(&data);
        for op in ops {
            let r = match &per_op {
                Ok(m) => m
                    .iter()
                    .find(|(o, _)| o == op)
                    .map(|(_, s)| s.clone())
                    .ok_or_else(|| {
                        failed(format!(
                            "the driver did not report running {op} (it raised, or stopped early)"
                        ))
                    }),
                Err(e) => Err(e.clone()),
            };
            out.insert((op.to_string(), dtype.clone()), r);
        }
    }
    let _ = std::fs::remove_dir_all(work);
    Ok(out)
}

/// Per op, from the driver's `{"window": op, "side", "start", "end"}` lines: from the start of its
/// first side to the end of its last (CLOCK_MONOTONIC seconds).
pub fn op_windows(driver_stdout: &str) -> Vec<(String, f64, f64)> {
    let mut out: Vec<(String, f64, f64)> = Vec::new();
    for v in driver_stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
    {
        let (Some(op), Some(a), Some(b)) =
            (v["window"].as_str(), v["start"].as_f64(), v["end"].as_f64())
        else {
            continue;
        };
        match out.iter_mut().find(|w| w.0 == op) {
            Some(w) => (w.1, w.2) = (w.1.min(a), w.2.max(b)),
            None => out.push((op.to_string(), a, b)),
        }
    }
    out
}

/// Tells a refusal from a missing perf from a failing workload, by what perf printed.
pub fn classify_failure(stderr: &str, code: Option<i32>) -> SamplingError {
    let detail = stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(4)
        .collect::<Vec<_>>()
        .join(" / ");
    let lower = stderr.to_lowercase();
    if lower.contains("perf not found for kernel") || lower.contains("command not found") {
        SamplingError::NotInstalled { detail }
    } else if lower.contains("permission")
        || lower.contains("perf_event_paranoid")
        || lower.contains("eacces")
        || lower.contains("eperm")
        || lower.contains("operation not permitted")
    {
        SamplingError::PermissionDenied {
            detail,
            paranoid: std::fs::read_to_string("/proc/sys/kernel/perf_event_paranoid")
                .map(|s| s.trim().to_string())
                .unwrap_or_else(|e| format!("unreadable ({e})")),
        }
    } else {
        SamplingError::Failed {
            detail: format!("exit {code:?}: {detail}"),
        }
    }
}

/// Reads `data` with `perf script` (samples and mmap events) and aggregates it.
pub fn read(data: &Path) -> Result<Samples, SamplingError> {
    parse_script(&script(data)?)
}

/// [`read`], one aggregate per time window `(name, start, end)` (seconds, the recording's clock).
pub fn read_windows(
    data: &Path,
    windows: &[(String, f64, f64)],
) -> Result<Vec<Samples>, SamplingError> {
    let text = script(data)?;
    windows
        .iter()
        .map(|(_, a, b)| parse_script_in(&text, Some((*a, *b))))
        .collect()
}

fn script(data: &Path) -> Result<String, SamplingError> {
    let out = Command::new("perf")
        .args([
            "script",
            "--show-mmap-events",
            "-F",
            "comm,pid,tid,time,ip,sym,dso",
            "-i",
        ])
        .arg(data)
        .output()
        .map_err(|e| SamplingError::NotInstalled {
            detail: format!("cannot run perf script: {e}"),
        })?;
    if !out.status.success() {
        return Err(SamplingError::Failed {
            detail: format!(
                "perf script: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// One executable mapping: `[start, start + len)` maps file offset `pgoff` onwards of `object`.
#[derive(Clone, Debug)]
struct Mapping {
    start: u64,
    len: u64,
    pgoff: u64,
    object: String,
}

/// Parses `perf script --show-mmap-events -F comm,pid,tid[,time],ip,sym,dso` output.
///
/// Sample lines: `python 18996/18996  7f5b6037d7c2 dispatcher_new (/path/lib.so)`, with `time`
/// `python 18996/18996  9710.215146:  7f5b6037d7c2 …`.
/// Mapping lines: `python 18996/18996 PERF_RECORD_MMAP2 18996/18996: [0x7f..(0x787000) @ 0x2b000 fe:00 5334350 0]: r-xp /path/lib.so`.
pub fn parse_script(text: &str) -> Result<Samples, SamplingError> {
    parse_script_in(text, None)
}

/// [`parse_script`] of the samples taken within `window` (start, end) only (mappings from any time).
pub fn parse_script_in(text: &str, window: Option<(f64, f64)>) -> Result<Samples, SamplingError> {
    let mut maps: Vec<Mapping> = Vec::new();
    let mut per_object: BTreeMap<String, ObjectSamples> = BTreeMap::new();
    let mut per_symbol: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut s = Samples {
        event: EVENT.to_string(),
        ..Samples::default()
    };
    for (n, line) in text.lines().enumerate() {
        if let Some(at) = line.find("PERF_RECORD_MMAP") {
            if let Some(m) = parse_mmap(&line[at..]) {
                maps.push(m);
            }
            continue;
        }
        if line.contains("PERF_RECORD_") || line.trim().is_empty() {
            continue;
        }
        let bad = |why: &str| SamplingError::Parse {
            detail: format!("line {}: {why}: {line:?}", n + 1),
        };
        // The object is the last parenthesised field; comm may contain spaces, so parse from the
        // right for dso and from the pid/tid field for the rest.
        let open = line.rfind(" (").ok_or_else(|| bad("no object"))?;
        let object = line[open + 2..]
            .trim_end()
            .trim_end_matches(')')
            .to_string();
        let head = &line[..open];
        let mut words = head.split_whitespace().collect::<Vec<_>>();
        let ids_at = words
            .iter()
            .position(|w| {
                w.split_once('/')
                    .is_some_and(|(p, t)| p.parse::<u32>().is_ok() && t.parse::<u32>().is_ok())
            })
            .ok_or_else(|| bad("no pid/tid"))?;
        let (pid, tid) = words[ids_at].split_once('/').expect("checked above");
        let (pid, tid): (u32, u32) = (pid.parse().unwrap_or(0), tid.parse().unwrap_or(0));
        let mut rest = words.split_off(ids_at + 1);
        let time = rest
            .first()
            .and_then(|w| w.strip_suffix(':')?.parse::<f64>().ok());
        if time.is_some() {
            rest.remove(0);
        }
        if let (Some((a, b)), Some(t)) = (window, time) {
            if t < a || t > b {
                continue;
            }
        }
        let ip = rest
            .first()
            .and_then(|w| u64::from_str_radix(w, 16).ok())
            .ok_or_else(|| bad("no instruction pointer"))?;
        let symbol = if rest.len() > 1 {
            rest[1..].join(" ")
        } else {
            "[unknown]".to_string()
        };
        s.total += 1;
        *s.threads.entry(tid).or_default() += 1;
        if s.pid.is_none() && pid != 0 {
            s.pid = Some(pid);
        }
        let entry = per_object
            .entry(object.clone())
            .or_insert_with(|| ObjectSamples {
                object: object.clone(),
                ..ObjectSamples::default()
            });
        entry.samples += 1;
        // The newest mapping of this object that contains ip (a library re-mapped later wins).
        if let Some(m) = maps
            .iter()
            .rev()
            .find(|m| m.object == object && ip >= m.start && ip - m.start < m.len)
        {
            *entry
                .file_offsets
                .entry(ip - m.start + m.pgoff)
                .or_default() += 1;
        }
        *per_symbol.entry((object, symbol)).or_default() += 1;
    }
    for ((object, symbol), samples) in per_symbol {
        if let Some(o) = per_object.get_mut(&object) {
            o.symbols.push(SymbolSamples { symbol, samples });
        }
    }
    s.objects = per_object.into_values().collect();
    for o in &mut s.objects {
        o.symbols
            .sort_by(|a, b| b.samples.cmp(&a.samples).then(a.symbol.cmp(&b.symbol)));
    }
    s.objects
        .sort_by(|a, b| b.samples.cmp(&a.samples).then(a.object.cmp(&b.object)));
    Ok(s)
}

/// `PERF_RECORD_MMAP2 pid/tid: [0xSTART(0xLEN) @ 0xPGOFF ...]: prot PATH` (also MMAP).
fn parse_mmap(text: &str) -> Option<Mapping> {
    let open = text.find('[')?;
    let close = text[open..].find("]:")? + open;
    let inside = &text[open + 1..close];
    let (range, rest) = inside.split_once('(')?;
    let start = parse_hex(range.trim())?;
    let (len, rest) = rest.split_once(')')?;
    let len = parse_hex(len.trim())?;
    let pgoff = rest.trim().strip_prefix('@')?.split_whitespace().next()?;
    let pgoff = parse_hex(pgoff)?;
    let tail = text[close + 2..].trim();
    // `r-xp /path` (MMAP2) or `x /path` (MMAP): the path is everything after the protection word.
    let (prot, object) = tail.split_once(' ')?;
    if !prot.contains('x') {
        return None;
    }
    Some(Mapping {
        start,
        len,
        pgoff,
        object: object.trim().to_string(),
    })
}

fn parse_hex(s: &str) -> Option<u64> {
    let s = s.strip_prefix("0x").unwrap_or(s);
    u64::from_str_radix(s, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Recorded from `perf script --show-mmap-events -F comm,pid,tid,ip,sym,dso` on this VM
    // (perf 6.x, NumPy x + y loop), shortened.
    const RECORDED: &str = "\
         swapper     0/0     PERF_RECORD_MMAP -1/0: [0xffffffff81000000(0x1276f48) @ 0xffffffff81000000]: x [kernel.kallsyms]_text
          python 18996/18996 PERF_RECORD_MMAP2 18996/18996: [0x7f5b6022b000(0x787000) @ 0x2b000 fe:00 5334350 3796673200]: r-xp /opt/np/_multiarray_umath.so
          python 18996/18996 PERF_RECORD_MMAP2 18996/18996: [0x7f5b5f000000(0x1000) @ 0x5000 fe:00 1 0]: rw-p /opt/np/data.bin
          python 18996/18996      7f5b6037d7c2 FLOAT_add_AVX2 (/opt/np/_multiarray_umath.so)
          python 18996/18996      7f5b6037d7c2 FLOAT_add_AVX2 (/opt/np/_multiarray_umath.so)
          python 18996/18996      7f5b6037d7d0 FLOAT_add_AVX2 (/opt/np/_multiarray_umath.so)
          python 18996/19001      7f5b6022c000 [unknown] (/opt/np/_multiarray_umath.so)
          python 18996/18996  ffffffff816cb559 memfd_check_seals_mmap ([kernel.kallsyms])
 python worker 18996/19002      7f00000000aa [unknown] ([unknown])
";

    #[test]
    fn samples_are_aggregated_per_object_symbol_offset_and_thread() {
        let s = parse_script(RECORDED).unwrap();
        assert_eq!(s.total, 6);
        assert_eq!(s.pid, Some(18996));
        assert_eq!(s.threads.get(&18996), Some(&4));
        assert_eq!(s.threads.get(&19001), Some(&1));
        let np = &s.objects[0];
        assert_eq!(np.object, "/opt/np/_multiarray_umath.so");
        assert_eq!(np.samples, 4);
        assert_eq!(np.symbols[0].symbol, "FLOAT_add_AVX2");
        assert_eq!(np.symbols[0].samples, 3);
        // ip − start + pgoff
        assert_eq!(
            np.file_offsets
                .get(&(0x7f5b6037d7c2 - 0x7f5b6022b000 + 0x2b000)),
            Some(&2)
        );
        assert_eq!(np.file_offsets.get(&0x2c000), Some(&1));
        // A sample in an object without an executable mapping has no offset, but is counted.
        let unknown = s.objects.iter().find(|o| o.object == "[unknown]").unwrap();
        assert_eq!(unknown.samples, 1);
        assert!(unknown.file_offsets.is_empty());
        assert_eq!(s.other_threads_share(), Some(2.0 / 6.0));
    }

    #[test]
    fn samples_are_split_into_the_time_windows_the_workload_reports() {
        let stdout = concat!(
            "{\"window\": \"sum\", \"side\": \"numpy\", \"start\": 9.5, \"end\": 10.5}\n",
            "{\"modules\": {}}\n",
            "{\"window\": \"sum\", \"side\": \"raptors\", \"start\": 10.5, \"end\": 11.0}\n",
            "{\"window\": \"add\", \"side\": \"numpy\", \"start\": 11.5, \"end\": 12.5}\n",
        );
        let w = op_windows(stdout);
        assert_eq!(
            w,
            [
                ("sum".to_string(), 9.5, 11.0),
                ("add".to_string(), 11.5, 12.5)
            ]
        );
        let text = "\
 python 7/7 9.0: PERF_RECORD_MMAP2 7/7: [0x7f0000000000(0x10000) @ 0x1000 fe:00 1 0]: r-xp /opt/lib.so
 python 7/7  10.000100:  7f0000000010 sum_loop (/opt/lib.so)
 python 7/8  10.900000:  7f0000000020 sum_loop (/opt/lib.so)
 python 7/7  12.000000:  7f0000000030 add_loop (/opt/lib.so)
";
        let sum = parse_script_in(text, Some((w[0].1, w[0].2))).unwrap();
        assert_eq!(
            (sum.total, sum.objects[0].symbols[0].symbol.as_str()),
            (2, "sum_loop")
        );
        assert_eq!(sum.objects[0].file_offsets.get(&0x1010), Some(&1));
        let add = parse_script_in(text, Some((w[1].1, w[1].2))).unwrap();
        assert_eq!(
            (add.total, add.objects[0].symbols[0].symbol.as_str()),
            (1, "add_loop")
        );
        assert_eq!(parse_script(text).unwrap().total, 3);
    }

    #[test]
    fn a_line_without_an_instruction_pointer_is_an_error_naming_the_line() {
        let err = parse_script("python 1/1 zzz sym (/lib.so)\n").unwrap_err();
        assert!(
            matches!(&err, SamplingError::Parse { detail } if detail.starts_with("line 1")),
            "{err}"
        );
    }

    #[test]
    fn refusals_are_told_from_failures() {
        assert!(matches!(
            classify_failure("Error:\nAccess to performance monitoring and observability operations is limited.\nperf_event_paranoid setting is 4", Some(255)),
            SamplingError::PermissionDenied { .. }
        ));
        assert!(matches!(
            classify_failure("WARNING: perf not found for kernel 6.1.0\n", Some(2)),
            SamplingError::NotInstalled { .. }
        ));
        assert!(matches!(
            classify_failure("workload failed: No such file or directory\n", Some(255)),
            SamplingError::Failed { .. }
        ));
    }
}

#[cfg(test)]
mod live {
    use super::*;

    /// Samples a real process: a busy loop in the shell has its samples in the shell's object
    /// (or libc), with file offsets from the mmap events. Where this machine cannot sample, the
    /// reason must be a classified one (never an unreadable failure).
    #[test]
    fn a_real_process_is_sampled_with_file_offsets() {
        let dir = std::env::temp_dir().join(format!("raptors-sampling-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let data = dir.join("perf.data");
        let mut work = Command::new("sh");
        work.args(["-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done"]);
        match record(&work, &data, 999) {
            Ok(_) => {
                let s = read(&data).unwrap();
                assert!(s.total > 10, "{} samples", s.total);
                assert!(
                    s.objects.iter().any(|o| !o.file_offsets.is_empty()),
                    "no sample was mapped to a file offset: {:?}",
                    s.objects.iter().map(|o| &o.object).collect::<Vec<_>>()
                );
                assert!(s.pid.is_some());
            }
            Err(
                e @ (SamplingError::PermissionDenied { .. } | SamplingError::NotInstalled { .. }),
            ) => {
                eprintln!("sampling unavailable here (classified): {e}");
            }
            Err(e) => panic!("unclassified sampling failure: {e}"),
        }
        std::fs::remove_dir_all(&dir).ok();
    }
}
