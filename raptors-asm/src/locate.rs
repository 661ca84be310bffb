//! Finds an extension module's shared object through Python's import machinery
//! (`importlib.util.find_spec(name).origin`), never by guessing directories.

use std::process::Command;

use serde::Serialize;

/// Where a module was found.
#[derive(Debug, Clone, Serialize)]
pub struct Located {
    pub module: String,
    pub python: String,
    /// Absolute path of the shared object.
    pub path: String,
    /// Module that owns `path` (differs from `module` when a package delegates to one extension
    /// submodule, e.g. `raptors` → `raptors._raptors`).
    pub extension_module: String,
    /// Always `importlib.util.find_spec`.
    pub method: String,
}

// Resolves the module; if its origin is a package `__init__.py`, looks (via pkgutil + find_spec)
// for exactly one extension submodule. Prints `path\textension_module` or an error on stderr.
const SCRIPT: &str = r#"
import importlib.machinery, importlib.util, pkgutil, sys
name = sys.argv[1]
try:
    spec = importlib.util.find_spec(name)
except Exception as e:
    sys.exit(f"importing the parent package of {name!r} failed: {type(e).__name__}: {e}")
if spec is None:
    sys.exit(f"no module named {name!r} on this interpreter's sys.path")
suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
origin = spec.origin or ""
if origin.endswith(suffixes):
    print(origin + "\t" + name); sys.exit(0)
found = []
for info in pkgutil.iter_modules(spec.submodule_search_locations or []):
    sub = importlib.util.find_spec(name + "." + info.name)
    if sub is not None and (sub.origin or "").endswith(suffixes):
        found.append((sub.origin, sub.name))
if len(found) == 1:
    print(found[0][0] + "\t" + found[0][1]); sys.exit(0)
if not found:
    sys.exit(f"{name!r} resolves to {origin or 'a namespace package'}, which is not a shared object, and it has no extension submodule")
sys.exit(f"{name!r} is a package with several extension submodules: " + ", ".join(n for _, n in found) + "; name one")
"#;

/// Runs `python` to locate `module`.
pub fn locate(module: &str, python: &str) -> anyhow::Result<Located> {
    let out = Command::new(python)
        .arg("-c")
        .arg(SCRIPT)
        .arg(module)
        .output()
        .map_err(|e| anyhow::anyhow!("cannot run Python interpreter {python:?}: {e}"))?;
    if !out.status.success() {
        let msg = String::from_utf8_lossy(&out.stderr);
        anyhow::bail!("{python}: cannot locate {module:?}: {}", msg.trim());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().unwrap_or("").trim_end();
    let (path, ext) = line.split_once('\t').ok_or_else(|| {
        anyhow::anyhow!("{python}: unexpected output locating {module:?}: {line:?}")
    })?;
    Ok(Located {
        module: module.to_string(),
        python: python.to_string(),
        path: path.to_string(),
        extension_module: ext.to_string(),
        method: "importlib.util.find_spec".to_string(),
    })
}
