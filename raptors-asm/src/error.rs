//! Typed errors. Every variant names the file it is about, so a CLI user (or the profile step that
//! shells out to us) can tell which input was bad and why without a backtrace.

use std::path::PathBuf;

/// Everything that can go wrong while reading or analysing a library.
#[derive(Debug, thiserror::Error)]
pub enum AsmError {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not an ELF file: {reason}")]
    NotElf { path: PathBuf, reason: String },
    #[error("{path}: malformed ELF{}: {reason}", fmt_offset(*offset))]
    Malformed {
        path: PathBuf,
        offset: Option<u64>,
        reason: String,
    },
    #[error("{path}: unsupported ELF: {reason}")]
    Unsupported { path: PathBuf, reason: String },
    #[error("{path}: {reason}")]
    Symbol { path: PathBuf, reason: String },
    #[error("invalid symbol pattern {pattern:?}: {reason}")]
    Pattern { pattern: String, reason: String },
}

fn fmt_offset(offset: Option<u64>) -> String {
    match offset {
        Some(o) => format!(" at offset {o:#x}"),
        None => String::new(),
    }
}

impl AsmError {
    pub(crate) fn malformed(
        path: &std::path::Path,
        offset: Option<u64>,
        reason: impl Into<String>,
    ) -> Self {
        AsmError::Malformed {
            path: path.to_path_buf(),
            offset,
            reason: reason.into(),
        }
    }
}

pub type Result<T, E = AsmError> = std::result::Result<T, E>;
