//! The artifact files: contents collected during the run, written at the end with the final
//! provenance; the disassembly/SIMD artifacts of the chosen functions.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use anyhow::{bail, Result};
use serde_json::{json, Value};

use super::adapters;
use super::analysis::{self, add_target, Asm, Target};
use super::model::{Artifact, Avail, IsaRow, OpFunctions};
use super::pipeline::{need, Libs};
use super::provenance::{self, Provenance};
use super::runlog::StepLog;
use super::symbols::Chosen;

/// Artifact contents, written at the end with provenance in the right form.
pub enum Content {
    Text(String),
    Markdown(String),
    Json(Value),
    Png(Vec<u8>),
}

#[derive(Default)]
pub struct Artifacts {
    /// ISA summary rows gathered from the simd outputs, for the report.
    pub isa: Vec<IsaRow>,
    files: BTreeMap<String, Content>,
    /// Expected files that could not be produced, with the reason.
    missing: BTreeMap<String, String>,
}

impl Artifacts {
    pub fn put(&mut self, name: &str, c: Content) {
        self.missing.remove(name);
        self.files.insert(name.to_string(), c);
    }
    pub fn expect(&mut self, names: &[&str], reason: &str) {
        for n in names {
            if !self.files.contains_key(*n) {
                self.missing
                    .entry(n.to_string())
                    .or_insert_with(|| reason.to_string());
            }
        }
    }
}

fn why(f: &OpFunctions, c: &Chosen) -> String {
    format!(
        "{} {}: {} — {}",
        f.op,
        f.dtype,
        c.method.label(),
        c.evidence
    )
}

pub fn x86_artifacts(
    log: &StepLog,
    asm: &Asm,
    libs: &Libs,
    functions: &[OpFunctions],
    art: &mut Artifacts,
) -> Result<()> {
    let (np_lib, rp_lib) = (
        need(&libs.numpy_x86, "NumPy's module")?,
        need(&libs.raptors_x86, "Raptors's module")?,
    );
    let (mut np, mut rp): (Vec<Target>, Vec<Target>) = (Vec::new(), Vec::new());
    for f in functions {
        if let Avail::Ok(c) = &f.numpy_x86 {
            add_target(&mut np, &c.symbol, why(f, c));
            // Higher dispatch variants the real (non-valgrind) run may pick on an AVX-512 CPU.
            for v in f
                .numpy_x86_variants
                .iter()
                .filter(|v| v.contains("AVX512") || v.contains("X86_V4"))
            {
                add_target(
                    &mut np,
                    v,
                    format!(
                        "{} {}: AVX-512 dispatch variant of `{}`",
                        f.op, f.dtype, c.symbol
                    ),
                );
            }
        }
        if let Avail::Ok(c) = &f.raptors_x86_valgrind {
            add_target(&mut rp, &c.symbol, why(f, c));
        }
        if let Avail::Ok(c) = &f.raptors_x86_real {
            add_target(
                &mut rp,
                &c.symbol,
                format!("{} (real run on this CPU)", why(f, c)),
            );
        }
    }
    for (side, lib, targets) in [("numpy", np_lib, &np), ("raptors", rp_lib, &rp)] {
        if targets.is_empty() {
            bail!("no {side} function was chosen for any op");
        }
        let names = analysis::names(targets);
        let title = format!("# {side}: functions that run the profiled ops (x86-64)");
        let text = asm.disasm(log, lib, &names)?;
        art.put(
            &format!("{side}_asm.txt"),
            Content::Text(format!("{}{text}", analysis::index(targets, lib, &title))),
        );
        let (stext, sjson) = asm.simd(log, lib, &names)?;
        art.isa
            .extend(adapters::isa_rows(&sjson, side_label(side), "x86_64"));
        art.put(
            &format!("{side}_simd.txt"),
            Content::Text(format!("{}{stext}", analysis::index(targets, lib, &title))),
        );
        art.put(
            &format!("{side}_simd.json"),
            Content::Json(
                json!({"library": lib, "functions_by_op": targets_json(targets), "simd": sjson}),
            ),
        );
    }
    Ok(())
}

fn side_label(side: &str) -> &'static str {
    if side == "numpy" {
        "NumPy"
    } else {
        "Raptors"
    }
}

fn targets_json(targets: &[Target]) -> Value {
    Value::Array(
        targets
            .iter()
            .map(|t| json!({"symbol": t.symbol, "ops": t.why}))
            .collect(),
    )
}

pub fn aarch64_artifacts(
    log: &StepLog,
    asm: &Asm,
    libs: &Libs,
    functions: &[OpFunctions],
    art: &mut Artifacts,
) -> Result<()> {
    let mut errors = Vec::new();
    for (side, lib) in [("numpy", &libs.numpy_arm), ("raptors", &libs.raptors_arm)] {
        let Some(lib) = lib else { continue };
        let mut targets = Vec::new();
        for f in functions {
            let c = if side == "numpy" {
                &f.numpy_aarch64
            } else {
                &f.raptors_aarch64
            };
            if let Avail::Ok(c) = c {
                add_target(&mut targets, &c.symbol, why(f, c));
            }
        }
        if targets.is_empty() {
            errors.push(format!("no {side} aarch64 function could be mapped"));
            continue;
        }
        let names = analysis::names(&targets);
        let title = format!("# {side}: aarch64 functions for the profiled ops (A64/NEON)");
        let (stext, sjson) = asm.simd(log, lib, &names)?;
        art.isa
            .extend(adapters::isa_rows(&sjson, side_label(side), "aarch64"));
        let dis = asm.disasm(log, lib, &names)?;
        art.put(
            &format!("{side}_neon.txt"),
            Content::Text(format!(
                "{}{stext}\n# disassembly\n\n{dis}",
                analysis::index(&targets, lib, &title)
            )),
        );
        art.put(
            &format!("{side}_neon.json"),
            Content::Json(
                json!({"library": lib, "functions_by_op": targets_json(&targets), "simd": sjson}),
            ),
        );
    }
    if !errors.is_empty() {
        bail!("{}", errors.join("; "));
    }
    Ok(())
}

pub fn write_artifacts(dir: &Path, prov: &Provenance, art: &Artifacts) -> Result<()> {
    for (name, content) in &art.files {
        let path = dir.join(name);
        match content {
            Content::Text(t) => fs::write(&path, format!("{}{t}", prov.text_header()))?,
            Content::Markdown(t) => fs::write(&path, format!("{}{t}", prov.markdown_header()))?,
            Content::Json(v) => fs::write(&path, prov.render_json(v.clone()))?,
            Content::Png(bytes) => {
                let text = prov.text_header();
                fs::write(
                    &path,
                    provenance::png_with_text(bytes, "provenance", &text)?,
                )?
            }
        }
    }
    for (name, reason) in &art.missing {
        let path = dir.join(name);
        let note = format!("NOT AVAILABLE in this run: {reason}\n");
        if name.ends_with(".json") {
            fs::write(&path, prov.render_json(json!({"error": note.trim_end()})))?;
        } else if name.ends_with(".md") {
            fs::write(&path, format!("{}{note}", prov.markdown_header()))?;
        } else {
            fs::write(&path, format!("{}{note}", prov.text_header()))?;
        }
    }
    Ok(())
}

pub fn list_artifacts(dir: &Path) -> Result<Vec<Artifact>> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !e.file_type()?.is_file() {
            continue;
        }
        out.push(Artifact {
            name,
            bytes: e.metadata()?.len(),
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}
