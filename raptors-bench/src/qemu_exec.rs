//! Execution counts of another architecture's code, from this machine, under qemu-user.
//!
//! valgrind cannot run the other architecture's build, but qemu-user's TCG can log every
//! translation block it executes (`QEMU_LOG=exec,nochain`; `nochain` so that chained blocks are
//! logged too). Counted per block start, that gives exact execution counts: which loop runs and
//! how often, never how fast. The other architecture's Python comes from Debian's packages for that
//! architecture, unpacked into a directory (no installation, [`Userland::prepare`]); NumPy is its
//! manylinux wheel and Raptors the kernels' cdylib, driven through its C API by
//! `python/qemu_exec_driver.py` with the op table's kernel calls.
//!
//! Each dtype costs two emulated Python runs: a probe that prints the libraries' load addresses
//! (fixed under qemu-user, which has no ASLR), then the counted run with logging limited to those
//! ranges (`QEMU_DFILTER`) plus the part marker (libc's `getppid`, as for callgrind).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

pub const QEMU_EXEC_SCHEMA: &str = "raptors-bench/qemu-exec/v1";
const DRIVER_PY: &str = include_str!("../python/qemu_exec_driver.py");

/// The files of the emulated driver's directory: the driver and the op table it imports.
fn driver_files() -> [(&'static str, &'static str); 3] {
    let [ops_py, ops_json] = crate::runner::OP_TABLE_FILES;
    [("qemu_exec_driver.py", DRIVER_PY), ops_py, ops_json]
}

/// Another architecture's Debian userland, unpacked, with the qemu-user binary that runs it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Userland {
    /// Directory holding the unpacked packages (`usr/bin/python3.X`, `lib/...`).
    pub root: PathBuf,
    /// The interpreter's path inside `root`, e.g. `/usr/bin/python3.11`.
    pub python: String,
    /// e.g. `qemu-aarch64-static`.
    pub qemu: String,
}

/// Debian packages an unpacked Python `version` needs for NumPy and ctypes.
fn userland_packages(version: &str, deb_arch: &str) -> Vec<String> {
    [
        format!("python{version}-minimal"),
        format!("libpython{version}-minimal"),
        format!("libpython{version}-stdlib"),
        "libc6".into(),
        "libffi8".into(),
        "zlib1g".into(),
        "libexpat1".into(),
        "libgcc-s1".into(),
        "libstdc++6".into(),
    ]
    .into_iter()
    .map(|p| format!("{p}:{deb_arch}"))
    .collect()
}

impl Userland {
    /// Python `version` (e.g. `3.11`, the version the NumPy wheel is built for) of Debian
    /// architecture `deb_arch` (e.g. `arm64`) in `dir`, downloaded with `apt-get download` and
    /// unpacked with `dpkg-deb -x` the first time. Needs apt to know that architecture
    /// (`dpkg --add-architecture`, as the cross toolchain's set-up does); the error says so.
    pub fn prepare(dir: &Path, deb_arch: &str, qemu: &str, version: &str) -> Result<Userland> {
        let python = format!("/usr/bin/python{version}");
        let land = Userland {
            root: dir.to_path_buf(),
            python: python.clone(),
            qemu: qemu.to_string(),
        };
        if dir.join(python.trim_start_matches('/')).is_file() {
            return Ok(land);
        }
        let debs = dir.join("debs");
        std::fs::create_dir_all(&debs).with_context(|| format!("creating {}", debs.display()))?;
        let pkgs = userland_packages(version, deb_arch);
        let out = Command::new("apt-get")
            .arg("download")
            .args(&pkgs)
            .current_dir(&debs)
            .output()
            .context("running apt-get download (a Debian-based system is needed)")?;
        if !out.status.success() {
            bail!(
                "apt-get download {} failed: {} (does apt know the {deb_arch} architecture? \
                 `dpkg --add-architecture {deb_arch} && apt-get update`)",
                pkgs.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        for entry in std::fs::read_dir(&debs)? {
            let deb = entry?.path();
            if deb.extension().is_some_and(|e| e == "deb") {
                let st = Command::new("dpkg-deb")
                    .arg("-x")
                    .arg(&deb)
                    .arg(dir)
                    .status()
                    .context("running dpkg-deb")?;
                if !st.success() {
                    bail!("dpkg-deb -x {} failed", deb.display());
                }
            }
        }
        if !dir.join(python.trim_start_matches('/')).is_file() {
            bail!("{python} is not in {} after unpacking", dir.display());
        }
        Ok(land)
    }

    /// `qemu -L root root/python`: the emulated interpreter; qemu looks up absolute paths
    /// (the dynamic loader, `/usr/lib/python3.X`) under `root` first.
    ///
    /// With `log` (file, `-dfilter` ranges) qemu logs every executed block. The logging options
    /// go on qemu's command line, not in `QEMU_*` variables: the guest sees its environment, and
    /// a different environment moves where the libraries are mapped.
    fn command(&self, pythonpath: &str, log: Option<(&Path, &str)>) -> Command {
        let mut cmd = Command::new(&self.qemu);
        cmd.arg("-L").arg(&self.root);
        if let Some((file, ranges)) = log {
            cmd.args(["-d", "exec,nochain", "-dfilter", ranges, "-D"])
                .arg(file);
        }
        cmd.arg(self.root.join(self.python.trim_start_matches('/')))
            .env("PYTHONPATH", pythonpath)
            .env("OPENBLAS_NUM_THREADS", "1")
            // One thread: the counts come in program order, as for callgrind.
            .env("RAPTORS_THREADS", "1")
            .env_remove("PYTHONHOME")
            .env_remove("QEMU_LOG")
            .env_remove("QEMU_DFILTER");
        cmd
    }
}

/// What to count.
#[derive(Clone, Debug)]
pub struct QemuExecOptions {
    pub userland: Userland,
    /// A directory holding the other architecture's `numpy` package (the wheel, unpacked).
    pub numpy_site: PathBuf,
    /// The kernels' cdylib built with the `capi` feature for that architecture.
    pub raptors_lib: PathBuf,
    pub ops: Vec<String>,
    pub dtypes: Vec<String>,
    /// Side of the square arrays (ops with a fixed shape keep theirs).
    pub size: usize,
    pub reps: usize,
    /// Scripts and logs go here (logs are removed once counted).
    pub work_dir: PathBuf,
}

/// One executable mapping the driver printed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mapping {
    pub path: String,
    pub start: u64,
    pub end: u64,
    pub offset: u64,
}

/// Executions of one library's blocks during one part.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LibraryBlocks {
    pub library: String,
    /// File offset of each executed block's first instruction → times executed. File offsets do
    /// not depend on the load address; `raptors_asm::segments` turns them into virtual addresses.
    pub blocks: BTreeMap<u64, u64>,
    /// Block executions in all (the sum of `blocks`).
    pub executed_blocks: u64,
}

/// One op × dtype: what each library executed, or why nothing is known.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpBlocks {
    pub op: String,
    pub dtype: String,
    pub shape: Vec<usize>,
    pub reps: usize,
    /// Input elements processed in each side's part (reps × elements of `x`).
    pub elements: u64,
    pub numpy: Result<LibraryBlocks, String>,
    pub raptors: Result<LibraryBlocks, String>,
}

/// One emulated run (one dtype).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DtypeRun {
    pub dtype: String,
    pub command: String,
    pub error: Option<String>,
}

/// Everything one [`run`] produced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QemuExecRun {
    pub schema: String,
    pub qemu: String,
    pub size: usize,
    pub reps: usize,
    pub runs: Vec<DtypeRun>,
    pub profiles: Vec<OpBlocks>,
}

impl QemuExecRun {
    pub fn profile(&self, op: &str, dtype: &str) -> Option<&OpBlocks> {
        self.profiles
            .iter()
            .find(|p| p.op == op && p.dtype == dtype)
    }
}

/// The driver's stdout: the marker address, the mappings, and per-side errors.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DriverOutput {
    pub marker: Option<u64>,
    pub maps: Vec<Mapping>,
    /// Every other executable mapping, `[start, end)` (the interpreter, libc, …).
    pub others: Vec<(u64, u64)>,
    /// (op, side, message)
    pub errors: Vec<(String, String, String)>,
}

pub fn parse_driver_output(stdout: &str) -> Result<DriverOutput> {
    #[derive(Deserialize)]
    struct Line {
        marker: Option<u64>,
        maps: Option<Vec<Mapping>>,
        others: Option<Vec<(u64, u64)>>,
        op: Option<String>,
        side: Option<String>,
        error: Option<String>,
    }
    let mut out = DriverOutput::default();
    for (n, line) in stdout
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let l: Line = serde_json::from_str(line)
            .with_context(|| format!("driver output line {}: {line:?}", n + 1))?;
        if let Some(m) = l.marker {
            out.marker = Some(m);
        }
        if let Some(m) = l.maps {
            out.maps = m;
        }
        if let Some(o) = l.others {
            out.others = o;
        }
        if let (Some(op), Some(side), Some(e)) = (l.op, l.side, l.error) {
            out.errors.push((op, side, e));
        }
    }
    Ok(out)
}

/// Block executions per guest address, one map per part; a new part starts at every execution of
/// the block at `marker`. Lines look like
/// `Trace 0: 0x7fc2fc0df9c0 [0000000001009731/0000005500a5d300/00000001/00080200] name`
/// (qemu 7+: the second field is the guest PC); other lines are ignored.
pub fn parse_log(reader: impl BufRead, marker: u64) -> Result<Vec<BTreeMap<u64, u64>>> {
    let mut parts = vec![BTreeMap::new()];
    for line in reader.lines() {
        let line = line.context("reading the qemu exec log")?;
        let Some(pc) = guest_pc(&line) else { continue };
        if pc == marker {
            parts.push(BTreeMap::new());
        } else if let Some(part) = parts.last_mut() {
            *part.entry(pc).or_insert(0u64) += 1;
        }
    }
    Ok(parts)
}

fn guest_pc(line: &str) -> Option<u64> {
    let rest = line.strip_prefix("Trace ")?;
    let fields = &rest[rest.find('[')? + 1..];
    let fields = &fields[..fields.find(']')?];
    let pc = fields.split('/').nth(1)?;
    u64::from_str_radix(pc, 16).ok()
}

/// How far around each probed mapping the counted run logs. qemu-user has no ASLR, but its own
/// allocations (the log's buffers) share the address space and can move a library loaded later
/// by a few hundred KiB; the counted run's own mappings decide what is attributed.
pub const DFILTER_SLACK: u64 = 16 << 20;

/// The address window logged around mapping `m`: widened by [`DFILTER_SLACK`] either side, but
/// never into another executable mapping (`others`, `[start, end)`). The interpreter's own code
/// sits a few MiB below NumPy's under qemu-user; inside the window it put every bytecode's blocks
/// in the log (2 GB for two ops at 64², which filled the disk of a fresh clone's profile run).
fn window(m: &Mapping, others: &[(u64, u64)]) -> (u64, u64) {
    let mut lo = m.start.saturating_sub(DFILTER_SLACK);
    let mut hi = m.end.saturating_add(DFILTER_SLACK);
    for &(start, end) in others {
        if end <= m.start {
            lo = lo.max(end);
        } else if start >= m.end {
            hi = hi.min(start);
        }
    }
    (lo, hi)
}

/// The `-dfilter` value: every mapping's [`window`], plus the marker's first instruction.
pub fn dfilter(maps: &[Mapping], others: &[(u64, u64)], marker: u64) -> String {
    let mut ranges: Vec<String> = maps
        .iter()
        .map(|m| {
            let (lo, hi) = window(m, others);
            format!("0x{lo:x}..0x{:x}", hi.saturating_sub(1))
        })
        .collect();
    ranges.push(format!("0x{marker:x}..0x{:x}", marker + 3));
    ranges.join(",")
}

/// Whether every mapping of `run` lies inside the windows [`dfilter`] made from `probe`.
pub fn covered(probe: &[Mapping], others: &[(u64, u64)], run: &[Mapping]) -> bool {
    run.iter().all(|m| {
        probe.iter().any(|p| {
            let (lo, hi) = window(p, others);
            p.path == m.path && lo <= m.start && m.end <= hi
        })
    })
}

/// The blocks of one part that fall in `lib`'s mappings, keyed by file offset.
pub fn blocks_in(part: &BTreeMap<u64, u64>, maps: &[Mapping], lib: &str) -> LibraryBlocks {
    let mut blocks = BTreeMap::new();
    for m in maps.iter().filter(|m| m.path == lib) {
        for (&pc, &n) in part.range(m.start..m.end) {
            *blocks.entry(pc - m.start + m.offset).or_insert(0) += n;
        }
    }
    LibraryBlocks {
        library: lib.to_string(),
        executed_blocks: blocks.values().sum(),
        blocks,
    }
}

/// Runs one emulated process per dtype and attributes the parts. A dtype that fails is recorded
/// in its [`DtypeRun::error`]; only set-up problems are an `Err`.
pub fn run(o: &QemuExecOptions) -> Result<QemuExecRun> {
    let table = crate::ops::table();
    if o.ops.is_empty() || o.dtypes.is_empty() || o.size == 0 || o.reps == 0 {
        bail!("qemu exec: ops, dtypes, size and repetitions must not be empty or zero");
    }
    for op in &o.ops {
        table.op(op)?;
    }
    std::fs::create_dir_all(&o.work_dir)?;
    for (name, text) in driver_files() {
        std::fs::write(o.work_dir.join(name), text)?;
    }
    let qemu = Command::new(&o.userland.qemu)
        .arg("--version")
        .output()
        .with_context(|| format!("running {} (qemu-user)", o.userland.qemu))?;
    let qemu_version = String::from_utf8_lossy(&qemu.stdout)
        .lines()
        .next()
        .unwrap_or("")
        .to_string();
    let mut run = QemuExecRun {
        schema: QEMU_EXEC_SCHEMA.into(),
        qemu: qemu_version,
        size: o.size,
        reps: o.reps,
        runs: Vec::new(),
        profiles: Vec::new(),
    };
    for dtype in &o.dtypes {
        table.dtype(dtype)?;
    }
    // One emulated process per dtype, side by side: each logs to its own file, and emulation is
    // single-threaded, so a second core halves the wall time.
    let results: Vec<(String, Result<Vec<OpBlocks>>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = o
            .dtypes
            .iter()
            .map(|dtype| scope.spawn(move || run_dtype(o, dtype)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| (String::new(), Err(anyhow::anyhow!("panicked"))))
            })
            .collect()
    });
    for (dtype, (command, result)) in o.dtypes.iter().zip(results) {
        match result {
            Ok(profiles) => {
                run.runs.push(DtypeRun {
                    dtype: dtype.clone(),
                    command,
                    error: None,
                });
                run.profiles.extend(profiles);
            }
            Err(e) => run.runs.push(DtypeRun {
                dtype: dtype.clone(),
                command,
                error: Some(format!("{e:#}")),
            }),
        }
    }
    Ok(run)
}

fn run_dtype(o: &QemuExecOptions, dtype: &str) -> (String, Result<Vec<OpBlocks>>) {
    let pythonpath = format!("{}:{}", o.work_dir.display(), o.numpy_site.display());
    let driver = o.work_dir.join("qemu_exec_driver.py");
    let args = |probe: bool| {
        let mut a = vec![
            driver.display().to_string(),
            "--dtype".into(),
            dtype.into(),
            "--ops".into(),
            o.ops.join(","),
            "--size".into(),
            o.size.to_string(),
            "--reps".into(),
            o.reps.to_string(),
            "--raptors-lib".into(),
            o.raptors_lib.display().to_string(),
        ];
        if probe {
            a.push("--probe".into());
        }
        a
    };
    let log = o.work_dir.join(format!("exec-{dtype}.log"));
    let command = format!(
        "{} -L {} -d exec,nochain -dfilter <the libraries' text> {} {}",
        o.userland.qemu,
        o.userland.root.display(),
        o.userland.python,
        args(false).join(" ")
    );
    let result = (|| {
        let probe = run_driver(
            o.userland.command(&pythonpath, None).args(args(true)),
            "probe",
        )?;
        let mut marker = probe
            .marker
            .context("the probe printed no marker address")?;
        let numpy_lib = probe
            .maps
            .iter()
            .find(|m| m.path.contains("_multiarray_umath"))
            .map(|m| m.path.clone())
            .context("the probe found no executable mapping of NumPy's _multiarray_umath")?;
        let raptors_lib = probe
            .maps
            .iter()
            .find(|m| !m.path.contains("_multiarray_umath"))
            .map(|m| m.path.clone())
            .context("the probe found no executable mapping of the Raptors library")?;
        // The counted run logs around the probed mappings; if a library landed outside them
        // (or the marker moved), once more around where it landed.
        let (mut around, mut others) = (probe.maps.clone(), probe.others.clone());
        let mut attempt = 0;
        let (counted, parts) = loop {
            attempt += 1;
            let ranges = dfilter(&around, &others, marker);
            let mut cmd = o.userland.command(&pythonpath, Some((&log, &ranges)));
            cmd.args(args(false));
            let counted = run_driver(&mut cmd, "counted run");
            let parts = std::fs::File::open(&log)
                .with_context(|| format!("opening {}", log.display()))
                .and_then(|f| parse_log(BufReader::new(f), marker));
            let _ = std::fs::remove_file(&log);
            let counted = counted?;
            if counted.marker == Some(marker) && covered(&around, &others, &counted.maps) {
                break (counted, parts?);
            }
            if attempt == 2 {
                bail!(
                    "the libraries' load addresses moved between emulated runs twice \
                     (probe {:?}, counted run {:?})",
                    around,
                    counted.maps
                );
            }
            (around, others) = (counted.maps, counted.others);
            marker = counted
                .marker
                .context("the counted run printed no marker address")?;
        };
        let n = o.ops.len();
        if parts.len() != 2 * n + 2 {
            bail!(
                "the log has {} parts, expected {} (set-up, two per op, teardown)",
                parts.len(),
                2 * n + 2
            );
        }
        let table = crate::ops::table();
        o.ops
            .iter()
            .enumerate()
            .map(|(k, op)| {
                let shape = table.op(op)?.shape_for(o.size);
                let side = |i: usize, lib: &str, name: &str| {
                    if let Some((_, _, e)) = counted
                        .errors
                        .iter()
                        .find(|(eo, es, _)| eo == op && es == name)
                    {
                        return Err(e.clone());
                    }
                    let b = blocks_in(&parts[i], &counted.maps, lib);
                    if b.executed_blocks == 0 {
                        return Err(format!("no block of {lib} ran during the op"));
                    }
                    Ok(b)
                };
                Ok(OpBlocks {
                    op: op.clone(),
                    dtype: dtype.to_string(),
                    elements: table.op(op)?.elements_per_call(&shape) * o.reps as u64,
                    shape,
                    reps: o.reps,
                    numpy: side(1 + 2 * k, &numpy_lib, "numpy"),
                    raptors: side(2 + 2 * k, &raptors_lib, "raptors"),
                })
            })
            .collect()
    })();
    (command, result)
}

fn run_driver(cmd: &mut Command, what: &str) -> Result<DriverOutput> {
    let out = cmd
        .output()
        .with_context(|| format!("starting the emulated Python ({what})"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().rev().take(6).collect();
        bail!(
            "the emulated driver ({what}) failed ({}): {}",
            out.status,
            tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
        );
    }
    parse_driver_output(&String::from_utf8_lossy(&out.stdout))
}

#[cfg(test)]
mod tests;
