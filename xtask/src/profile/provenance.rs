//! Provenance stamped at the top of every artifact: tool versions, the analysed libraries (path +
//! sha256), machine tag, git commit and date. Text files get `# key: value` lines, Markdown an
//! HTML comment, JSON a top-level `"provenance"` object, PNG a `tEXt` chunk.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::Path;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

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

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Provenance {
    pub generated_by: String,
    pub date: String,
    pub machine_tag: String,
    pub git_commit: String,
    pub tools: BTreeMap<String, String>,
    pub libraries: Vec<LibraryInfo>,
}

impl Provenance {
    /// `# key: value` lines for plain-text artifacts.
    pub fn text_header(&self) -> String {
        let mut s = String::new();
        for line in self.lines() {
            s.push_str("# ");
            s.push_str(&line);
            s.push('\n');
        }
        s.push('\n');
        s
    }

    /// An HTML comment (invisible when rendered, first thing in the file) for Markdown artifacts.
    pub fn markdown_header(&self) -> String {
        let mut s = String::from("<!-- provenance\n");
        for line in self.lines() {
            // CommonMark ends an HTML comment only at `-->`, so `--quick` may stay as it is.
            s.push_str(&line.replace("-->", "- ->"));
            s.push('\n');
        }
        s.push_str("-->\n\n");
        s
    }

    fn lines(&self) -> Vec<String> {
        let mut out = vec![
            format!("generated-by: {}", self.generated_by),
            format!("date: {}", self.date),
            format!("machine: {}", self.machine_tag),
            format!("git-commit: {}", self.git_commit),
        ];
        for (tool, version) in &self.tools {
            out.push(format!("tool {tool}: {version}"));
        }
        for lib in &self.libraries {
            out.push(format!(
                "library {}: {} sha256={} ({} bytes)",
                lib.role, lib.path, lib.sha256, lib.bytes
            ));
        }
        out
    }

    /// Renders a JSON document with `"provenance"` as its first key: merged into an object, or
    /// wrapping any other value as `{"provenance": …, "data": …}`. (serde_json's map is sorted,
    /// so the order is written by hand rather than by enabling `preserve_order` workspace-wide.)
    pub fn render_json(&self, value: Value) -> String {
        let prov = serde_json::to_value(self).expect("provenance serialises");
        let mut entries: Vec<(String, Value)> = vec![("provenance".into(), prov)];
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    // Keep the producing tool's own provenance next to ours.
                    let key = if k == "provenance" {
                        "tool_provenance".to_string()
                    } else {
                        k
                    };
                    entries.push((key, v));
                }
            }
            other => entries.push(("data".into(), other)),
        }
        let mut out = String::from("{\n");
        for (i, (k, v)) in entries.iter().enumerate() {
            let body = serde_json::to_string_pretty(v).expect("JSON value serialises");
            let key = serde_json::to_string(k).expect("key serialises");
            out.push_str(&format!("  {key}: {}", body.replace('\n', "\n  ")));
            out.push_str(if i + 1 < entries.len() { ",\n" } else { "\n" });
        }
        out.push_str("}\n");
        out
    }
}

/// sha256 of a file, hex.
pub fn sha256_file(path: &Path) -> Result<(String, u64)> {
    let mut f = fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        total += n as u64;
        hasher.update(&buf[..n]);
    }
    let digest = hasher.finalize();
    Ok((digest.iter().map(|b| format!("{b:02x}")).collect(), total))
}

pub fn library_info(role: &str, path: &Path) -> Result<LibraryInfo> {
    let (sha256, bytes) = sha256_file(path)?;
    Ok(LibraryInfo {
        role: role.to_string(),
        path: path.display().to_string(),
        sha256,
        bytes,
    })
}

/// Current UTC time as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format_utc(secs)
}

pub fn format_utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian calendar).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// A short stable name for this machine: CPU model, core count, architecture
/// (e.g. `amd-epyc-9r14-2c-x86_64`).
pub fn machine_tag() -> String {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .unwrap_or("unknown-cpu")
        .trim()
        .to_string();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    format!("{}-{cores}c-{}", slug(&model), std::env::consts::ARCH)
}

pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for word in text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let w = word.to_ascii_lowercase();
        if matches!(
            w.as_str(),
            "processor" | "core" | "cpu" | "with" | "radeon" | "graphics"
        ) {
            continue;
        }
        if !out.is_empty() {
            out.push('-');
        }
        out.push_str(&w);
    }
    if out.is_empty() {
        "unknown".into()
    } else {
        out
    }
}

/// First line of `<program> <args>`'s output (stdout, else stderr), or why it is unavailable.
pub fn tool_version(program: &str, args: &[&str]) -> String {
    match Command::new(program).args(args).output() {
        Ok(out) => {
            let text = if out.stdout.is_empty() {
                String::from_utf8_lossy(&out.stderr).into_owned()
            } else {
                String::from_utf8_lossy(&out.stdout).into_owned()
            };
            let first = text
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .unwrap_or("");
            if first.is_empty() {
                format!("unknown ({program} printed nothing)")
            } else {
                first.to_string()
            }
        }
        Err(err) => format!("not available ({err})"),
    }
}

/// Inserts a `tEXt` chunk (keyword `provenance`) right after a PNG's IHDR chunk.
pub fn png_with_text(png: &[u8], keyword: &str, text: &str) -> Result<Vec<u8>> {
    const SIG: &[u8] = b"\x89PNG\r\n\x1a\n";
    if png.len() < SIG.len() + 25 || &png[..8] != SIG || &png[12..16] != b"IHDR" {
        bail!("not a PNG file (missing signature or IHDR)");
    }
    let ihdr_len = u32::from_be_bytes([png[8], png[9], png[10], png[11]]) as usize;
    let after_ihdr = 8 + 12 + ihdr_len;
    if after_ihdr > png.len() {
        bail!("truncated PNG IHDR chunk");
    }
    // tEXt is Latin-1: keep it ASCII.
    let body: String = text
        .chars()
        .map(|c| if c.is_ascii() && c != '\0' { c } else { '?' })
        .collect();
    let mut data = Vec::new();
    data.extend_from_slice(keyword.as_bytes());
    data.push(0);
    data.extend_from_slice(body.as_bytes());
    let mut chunk = Vec::with_capacity(data.len() + 12);
    chunk.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut typed = b"tEXt".to_vec();
    typed.extend_from_slice(&data);
    chunk.extend_from_slice(&typed);
    chunk.extend_from_slice(&crc32(&typed).to_be_bytes());
    let mut out = Vec::with_capacity(png.len() + chunk.len());
    out.extend_from_slice(&png[..after_ihdr]);
    out.extend_from_slice(&chunk);
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
    fn formats_known_dates() {
        assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_utc(1_795_647_538), "2026-11-25T22:58:58Z");
    }

    #[test]
    fn crc_matches_reference() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
    }

    #[test]
    fn png_text_chunk_goes_after_ihdr() {
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        let ihdr_data = [0u8; 13];
        png.extend_from_slice(&13u32.to_be_bytes());
        let mut typed = b"IHDR".to_vec();
        typed.extend_from_slice(&ihdr_data);
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
    fn json_rendering_puts_provenance_first() {
        let p = Provenance {
            machine_tag: "m".into(),
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
    }

    #[test]
    fn slugs_cpu_models() {
        assert_eq!(slug("AMD EPYC 9R14 96-Core Processor"), "amd-epyc-9r14-96");
    }
}
