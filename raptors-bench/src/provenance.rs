//! Provenance stamped on generated evidence: the producing command, date, machine, git commit,
//! tool versions and the analysed libraries (path + sha256). Text files get `# key: value` lines,
//! Markdown an HTML comment, JSON a top-level `"provenance"` object, PNG a `tEXt` chunk
//! ([`Provenance::write`]). Date, machine tag and commit come from the same functions the results
//! files use ([`crate::runner`], [`crate::machine`]).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct LibraryInfo {
    /// What it is, e.g. "numpy x86_64 _multiarray_umath".
    pub role: String,
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
}

impl LibraryInfo {
    /// Hashes `path`; an unreadable file is recorded as such, never skipped.
    pub fn of(role: &str, path: &Path) -> LibraryInfo {
        let (sha256, bytes) =
            sha256_file(path).unwrap_or_else(|e| (format!("unreadable: {e:#}"), 0));
        LibraryInfo {
            role: role.into(),
            path: path.display().to_string(),
            sha256,
            bytes,
        }
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Provenance {
    pub generated_by: String,
    pub date: String,
    pub machine_tag: String,
    pub git_commit: String,
    pub tools: BTreeMap<String, String>,
    pub libraries: Vec<LibraryInfo>,
}

/// A generated file's content, stamped according to its kind when written.
pub enum Content {
    Text(String),
    Markdown(String),
    Json(Value),
    Png(Vec<u8>),
}

impl Provenance {
    /// Now, on this machine, at the checked-out commit (`(with uncommitted changes)` when source
    /// files differ from it).
    pub fn new(generated_by: &str) -> Provenance {
        let git = crate::runner::git_info();
        Provenance {
            generated_by: generated_by.into(),
            date: crate::runner::utc_now(),
            machine_tag: crate::machine::tag(),
            git_commit: if git.dirty {
                format!("{} (with uncommitted changes)", git.commit)
            } else {
                git.commit
            },
            ..Provenance::default()
        }
    }

    fn lines(&self) -> Vec<String> {
        let mut out = vec![
            format!("generated-by: {}", self.generated_by),
            format!("date: {}", self.date),
            format!("machine: {}", self.machine_tag),
            format!("git-commit: {}", self.git_commit),
        ];
        out.extend(self.tools.iter().map(|(t, v)| format!("tool {t}: {v}")));
        out.extend(self.libraries.iter().map(|l| {
            format!(
                "library {}: {} sha256={} ({} bytes)",
                l.role, l.path, l.sha256, l.bytes
            )
        }));
        out
    }

    /// `# key: value` lines for plain-text files.
    pub fn text_header(&self) -> String {
        let mut s: String = self.lines().iter().map(|l| format!("# {l}\n")).collect();
        s.push('\n');
        s
    }

    /// An HTML comment (invisible when rendered) for Markdown files.
    pub fn markdown_header(&self) -> String {
        // CommonMark ends an HTML comment only at `-->`, so `--quick` may stay as it is.
        let body: String = self
            .lines()
            .iter()
            .map(|l| format!("{}\n", l.replace("-->", "- ->")))
            .collect();
        format!("<!-- provenance\n{body}-->\n\n")
    }

    /// A JSON document with `"provenance"` as its first key: merged into an object (a
    /// `"provenance"` of the value's own becomes `"tool_provenance"`), else `{"provenance", "data"}`.
    pub fn render_json(&self, value: Value) -> String {
        let mut entries = vec![(
            "provenance".to_string(),
            serde_json::to_value(self).unwrap_or_default(),
        )];
        match value {
            Value::Object(map) => entries.extend(map.into_iter().map(|(k, v)| {
                (
                    if k == "provenance" {
                        "tool_provenance".into()
                    } else {
                        k
                    },
                    v,
                )
            })),
            other => entries.push(("data".into(), other)),
        }
        // serde_json's map is sorted: the order is written by hand.
        let body: Vec<String> = entries
            .iter()
            .map(|(k, v)| {
                let v = serde_json::to_string_pretty(v).unwrap_or_default();
                format!("  {}: {}", Value::from(k.as_str()), v.replace('\n', "\n  "))
            })
            .collect();
        format!("{{\n{}\n}}\n", body.join(",\n"))
    }

    /// Writes `content` to `path` with this provenance.
    pub fn write(&self, path: &Path, content: &Content) -> Result<()> {
        let bytes = match content {
            Content::Text(t) => format!("{}{t}", self.text_header()).into_bytes(),
            Content::Markdown(t) => format!("{}{t}", self.markdown_header()).into_bytes(),
            Content::Json(v) => self.render_json(v.clone()).into_bytes(),
            Content::Png(png) => png_with_text(png, "provenance", &self.text_header())?,
        };
        std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
    }

    /// Writes a stand-in for a file that could not be produced, saying why (in the file's format).
    pub fn write_missing(&self, path: &Path, reason: &str) -> Result<()> {
        let note = format!("NOT AVAILABLE in this run: {reason}");
        let name = path.to_string_lossy();
        let content = if name.ends_with(".json") {
            Content::Json(serde_json::json!({ "error": note }))
        } else if name.ends_with(".md") {
            Content::Markdown(format!("{note}\n"))
        } else {
            Content::Text(format!("{note}\n"))
        };
        self.write(path, &content)
    }
}

/// sha256 (hex) and size of a file.
pub fn sha256_file(path: &Path) -> Result<(String, u64)> {
    let mut f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let (mut hasher, mut buf, mut total) = (Sha256::new(), vec![0u8; 1 << 16], 0u64);
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        total += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((
        hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
        total,
    ))
}

/// First line of `program args`' output (stdout, else stderr), or why it is unavailable.
pub fn tool_version(program: &str, args: &[&str]) -> String {
    match Command::new(program).args(args).output() {
        Ok(out) => {
            let text = if out.stdout.is_empty() {
                out.stderr
            } else {
                out.stdout
            };
            let text = String::from_utf8_lossy(&text);
            match text.lines().map(str::trim).find(|l| !l.is_empty()) {
                Some(first) => first.to_string(),
                None => format!("unknown ({program} printed nothing)"),
            }
        }
        Err(err) => format!("not available ({err})"),
    }
}

/// Inserts a `tEXt` chunk right after a PNG's IHDR chunk (ASCII only: tEXt is Latin-1).
pub fn png_with_text(png: &[u8], keyword: &str, text: &str) -> Result<Vec<u8>> {
    const SIG: &[u8] = b"\x89PNG\r\n\x1a\n";
    if png.len() < SIG.len() + 25 || &png[..8] != SIG || &png[12..16] != b"IHDR" {
        bail!("not a PNG file (missing signature or IHDR)");
    }
    let after_ihdr = 8 + 12 + u32::from_be_bytes([png[8], png[9], png[10], png[11]]) as usize;
    if after_ihdr > png.len() {
        bail!("truncated PNG IHDR chunk");
    }
    let mut typed = b"tEXt".to_vec();
    typed.extend_from_slice(keyword.as_bytes());
    typed.push(0);
    typed.extend(text.chars().map(|c| {
        if c.is_ascii() && c != '\0' {
            c as u8
        } else {
            b'?'
        }
    }));
    let mut out = png[..after_ihdr].to_vec();
    out.extend_from_slice(&((typed.len() - 4) as u32).to_be_bytes());
    out.extend_from_slice(&typed);
    out.extend_from_slice(&crc32(&typed).to_be_bytes());
    out.extend_from_slice(&png[after_ihdr..]);
    Ok(out)
}

/// CRC-32 (ISO-HDLC, as PNG uses), bitwise: the inputs are a few hundred bytes.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_reference() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
    }

    #[test]
    fn png_text_chunk_goes_after_ihdr() {
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend_from_slice(&13u32.to_be_bytes());
        let mut typed = b"IHDR".to_vec();
        typed.extend_from_slice(&[0u8; 13]);
        png.extend_from_slice(&typed);
        png.extend_from_slice(&crc32(&typed).to_be_bytes());
        png.extend_from_slice(&[0, 0, 0, 0]);
        png.extend_from_slice(b"IEND");
        png.extend_from_slice(&crc32(b"IEND").to_be_bytes());
        let out = png_with_text(&png, "provenance", "date: x").unwrap();
        // signature (8) + IHDR chunk (4 + 4 + 13 + 4) = 33: the new chunk starts there.
        assert_eq!(&out[33..37], &((10 + 1 + 7) as u32).to_be_bytes());
        assert_eq!(&out[37..41], b"tEXt");
        assert!(out.ends_with(&png[33..]));
        assert!(png_with_text(b"GIF89a", "k", "v").is_err());
    }

    #[test]
    fn every_format_carries_the_header() {
        let p = Provenance {
            machine_tag: "m".into(),
            generated_by: "cargo xtask profile --quick".into(),
            ..Default::default()
        };
        let text = p.render_json(serde_json::json!({"cells": [1], "provenance": {"tool": "x"}}));
        assert!(text.starts_with("{\n  \"provenance\": {"), "{text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["provenance"]["machine_tag"], "m");
        assert_eq!(v["cells"], serde_json::json!([1]));
        assert_eq!(v["tool_provenance"]["tool"], "x");
        let w: Value = serde_json::from_str(&p.render_json(serde_json::json!([1, 2]))).unwrap();
        assert_eq!(w["data"], serde_json::json!([1, 2]));
        assert!(p
            .text_header()
            .starts_with("# generated-by: cargo xtask profile --quick\n"));
        assert!(p
            .markdown_header()
            .contains("generated-by: cargo xtask profile --quick\n"));
    }
}
