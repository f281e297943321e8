//! Diagnosing a launch digest that is not the expected one: recompute from
//! the caller's inputs and, when the value differs from the report's, try
//! the host-chosen inputs that most often differ (vCPU count, vCPU type,
//! VMM type, guest features, kernel hashes off) one at a time.
//!
//! The firmware pages are hashed once: every variant starts from the
//! firmware digest (the `--snp-ovmf-hash` seed), and one replay with many
//! vCPUs gives the digest of every smaller count (the digest after VMSA
//! `k` is the digest of a launch with `k + 1` vCPUs).

use tee_core::Result;

use super::launch::{LaunchDigest, MAX_VCPUS, SnpLaunch};
use super::vmsa::{VcpuType, VmmType};

/// The guest-feature sets tried (SNPActive; SNPActive + DebugSwap, the
/// Linux 6.6/6.7 hosts' default).
pub const TRIED_GUEST_FEATURES: [u64; 2] = [0x1, 0x21];

/// Most vCPU counts tried: at least 64, else twice the given count.
fn max_count(given: u32) -> u32 {
    given.saturating_mul(2).clamp(64, 512).min(MAX_VCPUS)
}

/// One input whose value, changed, gives the report's digest.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InputChange {
    /// The input (`vcpus`, `vcpu_type`, `vmm_type`, `guest_features`, `kernel`).
    pub input: &'static str,
    /// Its value in the caller's inputs.
    pub given: String,
    /// The value that gives the report's digest.
    pub running: String,
}

/// What recomputing a launch digest says about a report's MEASUREMENT.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LaunchDiagnosis {
    /// The inputs give the report's value: they are what the host launched;
    /// the policy's reference values are stale.
    InputsMatch,
    /// The inputs give another value; with these inputs changed (one, or
    /// one and the vCPU count) the value is the report's.
    Changed(Vec<InputChange>),
    /// No variant tried gives the report's value: the firmware, kernel,
    /// initrd or command line differ (or more than one input does).
    NoMatch {
        /// How many input combinations were tried.
        tried: usize,
    },
}

/// Recompute `launch` and diagnose the report's `measurement` against it.
///
/// # Errors
/// As [`SnpLaunch::compute`] for the given inputs (variants that do not
/// compute are skipped).
pub fn diagnose_launch<'a>(
    launch: &SnpLaunch<'a>,
    measurement: &[u8],
) -> Result<(LaunchDigest<'a>, LaunchDiagnosis)> {
    let d = launch.compute()?;
    if d.digest[..] == *measurement {
        return Ok((d, LaunchDiagnosis::InputsMatch));
    }
    // The firmware digest: the seed, or the digest after the first group.
    let seed = match launch.ovmf_hash {
        Some(s) => s,
        None => d.groups.first().map_or([0; 48], |g| g.digest_after),
    };
    let given_sig = launch.vcpu_type.map(|t| t.sig);
    let mut variants: Vec<(Vec<InputChange>, SnpLaunch<'a>)> = vec![(Vec::new(), launch.clone())];
    if launch.vmm_type == VmmType::Qemu {
        let mut seen = Vec::new();
        for t in VcpuType::ALL {
            if Some(t.sig) == given_sig || seen.contains(&t.sig) {
                continue;
            }
            seen.push(t.sig);
            variants.push((
                vec![change(
                    "vcpu_type",
                    describe_type(launch.vcpu_type),
                    t.describe(),
                )],
                launch.clone().vcpu_type(t),
            ));
        }
    }
    for v in VmmType::ALL {
        if v == launch.vmm_type {
            continue;
        }
        let c = change("vmm_type", launch.vmm_type.name().into(), v.name().into());
        if v == VmmType::Qemu && launch.vcpu_type.is_none() {
            for t in VcpuType::ALL.iter().filter(|t| t.name.is_some()) {
                let mut c2 = vec![c.clone()];
                c2.push(change("vcpu_type", "none".into(), t.describe()));
                variants.push((c2, launch.clone().vmm_type(v).vcpu_type(*t)));
            }
        } else {
            variants.push((vec![c], launch.clone().vmm_type(v)));
        }
    }
    for f in TRIED_GUEST_FEATURES {
        if f != launch.guest_features {
            variants.push((
                vec![change(
                    "guest_features",
                    format!("{:#x}", launch.guest_features),
                    format!("{f:#x}"),
                )],
                launch.clone().guest_features(f),
            ));
        }
    }
    if launch.kernel.is_some() {
        let mut l = launch.clone();
        l.kernel = None;
        l.initrd = None;
        l.append = None;
        variants.push((
            vec![change(
                "kernel",
                "measured direct boot (kernel-hashes=on)".into(),
                "no kernel hashes (kernel-hashes=off, or no -kernel)".into(),
            )],
            l,
        ));
    }
    let max = max_count(launch.vcpus);
    let tried = variants.len();
    for (changes, l) in variants {
        let Ok(v) = l.ovmf_hash(seed).vcpus(max).compute() else {
            continue;
        };
        // The last `max` groups are the VMSAs, in order.
        let Some(vmsas) = v.groups.len().checked_sub(max as usize) else {
            continue;
        };
        for (k, g) in v.groups[vmsas..].iter().enumerate() {
            if g.digest_after[..] != *measurement {
                continue;
            }
            let count = k as u32 + 1;
            let mut changes = changes.clone();
            if count != launch.vcpus {
                changes.push(change("vcpus", launch.vcpus.to_string(), count.to_string()));
            }
            if changes.is_empty() {
                // The given inputs themselves: not reachable (checked above).
                continue;
            }
            return Ok((d, LaunchDiagnosis::Changed(changes)));
        }
    }
    Ok((d, LaunchDiagnosis::NoMatch { tried }))
}

fn describe_type(t: Option<VcpuType>) -> String {
    t.map_or_else(|| "none".into(), |t| t.describe())
}

fn change(input: &'static str, given: String, running: String) -> InputChange {
    InputChange {
        input,
        given,
        running,
    }
}

#[cfg(all(test, feature = "testing"))]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::reference::FileInput;
    use crate::testing::SynthOvmf;

    fn digest(l: &SnpLaunch<'_>) -> [u8; 48] {
        l.compute().unwrap().digest
    }

    fn changes(l: &SnpLaunch<'_>, m: &[u8; 48]) -> Vec<(&'static str, String)> {
        match diagnose_launch(l, m).unwrap().1 {
            LaunchDiagnosis::Changed(c) => c.into_iter().map(|c| (c.input, c.running)).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn each_outcome() {
        let img = SynthOvmf::facts().build();
        let k = [b'K'; 4096];
        let genoa = VcpuType::parse("EPYC-Genoa").unwrap();
        let given = SnpLaunch::new(FileInput::new("x", &img))
            .vcpus(4)
            .vcpu_type(genoa)
            .kernel(FileInput::new("k", &k))
            .append("console=ttyS0");
        // The inputs themselves: they match.
        let (d, diag) = diagnose_launch(&given, &digest(&given)).unwrap();
        assert_eq!(diag, LaunchDiagnosis::InputsMatch);
        assert_eq!(d.digest, digest(&given));
        // One input changed: that input is named with the running value.
        let c = changes(&given, &digest(&given.clone().vcpus(7)));
        assert_eq!(c, [("vcpus", "7".to_string())]);
        let milan = VcpuType::parse("EPYC-Milan").unwrap();
        let c = changes(&given, &digest(&given.clone().vcpu_type(milan)));
        assert_eq!(c, [("vcpu_type", milan.describe())]);
        let c = changes(&given, &digest(&given.clone().vmm_type(VmmType::Ec2)));
        assert_eq!(c, [("vmm_type", "ec2".to_string())]);
        let c = changes(&given, &digest(&given.clone().guest_features(0x21)));
        assert_eq!(c, [("guest_features", "0x21".to_string())]);
        let mut off = given.clone();
        off.kernel = None;
        off.append = None;
        let c = changes(&given, &digest(&off));
        assert_eq!(c[0].0, "kernel");
        // A type and a count: both named.
        let c = changes(&given, &digest(&given.clone().vcpu_type(milan).vcpus(2)));
        assert_eq!(
            c,
            [("vcpu_type", milan.describe()), ("vcpus", "2".to_string())]
        );
        // Other firmware: nothing tried matches.
        let mut other = SynthOvmf::facts();
        other.fill = 0x00;
        let other = other.build();
        let theirs = SnpLaunch {
            ovmf: FileInput::new("y", &other),
            ..given.clone()
        };
        match diagnose_launch(&given, &digest(&theirs)).unwrap().1 {
            LaunchDiagnosis::NoMatch { tried } => assert!(tried >= 5, "{tried}"),
            x => panic!("{x:?}"),
        }
        // Not a digest at all (wrong length): no match, never a panic.
        assert!(matches!(
            diagnose_launch(&given, &[1, 2, 3]).unwrap().1,
            LaunchDiagnosis::NoMatch { .. }
        ));
        // Inputs that do not compute: the error of compute.
        assert!(diagnose_launch(&given.clone().vcpus(0), &[0; 48]).is_err());
    }
}
