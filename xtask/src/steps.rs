//! Named steps, for every xtask command: each is announced, timed, recorded with its outcome and
//! (when it failed or was skipped) the reason; a failing or panicking step never stops the others.
//! A profile also logs every step and command to `profile.log`; the test command streams its
//! commands' output and keeps the test counts they print.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{mpsc, Mutex};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

/// Test counts parsed from a runner's closing lines (cargo test / libtest, pytest).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestCounts {
    pub passed: u64,
    pub failed: u64,
    pub ignored: u64,
}

impl TestCounts {
    pub fn add(&mut self, o: TestCounts) {
        (self.passed, self.failed, self.ignored) = (
            self.passed + o.passed,
            self.failed + o.failed,
            self.ignored + o.ignored,
        );
    }

    /// Parses libtest's `test result: ok. 12 passed; 0 failed; 1 ignored; ...` and pytest's
    /// `===== 40 passed, 2 skipped in 3.1s =====` closing lines; other lines give zero.
    pub fn parse_line(line: &str) -> TestCounts {
        let mut c = TestCounts::default();
        let line = line.trim_start();
        let pytest = line.starts_with('=') && line.contains(" in ");
        if !(line.starts_with("test result:") || pytest) {
            return c;
        }
        let words: Vec<&str> = line
            .split(|ch: char| ch.is_whitespace() || ";,=".contains(ch))
            .filter(|w| !w.is_empty())
            .collect();
        for pair in words.windows(2) {
            let n: u64 = pair[0].parse().unwrap_or(0);
            match pair[1] {
                "passed" => c.passed += n,
                "failed" | "error" | "errors" => c.failed += n,
                "ignored" | "skipped" | "deselected" => c.ignored += n,
                _ => {}
            }
        }
        c
    }
}

/// A command that exited non-zero, with the test counts its output showed until then (a failing
/// `cargo test` prints `1 failed` before it exits 101): the summary keeps them.
#[derive(Debug)]
pub struct CommandFailed(pub String, pub TestCounts);

/// A step's error meaning "this cannot run here" (a capability the machine lacks, or an input an
/// earlier step did not produce): the step is recorded as skipped with this reason, not failed.
#[derive(Debug)]
pub struct Unavailable(pub String);

impl std::fmt::Display for CommandFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CommandFailed {}
impl std::error::Error for Unavailable {}

/// `value`, or an [`Unavailable`] error naming `what` an earlier step did not produce.
pub fn need<'a, T>(value: &'a Option<T>, what: &str) -> Result<&'a T> {
    let why = || {
        Unavailable(format!(
            "needs {what}, which an earlier step did not produce"
        ))
    };
    value.as_ref().ok_or_else(|| why().into())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    Failed,
    /// Not run: this machine cannot, or it needs what an earlier step did not produce.
    Skipped,
}

/// One step as the summary, the log and the report show it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct StepRecord {
    pub name: String,
    pub outcome: Outcome,
    pub seconds: f64,
    /// Why it failed or was skipped; empty when it succeeded.
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counts: Option<TestCounts>,
}

/// The steps of one command, optionally logged to a file.
#[derive(Default)]
pub struct Steps {
    records: Mutex<Vec<StepRecord>>,
    log: Mutex<Option<File>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Steps {
    /// Steps that also go to the log file `path`, which starts with `header`.
    pub fn logged(path: &Path, header: &str) -> Result<Steps> {
        let mut f = File::create(path).with_context(|| format!("creating {}", path.display()))?;
        f.write_all(header.as_bytes())?;
        Ok(Steps {
            log: Mutex::new(Some(f)),
            ..Steps::default()
        })
    }

    fn write(&self, text: &str) {
        if let Some(f) = lock(&self.log).as_mut() {
            let _ = f.write_all(text.as_bytes());
        }
    }

    /// A line on the terminal and in the log.
    pub fn note(&self, line: &str) {
        eprintln!("  {line}");
        self.write(&format!("    {line}\n"));
    }

    /// Runs `f` as a step: its value, or the reason it failed (an error or a panic) or was
    /// skipped ([`Unavailable`]). Either way the caller carries on.
    pub fn step<T>(&self, name: &str, f: impl FnOnce() -> Result<T>) -> Result<T, String> {
        eprintln!("\n▶ [{}] {name}", lock(&self.records).len() + 1);
        self.write(&format!(
            "[{}] start   {name}\n",
            raptors_bench::runner::utc_now()
        ));
        let start = Instant::now();
        let result = panic::catch_unwind(AssertUnwindSafe(f));
        let (outcome, counts) = match &result {
            Ok(Ok(_)) => (Outcome::Ok, None),
            Ok(Err(e)) if e.is::<Unavailable>() => (Outcome::Skipped, None),
            Ok(Err(e)) => {
                let counts = e.downcast_ref::<CommandFailed>().map(|c| c.1);
                (
                    Outcome::Failed,
                    counts.filter(|c| *c != TestCounts::default()),
                )
            }
            Err(_) => (Outcome::Failed, None),
        };
        let result = match result {
            Ok(r) => r.map_err(|e| format!("{e:#}")),
            Err(p) => Err(format!("panicked: {}", panic_message(p.as_ref()))),
        };
        let reason = result.as_ref().err().cloned().unwrap_or_default();
        self.finish(name, outcome, start.elapsed().as_secs_f64(), reason, counts);
        result
    }

    /// A step that runs tests: its counts are kept, and a failed test fails the step.
    pub fn tests(&self, name: &str, f: impl FnOnce() -> Result<TestCounts>) -> bool {
        let counts = self.step(name, f);
        let mut records = lock(&self.records);
        let last = records.last_mut().expect("the step was recorded");
        if let Ok(c) = counts {
            last.counts = Some(c);
            if c.failed > 0 {
                (last.outcome, last.reason) =
                    (Outcome::Failed, format!("{} test(s) failed", c.failed));
            }
        }
        last.outcome == Outcome::Ok
    }

    /// Records a step that is not run, with the reason.
    pub fn skip(&self, name: &str, reason: &str) {
        eprintln!("\n▶ {name}");
        self.finish(name, Outcome::Skipped, 0.0, reason.to_string(), None);
    }

    fn finish(
        &self,
        name: &str,
        outcome: Outcome,
        s: f64,
        reason: String,
        counts: Option<TestCounts>,
    ) {
        let (symbol, tag) = match outcome {
            Outcome::Ok => ("✓", "ok"),
            Outcome::Failed => ("✗", "FAILED"),
            Outcome::Skipped => ("–", "skipped"),
        };
        let why = if reason.is_empty() {
            String::new()
        } else {
            format!(": {reason}")
        };
        let now = raptors_bench::runner::utc_now();
        self.write(&format!("[{now}] {tag:<7} {name} ({s:.1} s){why}\n"));
        let short: String = why.lines().next().unwrap_or("").chars().take(200).collect();
        eprintln!("{symbol} {name} ({s:.1} s){short}");
        let (name, seconds) = (name.to_string(), s);
        lock(&self.records).push(StepRecord {
            name,
            outcome,
            seconds,
            reason,
            counts,
        });
    }

    pub fn records(&self) -> Vec<StepRecord> {
        lock(&self.records).clone()
    }

    /// Runs a command, logging its command line, and returns its stdout. A non-zero exit is an
    /// error carrying the status and the last lines of stderr.
    pub fn run(&self, cmd: &mut Command) -> Result<String> {
        let display = describe(cmd);
        self.write(&format!("    $ {display}\n"));
        let out = cmd
            .output()
            .with_context(|| format!("could not start `{display}`"))?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
            let tail = lines[lines.len().saturating_sub(12)..].join(" | ");
            bail!("`{display}` failed with {}: {tail}", out.status);
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The summary table with test counts, then the reasons of steps that did not succeed.
    pub fn print_summary(&self, title: &str) {
        let head = ["step", "status", "time", "passed", "failed", "skipped"];
        eprintln!(
            "\n{title}\n{:<44} {:<7} {:>8} {:>8} {:>7} {:>8}",
            head[0], head[1], head[2], head[3], head[4], head[5]
        );
        eprintln!("{}", "─".repeat(87));
        let records = self.records();
        for r in &records {
            let c = |f: fn(&TestCounts) -> u64| r.counts.map_or("-".into(), |c| f(&c).to_string());
            let status = ["ok", "FAILED", "NOT RUN"][r.outcome as usize];
            let (p, f, i) = (c(|c| c.passed), c(|c| c.failed), c(|c| c.ignored));
            eprintln!(
                "{:<44} {status:<7} {:>7.1}s {p:>8} {f:>7} {i:>8}",
                r.name, r.seconds
            );
        }
        for r in records.iter().filter(|r| !r.reason.is_empty()) {
            eprintln!("  {}: {}", r.name, r.reason);
        }
    }
}

pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let text = payload.downcast_ref::<&str>().map(|s| s.to_string());
    text.or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".into())
}

/// Runs a command with stdout/stderr streamed to the terminal (stderr) and scanned for test-count
/// lines. Fails when the command exits non-zero.
pub fn run_streaming(cmd: &mut Command) -> Result<TestCounts> {
    let display = describe(cmd);
    eprintln!("$ {display}");
    let child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn();
    let mut child = child.with_context(|| format!("could not start `{display}`"))?;
    let (tx, rx) = mpsc::channel::<String>();
    let out: Option<Box<dyn Read + Send>> = child.stdout.take().map(|s| Box::new(s) as _);
    let err: Option<Box<dyn Read + Send>> = child.stderr.take().map(|s| Box::new(s) as _);
    let pumps: Vec<_> = [out, err]
        .into_iter()
        .flatten()
        .map(|stream| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    eprintln!("{line}");
                    let _ = tx.send(line);
                }
            })
        })
        .collect();
    drop(tx);
    let mut counts = TestCounts::default();
    rx.iter()
        .for_each(|line| counts.add(TestCounts::parse_line(&line)));
    for p in pumps {
        let _ = p.join();
    }
    let status = child.wait()?;
    if !status.success() {
        return Err(CommandFailed(format!("`{display}` failed with {status}"), counts).into());
    }
    Ok(counts)
}

/// Runs a command, inheriting the terminal; fails on non-zero exit.
pub fn run_inherit(cmd: &mut Command) -> Result<()> {
    let display = describe(cmd);
    eprintln!("$ {display}");
    let status = cmd
        .status()
        .with_context(|| format!("could not start `{display}`"))?;
    if !status.success() {
        bail!("`{display}` failed with {status}");
    }
    Ok(())
}

/// `VAR=value program args…`; an inline script (`python -c …`) shows its first line only.
pub fn describe(cmd: &Command) -> String {
    let env = cmd
        .get_envs()
        .filter_map(|(k, v)| Some(format!("{}={}", k.to_string_lossy(), v?.to_string_lossy())));
    let args = cmd.get_args().map(|a| {
        let a = a.to_string_lossy();
        match a.trim().lines().next() {
            Some(first) if a.contains('\n') => format!("'{first} …'"),
            _ => a.into_owned(),
        }
    });
    let program = std::iter::once(cmd.get_program().to_string_lossy().into_owned());
    env.chain(program).chain(args).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_libtest_and_pytest_closing_lines_only() {
        let c = TestCounts::parse_line(
            "test result: ok. 12 passed; 1 failed; 3 ignored; 0 measured; finished in 0.01s",
        );
        assert_eq!((c.passed, c.failed, c.ignored), (12, 1, 3));
        let p = TestCounts::parse_line("======= 40 passed, 2 skipped, 1 failed in 3.10s ========");
        assert_eq!((p.passed, p.failed, p.ignored), (40, 1, 2));
        assert_eq!(
            TestCounts::parse_line("40 passed in 1.2s"),
            TestCounts::default()
        );
        assert_eq!(
            TestCounts::parse_line("test foo::bar ... ok"),
            TestCounts::default()
        );
    }

    /// Failed, panicking and unavailable steps are recorded with their reason (and the counts a
    /// failed test command printed), later steps still run, and the log says so.
    #[test]
    fn failures_are_recorded_and_later_steps_run() {
        let path = std::env::temp_dir().join(format!("xtask-steps-{}.log", std::process::id()));
        let steps = Steps::logged(&path, "# header\n").unwrap();
        assert_eq!(steps.step("first", || Ok(1)), Ok(1));
        assert!(steps
            .step("second", || -> Result<()> {
                bail!("no wheel: network down")
            })
            .is_err());
        assert!(steps
            .step("third", || -> Result<()> { panic!("index out of range") })
            .is_err());
        let _ = steps.step("fourth", || -> Result<()> {
            Err(Unavailable("no perf here".into()).into())
        });
        let seen = TestCounts {
            passed: 3,
            failed: 1,
            ignored: 0,
        };
        let failed = CommandFailed("`cargo test` failed with exit status: 101".into(), seen);
        assert!(!steps.tests("fifth", || Err(failed.into())));
        let r = steps.records();
        let outcomes: Vec<Outcome> = r.iter().map(|r| r.outcome).collect();
        let (ok, failed, skipped) = (Outcome::Ok, Outcome::Failed, Outcome::Skipped);
        assert_eq!(outcomes, [ok, failed, failed, skipped, failed]);
        assert!(r[1].reason.contains("network down") && r[2].reason.starts_with("panicked: index"));
        assert_eq!(
            (r[3].reason.as_str(), r[4].counts),
            ("no perf here", Some(seen))
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("# header\n") && text.contains("FAILED  second"),
            "{text}"
        );
        assert!(text.contains("skipped fourth"));
        std::fs::remove_file(path).unwrap();
        let err = steps
            .run(Command::new("sh").args(["-c", "echo oops >&2; exit 3"]))
            .unwrap_err();
        assert!(
            format!("{err:#}").contains("exit status: 3") && format!("{err:#}").contains("oops")
        );
        assert_eq!(
            steps
                .run(Command::new("sh").args(["-c", "echo hi"]))
                .unwrap(),
            "hi\n"
        );
    }
}
