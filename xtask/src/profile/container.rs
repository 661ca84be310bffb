//! The profile inside a container: `cargo xtask profile --container` builds the top-level
//! Dockerfile and runs it through docker-compose.bench.yml (SYS_ADMIN + seccomp=unconfined, the
//! most this sandbox allows; `privileged: true` is refused here), writing into the mounted
//! benchmarks/profiles. `run_container_test` is the opt-in test behind `cargo xtask test --container`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde_json::Value;

use super::ProfileArgs;
use crate::setup::project_root;
use crate::steps::run_inherit;

pub const IMAGE: &str = "raptors-profile:latest";
const LOCAL_BASE: &str = "raptors-base:bookworm";
const DEFAULT_BASE: &str = "debian:bookworm-slim";

fn docker_ok() -> Result<()> {
    let out = Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .output();
    match out {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => bail!(
            "the Docker daemon is not reachable ({}). Start it (e.g. `dockerd > dockerd.log 2>&1 &`) \
             and retry; see docs/profiling.md",
            String::from_utf8_lossy(&o.stderr).trim()
        ),
        Err(e) => bail!(
            "docker is not installed ({e}). Debian: `apt-get install docker.io docker-compose`; \
             see docs/profiling.md for the base image"
        ),
    }
}

fn image_exists(name: &str) -> bool {
    Command::new("docker")
        .args(["image", "inspect", name])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The base image: the flag, else the locally imported debootstrap image when present, else the
/// ordinary Debian image.
pub fn base_image(flag: Option<&str>) -> String {
    match flag {
        Some(b) => b.to_string(),
        None if image_exists(LOCAL_BASE) => LOCAL_BASE.to_string(),
        None => DEFAULT_BASE.to_string(),
    }
}

/// Extra CA certificates the host trusts (TLS-intercepting networks); empty when there are none.
fn extra_ca_certs() -> String {
    let mut pem = String::new();
    if let Ok(dir) = fs::read_dir("/usr/local/share/ca-certificates") {
        let mut files: Vec<PathBuf> = dir.filter_map(|e| e.ok().map(|e| e.path())).collect();
        files.sort();
        for f in files
            .into_iter()
            .filter(|f| f.extension().is_some_and(|e| e == "crt"))
        {
            if let Ok(text) = fs::read_to_string(&f) {
                pem.push_str(text.trim_end());
                pem.push('\n');
            }
        }
    }
    pem
}

pub fn build_image(base: &str) -> Result<()> {
    docker_ok()?;
    eprintln!(
        "building {IMAGE} from base {base} (first build: apt + pip + cargo, several minutes)"
    );
    let certs = extra_ca_certs();
    let count = certs.matches("BEGIN CERTIFICATE").count();
    // `--build-arg NAME` without a value takes it from the environment: keeps the PEM text out
    // of the printed command line.
    let mut cmd = Command::new("docker");
    cmd.current_dir(project_root())
        .env("EXTRA_CA_CERTS", &certs)
        .args(["build", "-t", IMAGE, "--build-arg"])
        .arg(format!("BASE={base}"))
        .args(["--build-arg", "EXTRA_CA_CERTS", "."]);
    eprintln!(
        "$ docker build -t {IMAGE} --build-arg BASE={base} --build-arg EXTRA_CA_CERTS ({count} host CA certificate(s)) ."
    );
    let status = cmd.status().context("could not start docker build")?;
    if !status.success() {
        bail!("docker build of the profile image failed with {status} (its output is above)");
    }
    Ok(())
}

/// Runs the image with the compose file's settings, mounting `out_parent` at /out (the profile
/// writes /out/profiles). docker-compose when installed, else `docker run` with the same options.
pub fn run_image(out_parent: &Path, profile_args: &[String]) -> Result<()> {
    fs::create_dir_all(out_parent)?;
    let compose = ["docker-compose", "docker compose"].into_iter().find(|c| {
        let mut parts = c.split(' ');
        let prog = parts.next().unwrap_or_default();
        Command::new(prog)
            .args(parts)
            .arg("version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    let mut cmd = match compose {
        Some(c) => {
            let mut parts = c.split(' ');
            let mut cmd = Command::new(parts.next().unwrap_or("docker-compose"));
            cmd.args(parts)
                .current_dir(project_root())
                .env("RAPTORS_PROFILE_OUT", out_parent)
                .args(["-f", "docker-compose.bench.yml", "run", "--rm", "profile"]);
            cmd
        }
        None => {
            let mut cmd = Command::new("docker");
            cmd.args([
                "run",
                "--rm",
                "--cap-add",
                "SYS_ADMIN",
                "--security-opt",
                "seccomp=unconfined",
                "-v",
            ])
            .arg(format!("{}:/out", out_parent.display()))
            .arg(IMAGE);
            cmd
        }
    };
    cmd.args(profile_args);
    let result = run_inherit(&mut cmd);
    if let Err(err) = result {
        let refused = probe_refusal();
        bail!("{err:#}\ncontainer status: {refused}");
    }
    Ok(())
}

/// Classifies whether this host refuses containers with full privileges, so failures can say
/// "container refused" instead of a generic error.
pub fn probe_refusal() -> String {
    let out = Command::new("docker")
        .args(["run", "--rm", "--privileged", IMAGE, "--help"])
        .output();
    match out {
        Ok(o) if o.status.success() => "privileged containers start on this host".into(),
        Ok(o) => classify_refusal(&String::from_utf8_lossy(&o.stderr)),
        Err(e) => format!("docker could not be run: {e}"),
    }
}

pub fn classify_refusal(stderr: &str) -> String {
    // docker prints the daemon's error first, then a "Run 'docker run --help'" hint.
    let line = stderr
        .lines()
        .find(|l| l.contains("Error") || l.contains("error"))
        .or_else(|| stderr.lines().rev().find(|l| !l.trim().is_empty()))
        .unwrap_or("")
        .trim();
    if stderr.contains("unable to apply caps") || stderr.contains("operation not permitted") {
        format!("container refused: privileged mode is not allowed by this host ({line})")
    } else if stderr.contains("permission denied") {
        format!("container refused: permission denied ({line})")
    } else {
        format!("container failed to start: {line}")
    }
}

/// Arguments passed through to `cargo xtask profile` inside the container.
pub fn inner_args(args: &ProfileArgs) -> Vec<String> {
    let mut v = Vec::new();
    if args.quick {
        v.push("--quick".to_string());
    }
    if let Some(o) = &args.ops {
        v.push("--ops".into());
        v.push(o.clone());
    }
    let dtype = match args.dtype {
        super::DtypeSel::F32 => "f32",
        super::DtypeSel::F64 => "f64",
        super::DtypeSel::All => "all",
    };
    let arch = match args.arch {
        super::ArchSel::X86_64 => "x86_64",
        super::ArchSel::Aarch64 => "aarch64",
        super::ArchSel::All => "all",
    };
    v.extend(["--dtype".into(), dtype.into(), "--arch".into(), arch.into()]);
    v
}

/// `cargo xtask profile --container`.
pub fn run_profile_container(args: &ProfileArgs) -> Result<()> {
    let base = base_image(args.base_image.as_deref());
    build_image(&base)?;
    let dest = args.out_dir.clone().unwrap_or_else(super::default_out_dir);
    let parent = dest
        .parent()
        .context("--out-dir has no parent folder")?
        .to_path_buf();
    if dest.file_name().is_none_or(|n| n != "profiles") {
        bail!("with --container the folder must be named `profiles` (the image writes /out/profiles); got {}", dest.display());
    }
    run_image(&parent, &inner_args(args))?;
    eprintln!("container profile written to {}", dest.display());
    eprintln!(
        "counter status inside the container: {}",
        counter_status(&dest)?
    );
    Ok(())
}

/// The classified perf status the in-container report recorded (raptors-bench's wording).
pub fn counter_status(profiles: &Path) -> Result<String> {
    raptors_bench::collect::recorded_status(&profiles.join("counters.json"))
        .context("the container's counters")
}

/// Opt-in test: build the image, run `profile --quick` inside it into target/container-test, and
/// check the report exists and classifies the counters inside a container.
pub fn run_container_test() -> Result<()> {
    let base = base_image(None);
    build_image(&base)?;
    let out_parent = crate::setup::target_dir().join("container-test");
    let profiles = out_parent.join("profiles");
    run_image(
        &out_parent,
        &["--quick".to_string(), "--dtype".into(), "f32".into()],
    )?;
    let readme = fs::read_to_string(profiles.join("README.md"))
        .with_context(|| format!("the container wrote no report in {}", profiles.display()))?;
    if !readme.contains("inside the profile container") {
        bail!("the report does not say it ran inside the container");
    }
    if !readme.contains("## Hardware counters") {
        bail!("the report has no counter section");
    }
    let status = counter_status(&profiles)?;
    let v: Value = serde_json::from_str(&fs::read_to_string(profiles.join("counters.json"))?)?;
    if v.pointer("/perf/context/in_container")
        .and_then(Value::as_bool)
        != Some(true)
    {
        bail!("counters.json does not record that perf ran inside a container");
    }
    eprintln!("container test: counters inside the container: {status}");
    eprintln!("container test: privileged mode: {}", probe_refusal());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_refusals() {
        let sandbox = "docker: Error response from daemon: failed to create shim: OCI runtime create failed: \
            runc create failed: unable to start container process: unable to apply caps: operation not permitted: unknown.";
        assert!(classify_refusal(sandbox).starts_with("container refused: privileged mode"));
        let with_hint = format!("{sandbox}\n\nRun 'docker run --help' for more information\n");
        assert!(classify_refusal(&with_hint).contains("unable to apply caps"));
        assert!(
            classify_refusal("Got permission denied while trying to connect")
                .starts_with("container refused: permission denied")
        );
        assert!(classify_refusal("no such image").starts_with("container failed to start"));
    }

    /// Opt-in (needs Docker and several minutes): `cargo test -p xtask -- --ignored container_profile`,
    /// or `cargo xtask test --container`.
    #[test]
    #[ignore]
    fn container_profile_end_to_end() {
        run_container_test().unwrap();
    }

    #[test]
    fn passes_flags_through() {
        let args = ProfileArgs {
            quick: true,
            ops: Some("sum,add".into()),
            dtype: super::super::DtypeSel::F32,
            arch: super::super::ArchSel::All,
            container: true,
            base_image: None,
            out_dir: None,
            against: None,
        };
        assert_eq!(
            inner_args(&args),
            ["--quick", "--ops", "sum,add", "--dtype", "f32", "--arch", "all"]
        );
    }
}
