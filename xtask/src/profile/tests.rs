//! The profile's plan for both host architectures and the atomic swap. The report's rendering is
//! tested with it, in `raptors_bench::evidence`.

use std::fs;

use anyhow::bail;

use super::inputs::wheel_platforms;
use super::publish::publish_atomically;
use super::{ArchSel, DtypeSel, Plan, ProfileArgs};
use crate::cross::Arch;

fn args(arch: ArchSel) -> ProfileArgs {
    ProfileArgs {
        quick: true,
        ops: None,
        dtype: DtypeSel::F32,
        arch,
        container: false,
        base_image: None,
        out_dir: None,
        against: None,
    }
}

#[test]
fn the_measured_side_is_the_hosts_on_either_host() {
    for host in [Arch::X86_64, Arch::Aarch64] {
        let all = Plan::new(&args(ArchSel::All), host).unwrap();
        assert_eq!(all.archs, [host, host.other()]);
        assert_eq!(all.static_arch(), Some(host.other()));
        assert_eq!(all.command, "cargo xtask profile --quick --dtype f32");
        let x86 = Plan::new(&args(ArchSel::X86_64), host).unwrap();
        assert_eq!(
            x86.static_arch(),
            (host == Arch::Aarch64).then_some(Arch::X86_64)
        );
        assert!(x86.command.ends_with("--arch x86_64"));
        assert!(wheel_platforms(host.other())
            .iter()
            .all(|p| p.ends_with(host.other().name())));
    }
    let mut old = args(ArchSel::All);
    old.against = Some("HEAD~3".into());
    let plan = Plan::new(&old, Arch::X86_64).unwrap();
    assert!(
        plan.command.ends_with("--against HEAD~3"),
        "{}",
        plan.command
    );
    let mut bad = args(ArchSel::All);
    bad.ops = Some("sum,nope".into());
    assert!(
        format!("{:#}", Plan::new(&bad, Arch::X86_64).unwrap_err()).contains("unknown op \"nope\"")
    );
}

#[test]
fn the_folder_is_swapped_in_only_when_the_build_succeeds() {
    let base = std::env::temp_dir().join(format!("xtask-publish-{}", std::process::id()));
    let dest = base.join("profiles");
    fs::create_dir_all(&dest).unwrap();
    fs::write(dest.join("README.md"), "old").unwrap();
    let err = publish_atomically(&dest, |tmp| -> anyhow::Result<()> {
        fs::write(tmp.join("README.md"), "half")?;
        bail!("step exploded")
    });
    assert!(format!("{:#}", err.unwrap_err()).contains("step exploded"));
    let panicked = publish_atomically(&dest, |_| -> anyhow::Result<()> { panic!("boom") });
    assert!(format!("{:#}", panicked.unwrap_err()).contains("boom"));
    assert_eq!(fs::read_to_string(dest.join("README.md")).unwrap(), "old");
    publish_atomically(&dest, |tmp| Ok(fs::write(tmp.join("README.md"), "new")?)).unwrap();
    assert_eq!(fs::read_to_string(dest.join("README.md")).unwrap(), "new");
    let left: Vec<_> = fs::read_dir(&base)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["profiles"], "temp and old folders are removed");
    fs::remove_dir_all(base).unwrap();
}
