//! A step's record as the summary, the log and the report show it (`report.json`'s `steps`),
//! with the test counts a test step keeps.

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

/// The records as a table with their test counts, then the reasons of the steps that did not
/// succeed (the terminal summary of a command; README.md has its own table).
pub fn summary_table(records: &[StepRecord]) -> String {
    let head = ["step", "status", "time", "passed", "failed", "skipped"];
    let mut s = format!(
        "{:<44} {:<7} {:>8} {:>8} {:>7} {:>8}\n{}\n",
        head[0],
        head[1],
        head[2],
        head[3],
        head[4],
        head[5],
        "─".repeat(87)
    );
    for r in records {
        let c = |f: fn(&TestCounts) -> u64| r.counts.map_or("-".into(), |c| f(&c).to_string());
        let status = ["ok", "FAILED", "NOT RUN"][r.outcome as usize];
        let (p, f, i) = (c(|c| c.passed), c(|c| c.failed), c(|c| c.ignored));
        s.push_str(&format!(
            "{:<44} {status:<7} {:>7.1}s {p:>8} {f:>7} {i:>8}\n",
            r.name, r.seconds
        ));
    }
    for r in records.iter().filter(|r| !r.reason.is_empty()) {
        s.push_str(&format!("  {}: {}\n", r.name, r.reason));
    }
    s
}

/// The test counts of all `records`, summed.
pub fn total(records: &[StepRecord]) -> TestCounts {
    let mut total = TestCounts::default();
    records
        .iter()
        .filter_map(|r| r.counts)
        .for_each(|c| total.add(c));
    total
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

    /// Every record has a row (counts or `-`), and each reason is repeated below the table.
    #[test]
    fn the_summary_shows_every_step_and_every_reason() {
        let record = |name: &str, outcome, reason: &str, counts| StepRecord {
            name: name.into(),
            outcome,
            seconds: 1.5,
            reason: reason.into(),
            counts,
        };
        let counts = TestCounts {
            passed: 3,
            failed: 1,
            ignored: 0,
        };
        let records = [
            record("fmt", Outcome::Ok, "", None),
            record("tests", Outcome::Failed, "1 test(s) failed", Some(counts)),
        ];
        let table = summary_table(&records);
        let rows: Vec<Vec<&str>> = table
            .lines()
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(rows[2], ["fmt", "ok", "1.5s", "-", "-", "-"], "{table}");
        assert_eq!(
            rows[3],
            ["tests", "FAILED", "1.5s", "3", "1", "0"],
            "{table}"
        );
        assert_eq!(rows[4].join(" "), "tests: 1 test(s) failed");
        assert_eq!(rows.len(), 5, "{table}");
        assert_eq!(total(&records), counts);
    }
}
