//! The evidence folder's files. Contents are collected during a run and written at the end with
//! the final provenance (the libraries and their hashes are known by then); every expected file
//! that could not be produced gets a stand-in saying why; the report files come last, because
//! README.md lists every file with its size (itself included).

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use anyhow::Result;

use super::report::ReportInput;
use super::{findings_md, readme};
use crate::provenance::{tool_version, Content, LibraryInfo, Provenance};

#[derive(Default)]
pub struct Artifacts {
    files: BTreeMap<String, Content>,
    /// Expected files that could not be produced, with the reason.
    missing: BTreeMap<String, String>,
}

impl Artifacts {
    pub fn put(&mut self, name: &str, c: Content) {
        self.missing.remove(name);
        self.files.insert(name.to_string(), c);
    }

    /// `timings.json`, `timings.md` and `timings.png` from a comparison run; `Ok(Some(why))` when
    /// there is no plot.
    pub fn put_timings(&mut self, out: &crate::compare::CompareOutcome) -> Result<Option<String>> {
        self.put(
            "timings.json",
            Content::Json(serde_json::to_value(&out.results)?),
        );
        let md = fs::read_to_string(&out.md_path)?;
        self.put("timings.md", Content::Markdown(md));
        Ok(match &out.png {
            Ok(png) => {
                self.put("timings.png", Content::Png(fs::read(png)?));
                None
            }
            Err(e) => Some(format!("no timings plot: {e}")),
        })
    }

    /// Files that must exist at the end: each one not produced by then gets a stand-in with `reason`.
    pub fn expect(&mut self, names: &[&str], reason: &str) {
        for n in names.iter().filter(|n| !self.files.contains_key(**n)) {
            self.missing
                .entry(n.to_string())
                .or_insert_with(|| reason.to_string());
        }
    }

    /// The environment's, timings' and counters' files: each one their step did not produce
    /// gets a stand-in naming the step.
    pub fn expect_measurements(&mut self) {
        self.expect(
            &["environment.json"],
            "the environment probe failed (see profile.log)",
        );
        self.expect(
            &["timings.json", "timings.md"],
            "raptors-bench compare failed (see profile.log)",
        );
        self.expect(
            &["mca.json", "mca.md"],
            "the llvm-mca step failed (see profile.log)",
        );
        self.expect(
            &["counters.json"],
            "raptors-bench counters failed (see profile.log)",
        );
    }

    pub fn write(&self, dir: &Path, prov: &Provenance) -> Result<()> {
        for (name, content) in &self.files {
            prov.write(&dir.join(name), content)?;
        }
        for (name, reason) in &self.missing {
            prov.write_missing(&dir.join(name), reason)?;
        }
        Ok(())
    }
}

/// (name, bytes) of every file in `dir` (hidden ones excluded), sorted.
pub fn list(dir: &Path) -> Result<Vec<(String, u64)>> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.starts_with('.') && e.file_type()?.is_file() {
            out.push((name, e.metadata()?.len()));
        }
    }
    out.sort();
    Ok(out)
}

/// The tool versions a profile's provenance names: cargo (`cargo`: the program that runs the
/// profile), rustc, `python` and its NumPy, valgrind, perf, and Debian's rustc (cross builds).
pub fn tool_versions(cargo: &str, python: &Path) -> BTreeMap<String, String> {
    let py = python.display().to_string();
    let tools: [(&str, &str, &[&str]); 7] = [
        ("cargo", cargo, &["--version"]),
        ("rustc", "rustc", &["--version"]),
        ("python", &py, &["--version"]),
        (
            "numpy",
            &py,
            &["-c", "import numpy; print(numpy.__version__)"],
        ),
        ("valgrind", "valgrind", &["--version"]),
        ("perf", "perf", &["--version"]),
        (
            "rustc (Debian's, cross builds)",
            "/usr/bin/rustc",
            &["--version"],
        ),
    ];
    tools
        .into_iter()
        .map(|(tool, program, args)| (tool.to_string(), tool_version(program, args)))
        .collect()
}

/// The provenance entries of one architecture's libraries (`[NumPy, Raptors]`, each None when
/// it is not available): role `numpy _multiarray_umath x86_64 (measured)`, path, sha256, size.
pub fn library_infos(arch: &str, measured: bool, paths: [Option<&Path>; 2]) -> Vec<LibraryInfo> {
    let how = if measured { "measured" } else { "static" };
    ["numpy _multiarray_umath", "raptors"]
        .into_iter()
        .zip(paths)
        .filter_map(|(role, path)| Some(LibraryInfo::of(&format!("{role} {arch} ({how})"), path?)))
        .collect()
}

/// Writes `report.json`, `findings.md` and `README.md` into `dir`, after every other file:
/// `input.artifacts` becomes the folder's listing, README.md included.
pub fn write_reports(dir: &Path, prov: &Provenance, input: &mut ReportInput) -> Result<()> {
    for name in ["findings.md", "report.json"] {
        fs::write(dir.join(name), "")?;
    }
    input.artifacts = list(dir)?;
    prov.write(
        &dir.join("report.json"),
        &Content::Json(input.report_json()?),
    )?;
    prov.write(
        &dir.join("findings.md"),
        &Content::Markdown(findings_md(input)),
    )?;
    input.artifacts.push(("README.md".into(), 0));
    prov.write(&dir.join("README.md"), &Content::Markdown(readme(input)))?;
    Ok(())
}
