//! Running external commands as named steps: banner, streamed output, captured test counts and a
//! summary table. Every xtask subcommand reports through this so the output looks the same.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// Test counts parsed from a runner's closing lines (cargo test / libtest, pytest).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TestCounts {
    pub passed: u64,
    pub failed: u64,
    pub ignored: u64,
}

impl TestCounts {
    pub fn add(&mut self, other: TestCounts) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.ignored += other.ignored;
    }

    /// Parses libtest's `test result: ok. 12 passed; 0 failed; 1 ignored; ...` and pytest's
    /// `===== 40 passed, 2 skipped in 3.1s =====` closing lines. Lines that are neither give zero.
    pub fn parse_line(line: &str) -> TestCounts {
        let mut counts = TestCounts::default();
        let is_libtest = line.trim_start().starts_with("test result:");
        let is_pytest = line.contains(" in ") && line.trim_start().starts_with('=');
        if !is_libtest && !is_pytest {
            return counts;
        }
        let words: Vec<&str> = line
            .split(|c: char| c.is_whitespace() || c == ';' || c == ',' || c == '=')
            .filter(|w| !w.is_empty())
            .collect();
        for pair in words.windows(2) {
            let Ok(n) = pair[0].parse::<u64>() else {
                continue;
            };
            match pair[1] {
                "passed" => counts.passed += n,
                "failed" | "error" | "errors" => counts.failed += n,
                "ignored" | "skipped" | "deselected" => counts.ignored += n,
                _ => {}
            }
        }
        counts
    }
}

/// A command that exited non-zero, with the test counts its output showed until then (a failing
/// `cargo test` prints `1 failed` before it exits 101): the summary keeps them instead of `-`.
#[derive(Debug)]
pub struct CommandFailed {
    pub message: String,
    pub counts: TestCounts,
}

impl std::fmt::Display for CommandFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CommandFailed {}

/// Outcome of one step, for the summary table.
#[derive(Clone, Debug)]
pub struct StepReport {
    pub name: String,
    pub ok: bool,
    pub duration: Duration,
    pub counts: Option<TestCounts>,
    pub detail: String,
    /// Not run because this machine cannot (the reason is in `detail`); shown as such, never as ok.
    pub not_run: bool,
}

/// Collects step reports and prints the summary table.
#[derive(Default)]
pub struct Steps {
    pub reports: Vec<StepReport>,
}

impl Steps {
    pub fn banner(name: &str) {
        let line = "═".repeat(78);
        eprintln!("\n{line}\n▶ {name}\n{line}");
    }

    /// Runs `f` as a named step, recording success, duration and (optionally) test counts.
    pub fn run<F>(&mut self, name: &str, f: F) -> bool
    where
        F: FnOnce() -> Result<Option<TestCounts>>,
    {
        Self::banner(name);
        let start = Instant::now();
        let result = f();
        let duration = start.elapsed();
        let (ok, counts, detail) = match result {
            Ok(counts) => (counts.is_none_or(|c| c.failed == 0), counts, String::new()),
            Err(err) => {
                // Counts seen before the failure, if the output had any.
                let counts = err
                    .downcast_ref::<CommandFailed>()
                    .map(|e| e.counts)
                    .filter(|c| *c != TestCounts::default());
                (false, counts, format!("{err:#}"))
            }
        };
        if !detail.is_empty() {
            eprintln!("✗ {name}: {detail}");
        }
        self.reports.push(StepReport {
            name: name.to_string(),
            ok,
            duration,
            counts,
            detail,
            not_run: false,
        });
        ok
    }

    /// Records a step this machine cannot run, with the reason: the summary and the closing line
    /// show it as "not run", so nothing is skipped silently.
    pub fn not_run(&mut self, name: &str, reason: &str) {
        Self::banner(name);
        eprintln!("⚠ not run: {reason}");
        self.reports.push(StepReport {
            name: name.to_string(),
            ok: true,
            duration: Duration::ZERO,
            counts: None,
            detail: reason.to_string(),
            not_run: true,
        });
    }

    /// The steps recorded as not run, with their reasons.
    pub fn not_run_steps(&self) -> Vec<&StepReport> {
        self.reports.iter().filter(|r| r.not_run).collect()
    }

    pub fn all_ok(&self) -> bool {
        self.reports.iter().all(|r| r.ok)
    }

    pub fn total_counts(&self) -> TestCounts {
        let mut total = TestCounts::default();
        for c in self.reports.iter().filter_map(|r| r.counts) {
            total.add(c);
        }
        total
    }

    pub fn print_summary(&self, title: &str) {
        eprintln!("\n{title}");
        eprintln!(
            "{:<44} {:<7} {:>8} {:>8} {:>7} {:>8}",
            "step", "status", "time", "passed", "failed", "skipped"
        );
        eprintln!("{}", "─".repeat(87));
        for r in &self.reports {
            let (p, f, i) = match r.counts {
                Some(c) => (
                    c.passed.to_string(),
                    c.failed.to_string(),
                    c.ignored.to_string(),
                ),
                None => ("-".into(), "-".into(), "-".into()),
            };
            eprintln!(
                "{:<44} {:<7} {:>7.1}s {:>8} {:>7} {:>8}",
                r.name,
                match (r.ok, r.not_run) {
                    (_, true) => "NOT RUN",
                    (true, false) => "ok",
                    (false, false) => "FAILED",
                },
                r.duration.as_secs_f64(),
                p,
                f,
                i
            );
        }
        for r in self
            .reports
            .iter()
            .filter(|r| (!r.ok || r.not_run) && !r.detail.is_empty())
        {
            eprintln!("  {}: {}", r.name, r.detail);
        }
    }
}

/// Runs a command with stdout/stderr streamed to the terminal (stderr) and scanned for test-count
/// lines. Fails when the command exits non-zero.
pub fn run_streaming(cmd: &mut Command) -> Result<TestCounts> {
    let display = describe(cmd);
    eprintln!("$ {display}");
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("could not start `{display}`"))?;
    let (tx, rx) = mpsc::channel::<String>();
    let pumps: Vec<_> = [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .flatten()
    .map(|stream| {
        let tx = tx.clone();
        thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                eprintln!("{line}");
                if tx.send(line).is_err() {
                    break;
                }
            }
        })
    })
    .collect();
    drop(tx);
    let mut counts = TestCounts::default();
    for line in rx {
        counts.add(TestCounts::parse_line(&line));
    }
    for pump in pumps {
        let _ = pump.join();
    }
    let status = child.wait()?;
    if !status.success() {
        return Err(CommandFailed {
            message: format!("`{display}` failed with {status}"),
            counts,
        }
        .into());
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

fn describe(cmd: &Command) -> String {
    let envs: Vec<String> = cmd
        .get_envs()
        .filter_map(|(k, v)| v.map(|v| format!("{}={}", k.to_string_lossy(), v.to_string_lossy())))
        .collect();
    let args: Vec<String> = cmd
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let mut parts = envs;
    parts.push(cmd.get_program().to_string_lossy().into_owned());
    parts.extend(args);
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_libtest_line() {
        let c = TestCounts::parse_line(
            "test result: ok. 12 passed; 1 failed; 3 ignored; 0 measured; 0 filtered out; finished in 0.01s",
        );
        assert_eq!(
            c,
            TestCounts {
                passed: 12,
                failed: 1,
                ignored: 3
            }
        );
    }

    #[test]
    fn parses_pytest_line() {
        let c = TestCounts::parse_line("======= 40 passed, 2 skipped, 1 failed in 3.10s ========");
        assert_eq!(
            c,
            TestCounts {
                passed: 40,
                failed: 1,
                ignored: 2
            }
        );
        let q = TestCounts::parse_line("40 passed in 1.2s");
        assert_eq!(q, TestCounts::default(), "not a closing banner");
    }

    /// A failed step keeps the counts its command printed, so "N failed" reaches the totals.
    #[test]
    fn failed_step_keeps_its_counts() {
        let mut steps = Steps::default();
        let seen = TestCounts {
            passed: 3,
            failed: 1,
            ignored: 0,
        };
        let ok = steps.run("tests", || {
            Err(CommandFailed {
                message: "`cargo test` failed with exit status: 101".into(),
                counts: seen,
            }
            .into())
        });
        assert!(!ok && !steps.all_ok());
        assert_eq!(steps.total_counts(), seen);
        // A failure without counts (e.g. a compile error) shows none.
        steps.run("build", || bail!("`cargo build` failed"));
        assert_eq!(steps.reports[1].counts, None);
        assert_eq!(steps.total_counts(), seen);
    }

    #[test]
    fn ignores_other_lines() {
        assert_eq!(
            TestCounts::parse_line("test foo::bar ... ok"),
            TestCounts::default()
        );
    }
}
