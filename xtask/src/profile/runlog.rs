//! Steps of the profile: each is timed, logged to `profile.log` with its outcome and (on failure)
//! the reason, shown on a progress bar, and recorded for the report. A failing or panicking step
//! never stops the others.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::process::Command;
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::{Deserialize, Serialize};

use super::publish::panic_message;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Ok,
    Failed,
    Skipped,
}

/// One step as it appears in the report and the log.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct StepRecord {
    pub name: String,
    pub outcome: Outcome,
    pub seconds: f64,
    /// Why it failed or was skipped; empty when it succeeded.
    pub reason: String,
}

pub struct StepLog {
    file: Mutex<Option<File>>,
    records: Mutex<Vec<StepRecord>>,
    bar: ProgressBar,
}

impl StepLog {
    /// `planned` is the number of steps, for the progress bar. `log_path` may be `None` in tests.
    pub fn new(planned: u64, log_path: Option<&Path>, header: &str) -> Result<StepLog> {
        let file = match log_path {
            Some(p) => {
                let mut f = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .with_context(|| format!("opening {}", p.display()))?;
                f.write_all(header.as_bytes())?;
                Some(f)
            }
            None => None,
        };
        let bar = if log_path.is_some() {
            let bar = ProgressBar::with_draw_target(Some(planned), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "[{elapsed_precise}] {bar:30.cyan/blue} {pos}/{len} steps  {wide_msg}",
                )
                .expect("static template is valid")
                .progress_chars("##-"),
            );
            bar
        } else {
            ProgressBar::hidden()
        };
        Ok(StepLog {
            file: Mutex::new(file),
            records: Mutex::new(Vec::new()),
            bar,
        })
    }

    /// A line in profile.log (and above the progress bar).
    pub fn note(&self, line: &str) {
        self.say(line);
        self.write(&format!("    {line}\n"));
    }

    /// Prints above the bar; without a terminal (CI logs) the bar is hidden, so print plainly.
    fn say(&self, line: &str) {
        if self.bar.is_hidden() {
            eprintln!("{line}");
        } else {
            self.bar.println(line);
        }
    }

    fn write(&self, text: &str) {
        if let Some(f) = self.file.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
            let _ = f.write_all(text.as_bytes());
        }
    }

    /// Runs `f` as a step. A returned error or a panic marks the step failed with the reason;
    /// either way the caller carries on with the next step.
    pub fn step<T>(&self, name: &str, f: impl FnOnce() -> Result<T>) -> Option<T> {
        self.bar.set_message(name.to_string());
        if self.bar.is_hidden() {
            eprintln!(
                "▶ [{}/{}] {name}",
                self.bar.position() + 1,
                self.bar.length().unwrap_or(0)
            );
        }
        self.write(&format!(
            "[{}] start  {name}\n",
            super::provenance::utc_now()
        ));
        let start = Instant::now();
        let result = panic::catch_unwind(AssertUnwindSafe(f));
        let seconds = start.elapsed().as_secs_f64();
        let (outcome, reason, value) = match result {
            Ok(Ok(v)) => (Outcome::Ok, String::new(), Some(v)),
            Ok(Err(err)) => (Outcome::Failed, format!("{err:#}"), None),
            Err(payload) => (
                Outcome::Failed,
                format!("panicked: {}", panic_message(payload.as_ref())),
                None,
            ),
        };
        self.finish(name, outcome, seconds, reason);
        value
    }

    /// Records a step that was not run, with the reason (e.g. it needs an earlier step's output).
    pub fn skip(&self, name: &str, reason: &str) {
        self.finish(name, Outcome::Skipped, 0.0, reason.to_string());
    }

    fn finish(&self, name: &str, outcome: Outcome, seconds: f64, reason: String) {
        let tag = match outcome {
            Outcome::Ok => "ok",
            Outcome::Failed => "FAILED",
            Outcome::Skipped => "skipped",
        };
        let mut line = format!(
            "[{}] {tag:<7} {name} ({seconds:.1} s)",
            super::provenance::utc_now()
        );
        if !reason.is_empty() {
            line.push_str(&format!(": {reason}"));
        }
        self.write(&format!("{line}\n"));
        let symbol = match outcome {
            Outcome::Ok => "✓",
            Outcome::Failed => "✗",
            Outcome::Skipped => "–",
        };
        let short: String = reason
            .lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(160)
            .collect();
        self.say(&format!(
            "{symbol} {name} ({seconds:.1} s){}",
            if short.is_empty() {
                String::new()
            } else {
                format!(": {short}")
            }
        ));
        self.bar.inc(1);
        self.records
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(StepRecord {
                name: name.to_string(),
                outcome,
                seconds,
                reason,
            });
    }

    pub fn records(&self) -> Vec<StepRecord> {
        self.records
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn finish_bar(&self) {
        self.bar.finish_and_clear();
    }

    /// Runs a command, logging its command line, and returns its stdout. A non-zero exit is an
    /// error carrying the exit status and the last lines of stderr.
    pub fn run(&self, cmd: &mut Command) -> Result<String> {
        let display = describe(cmd);
        self.write(&format!("    $ {display}\n"));
        let out = cmd
            .output()
            .with_context(|| format!("could not start `{display}`"))?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            bail!(
                "`{display}` failed with {}: {}",
                out.status,
                tail(&stderr, 12)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

/// The last `n` non-empty lines of a command's output, joined for an error message.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(n);
    let joined = lines[start..].join(" | ");
    if joined.is_empty() {
        "(no output on stderr)".to_string()
    } else {
        joined
    }
}

pub fn describe(cmd: &Command) -> String {
    let mut parts: Vec<String> = cmd
        .get_envs()
        .filter_map(|(k, v)| v.map(|v| format!("{}={}", k.to_string_lossy(), v.to_string_lossy())))
        .collect();
    parts.push(cmd.get_program().to_string_lossy().into_owned());
    // Inline scripts (`python -c …`) would flood the log: keep their first line.
    parts.extend(cmd.get_args().map(|a| {
        let a = a.to_string_lossy();
        match a.trim().lines().next() {
            Some(first) if a.contains('\n') => format!("'{first} …'"),
            _ => a.into_owned(),
        }
    }));
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_and_panicking_steps_are_recorded_and_later_steps_run() {
        let dir = std::env::temp_dir().join(format!("xtask-runlog-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("profile.log");
        let log = StepLog::new(4, Some(&path), "# header\n").unwrap();
        assert_eq!(log.step("first", || Ok(1)), Some(1));
        assert_eq!(
            log.step("second", || -> Result<i32> {
                bail!("no aarch64 wheel: network down")
            }),
            None
        );
        assert_eq!(
            log.step("third", || -> Result<i32> { panic!("index out of range") }),
            None
        );
        log.skip("fourth", "needs the second step's output");
        log.finish_bar();

        let records = log.records();
        let outcomes: Vec<Outcome> = records.iter().map(|r| r.outcome).collect();
        assert_eq!(
            outcomes,
            [
                Outcome::Ok,
                Outcome::Failed,
                Outcome::Failed,
                Outcome::Skipped
            ]
        );
        assert!(records[1].reason.contains("network down"));
        assert!(records[2]
            .reason
            .starts_with("panicked: index out of range"));

        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# header\n"));
        assert!(text.contains("FAILED  second"));
        assert!(text.contains("no aarch64 wheel: network down"));
        assert!(text.contains("skipped fourth"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn failing_command_reports_status_and_stderr() {
        let log = StepLog::new(1, None, "").unwrap();
        let err = log
            .run(Command::new("sh").args(["-c", "echo oops-from-stderr >&2; exit 3"]))
            .unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("exit status: 3"), "{msg}");
        assert!(msg.contains("oops-from-stderr"), "{msg}");
        assert_eq!(
            log.run(Command::new("sh").args(["-c", "echo hi"])).unwrap(),
            "hi\n"
        );
    }
}
