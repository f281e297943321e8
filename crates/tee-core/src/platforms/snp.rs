//! AMD SEV-SNP raw claims and policy.

use serde::{Deserialize, Serialize};

use crate::appraisal::Appraisal;
use crate::bytes::HexBytes;

/// Which key signed the report (`key_info.signing_key`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SnpSigningKey {
    /// Versioned Chip Endorsement Key.
    Vcek,
    /// Versioned Loaded Endorsement Key.
    Vlek,
}

/// A decoded TCB_VERSION.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SnpTcb {
    /// Boot loader SPL.
    pub bootloader: u8,
    /// PSP OS (TEE) SPL.
    pub tee: u8,
    /// SNP firmware SPL.
    pub snp: u8,
    /// Microcode SPL.
    pub microcode: u8,
    /// FMC SPL (Turin and later only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fmc: Option<u8>,
    /// The raw 64-bit value.
    pub raw: u64,
}

/// Decoded guest policy bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SnpGuestPolicy {
    /// Raw 64-bit policy.
    pub raw: u64,
    /// Minimum ABI minor version.
    pub abi_minor: u8,
    /// Minimum ABI major version.
    pub abi_major: u8,
    /// SMT allowed (bit 16).
    pub smt: bool,
    /// Migration agent allowed (bit 18).
    pub migrate_ma: bool,
    /// Debugging allowed (bit 19).
    pub debug: bool,
    /// Single socket only (bit 20).
    pub single_socket: bool,
    /// CXL allowed (bit 21).
    pub cxl_allow: bool,
    /// AES-256-XTS required (bit 22).
    pub mem_aes_256_xts: bool,
    /// RAPL disabled required (bit 23).
    pub rapl_dis: bool,
    /// Ciphertext hiding required (bit 24).
    pub ciphertext_hiding: bool,
    /// Page swap disabled (bit 25).
    pub page_swap_disable: bool,
}

/// Decoded PLATFORM_INFO bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SnpPlatformInfo {
    /// Raw value.
    pub raw: u64,
    /// SMT enabled on the platform (bit 0).
    pub smt_enabled: bool,
    /// TSME enabled (bit 1).
    pub tsme_enabled: bool,
    /// ECC memory in use (bit 2).
    pub ecc_enabled: bool,
    /// RAPL disabled (bit 3).
    pub rapl_disabled: bool,
    /// Ciphertext hiding enabled (bit 4).
    pub ciphertext_hiding_enabled: bool,
    /// Alias check complete (bit 5).
    pub alias_check_complete: bool,
}

/// Raw claims of a verified SEV-SNP report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SnpClaims {
    /// Report version (2, 3 or 5).
    pub version: u32,
    /// `milan`, `genoa` or `turin`.
    pub product: String,
    /// VCEK or VLEK.
    pub signing_key: SnpSigningKey,
    /// Guest SVN.
    pub guest_svn: u32,
    /// Guest policy.
    pub policy: SnpGuestPolicy,
    /// Family id (16 bytes).
    pub family_id: HexBytes,
    /// Image id (16 bytes).
    pub image_id: HexBytes,
    /// VMPL of the request.
    pub vmpl: u32,
    /// Launch measurement (48 bytes).
    pub measurement: HexBytes,
    /// Report data (64 bytes).
    pub report_data: HexBytes,
    /// Host data (32 bytes).
    pub host_data: HexBytes,
    /// ID key digest.
    pub id_key_digest: HexBytes,
    /// Author key digest.
    pub author_key_digest: HexBytes,
    /// Report id.
    pub report_id: HexBytes,
    /// Report id of the migration agent.
    pub report_id_ma: HexBytes,
    /// Chip id (64 bytes; zero when masked or for VLEK-signed reports).
    pub chip_id: HexBytes,
    /// Current TCB.
    pub current_tcb: SnpTcb,
    /// Reported TCB (the TCB the signing key was derived for).
    pub reported_tcb: SnpTcb,
    /// Committed TCB.
    pub committed_tcb: SnpTcb,
    /// TCB at launch.
    pub launch_tcb: SnpTcb,
    /// Platform info.
    pub platform_info: SnpPlatformInfo,
    /// Current firmware version `major.minor.build`.
    pub current_version: String,
    /// Committed firmware version `major.minor.build`.
    pub committed_version: String,
    /// CPUID family/model/stepping (v3+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpuid: Option<[u8; 3]>,
    /// Launch mitigation vector (v5+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_mit_vector: Option<u64>,
    /// Current mitigation vector (v5+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_mit_vector: Option<u64>,
}

impl SnpTcb {
    /// A TCB_VERSION decoded by the caller (its layout depends on the
    /// product, which the backend knows): the raw value and its components.
    pub fn new(raw: u64, bootloader: u8, tee: u8, snp: u8, microcode: u8, fmc: Option<u8>) -> Self {
        Self {
            bootloader,
            tee,
            snp,
            microcode,
            fmc,
            raw,
        }
    }
}

impl SnpGuestPolicy {
    /// Decode the 64-bit guest policy (SEV-SNP ABI, table "GUEST_POLICY").
    pub fn from_raw(raw: u64) -> Self {
        let bit = |n: u32| raw >> n & 1 == 1;
        Self {
            raw,
            abi_minor: (raw & 0xFF) as u8,
            abi_major: (raw >> 8 & 0xFF) as u8,
            smt: bit(16),
            migrate_ma: bit(18),
            debug: bit(19),
            single_socket: bit(20),
            cxl_allow: bit(21),
            mem_aes_256_xts: bit(22),
            rapl_dis: bit(23),
            ciphertext_hiding: bit(24),
            page_swap_disable: bit(25),
        }
    }
}

impl SnpPlatformInfo {
    /// Decode the 64-bit PLATFORM_INFO field.
    pub fn from_raw(raw: u64) -> Self {
        let bit = |n: u32| raw >> n & 1 == 1;
        Self {
            raw,
            smt_enabled: bit(0),
            tsme_enabled: bit(1),
            ecc_enabled: bit(2),
            rapl_disabled: bit(3),
            ciphertext_hiding_enabled: bit(4),
            alias_check_complete: bit(5),
        }
    }
}

impl SnpClaims {
    /// Raw claims naming the report version, product and signing key; every
    /// other field starts empty (zero TCBs, empty ids) and the verifier sets
    /// each one from the report it verified.
    pub fn new(version: u32, product: impl Into<String>, signing_key: SnpSigningKey) -> Self {
        let zero_tcb = SnpTcb::new(0, 0, 0, 0, 0, None);
        Self {
            version,
            product: product.into(),
            signing_key,
            guest_svn: 0,
            policy: SnpGuestPolicy::from_raw(0),
            family_id: HexBytes::default(),
            image_id: HexBytes::default(),
            vmpl: 0,
            measurement: HexBytes::default(),
            report_data: HexBytes::default(),
            host_data: HexBytes::default(),
            id_key_digest: HexBytes::default(),
            author_key_digest: HexBytes::default(),
            report_id: HexBytes::default(),
            report_id_ma: HexBytes::default(),
            chip_id: HexBytes::default(),
            current_tcb: zero_tcb,
            reported_tcb: zero_tcb,
            committed_tcb: zero_tcb,
            launch_tcb: zero_tcb,
            platform_info: SnpPlatformInfo::from_raw(0),
            current_version: String::new(),
            committed_version: String::new(),
            cpuid: None,
            launch_mit_vector: None,
            current_mit_vector: None,
        }
    }
}

/// Minimum TCB per component.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct SnpMinTcb {
    /// Minimum boot loader SPL.
    pub bootloader: u8,
    /// Minimum TEE SPL.
    pub tee: u8,
    /// Minimum SNP SPL.
    pub snp: u8,
    /// Minimum microcode SPL.
    pub microcode: u8,
    /// Minimum FMC SPL (checked on Turin and later).
    pub fmc: u8,
}

/// SEV-SNP policy section (`[sev-snp]`). Defaults fail closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct SnpPolicy {
    /// Minimum reported TCB per component.
    pub min_tcb: Option<SnpMinTcb>,
    /// Minimum guest SVN.
    pub min_guest_svn: Option<u32>,
    /// Required VMPL (default 0).
    pub vmpl: u32,
    /// If non-empty, the family id must be one of these.
    pub allowed_family_ids: Vec<HexBytes>,
    /// If non-empty, the image id must be one of these.
    pub allowed_image_ids: Vec<HexBytes>,
    /// If non-empty, the report's `ID_KEY_DIGEST` (SHA-384 of the ID
    /// block's public key, 48 bytes) must be one of these.
    pub allowed_id_key_digests: Vec<HexBytes>,
    /// If non-empty, the report's `AUTHOR_KEY_DIGEST` (48 bytes) must be
    /// one of these, and the report must say the author key is enabled.
    pub allowed_author_key_digests: Vec<HexBytes>,
    /// Whether a guest policy allowing SMT is acceptable (default true).
    pub allow_smt: bool,
    /// Whether a guest policy allowing a migration agent is acceptable (default false).
    pub allow_migration_agent: bool,
}

impl Default for SnpPolicy {
    fn default() -> Self {
        Self {
            min_tcb: None,
            min_guest_svn: None,
            vmpl: 0,
            allowed_family_ids: Vec::new(),
            allowed_image_ids: Vec::new(),
            allowed_id_key_digests: Vec::new(),
            allowed_author_key_digests: Vec::new(),
            allow_smt: true,
            allow_migration_agent: false,
        }
    }
}

impl SnpMinTcb {
    /// Builder: minimum boot loader SPL.
    #[must_use]
    pub fn bootloader(mut self, spl: u8) -> Self {
        self.bootloader = spl;
        self
    }

    /// Builder: minimum TEE SPL.
    #[must_use]
    pub fn tee(mut self, spl: u8) -> Self {
        self.tee = spl;
        self
    }

    /// Builder: minimum SNP SPL.
    #[must_use]
    pub fn snp(mut self, spl: u8) -> Self {
        self.snp = spl;
        self
    }

    /// Builder: minimum microcode SPL.
    #[must_use]
    pub fn microcode(mut self, spl: u8) -> Self {
        self.microcode = spl;
        self
    }

    /// Builder: minimum FMC SPL.
    #[must_use]
    pub fn fmc(mut self, spl: u8) -> Self {
        self.fmc = spl;
        self
    }
}

impl SnpPolicy {
    /// Builder: require this minimum reported TCB (`min_tcb`).
    #[must_use]
    pub fn min_tcb(mut self, min: SnpMinTcb) -> Self {
        self.min_tcb = Some(min);
        self
    }

    /// Builder: require this minimum guest SVN (`min_guest_svn`).
    #[must_use]
    pub fn min_guest_svn(mut self, svn: u32) -> Self {
        self.min_guest_svn = Some(svn);
        self
    }

    /// Builder: require this VMPL (`vmpl`).
    #[must_use]
    pub fn vmpl(mut self, vmpl: u32) -> Self {
        self.vmpl = vmpl;
        self
    }

    /// Builder: add an allowed family id (`allowed_family_ids`).
    #[must_use]
    pub fn allow_family_id(mut self, id: impl Into<HexBytes>) -> Self {
        self.allowed_family_ids.push(id.into());
        self
    }

    /// Builder: add an allowed image id (`allowed_image_ids`).
    #[must_use]
    pub fn allow_image_id(mut self, id: impl Into<HexBytes>) -> Self {
        self.allowed_image_ids.push(id.into());
        self
    }

    /// Builder: add an allowed ID key digest (`allowed_id_key_digests`).
    #[must_use]
    pub fn allow_id_key_digest(mut self, digest: impl Into<HexBytes>) -> Self {
        self.allowed_id_key_digests.push(digest.into());
        self
    }

    /// Builder: add an allowed author key digest (`allowed_author_key_digests`).
    #[must_use]
    pub fn allow_author_key_digest(mut self, digest: impl Into<HexBytes>) -> Self {
        self.allowed_author_key_digests.push(digest.into());
        self
    }

    /// Builder: whether a guest policy allowing SMT is acceptable (`allow_smt`).
    #[must_use]
    pub fn allow_smt(mut self, allow: bool) -> Self {
        self.allow_smt = allow;
        self
    }

    /// Builder: whether a guest policy allowing a migration agent is
    /// acceptable (`allow_migration_agent`).
    #[must_use]
    pub fn allow_migration_agent(mut self, allow: bool) -> Self {
        self.allow_migration_agent = allow;
        self
    }
}

pub(crate) fn appraise(c: &SnpClaims, p: &SnpPolicy, out: &mut Appraisal) {
    out.check(
        "sev-snp.vmpl",
        c.vmpl == p.vmpl,
        format!("report VMPL {}, required {}", c.vmpl, p.vmpl),
    );
    match &p.min_tcb {
        None => out.skip("sev-snp.min_tcb", "no minimum TCB configured"),
        Some(m) => {
            let t = &c.reported_tcb;
            let mut low = Vec::new();
            for (name, have, want) in [
                ("bootloader", t.bootloader, m.bootloader),
                ("tee", t.tee, m.tee),
                ("snp", t.snp, m.snp),
                ("microcode", t.microcode, m.microcode),
            ] {
                if have < want {
                    low.push(format!("{name} {have} < {want}"));
                }
            }
            if let Some(fmc) = t.fmc
                && fmc < m.fmc
            {
                low.push(format!("fmc {fmc} < {}", m.fmc));
            }
            let ok = low.is_empty();
            out.check(
                "sev-snp.min_tcb",
                ok,
                if ok {
                    "reported TCB meets the minimum".to_string()
                } else {
                    low.join(", ")
                },
            );
        }
    }
    match p.min_guest_svn {
        None => out.skip("sev-snp.min_guest_svn", "no minimum guest SVN configured"),
        Some(m) => out.check(
            "sev-snp.min_guest_svn",
            c.guest_svn >= m,
            format!("guest SVN {}, minimum {m}", c.guest_svn),
        ),
    }
    for (name, list, have) in [
        ("sev-snp.family_id", &p.allowed_family_ids, &c.family_id),
        ("sev-snp.image_id", &p.allowed_image_ids, &c.image_id),
    ] {
        if list.is_empty() {
            out.skip(name, "no allowed values configured");
        } else {
            out.check(name, list.contains(have), format!("{have}"));
        }
    }
    out.check(
        "sev-snp.smt",
        p.allow_smt || !c.policy.smt,
        if c.policy.smt {
            "guest policy allows SMT"
        } else {
            "guest policy forbids SMT"
        },
    );
    out.check(
        "sev-snp.migration_agent",
        p.allow_migration_agent || !c.policy.migrate_ma,
        if c.policy.migrate_ma {
            "guest policy allows a migration agent"
        } else {
            "guest policy forbids a migration agent"
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::appraisal::Outcome;

    fn tcb(bl: u8, tee: u8, snp: u8, ucode: u8, fmc: Option<u8>) -> SnpTcb {
        SnpTcb {
            bootloader: bl,
            tee,
            snp,
            microcode: ucode,
            fmc,
            raw: 0,
        }
    }

    fn claims() -> SnpClaims {
        SnpClaims {
            version: 3,
            product: "milan".into(),
            signing_key: SnpSigningKey::Vcek,
            guest_svn: 5,
            policy: SnpGuestPolicy {
                raw: 0x30000,
                abi_minor: 0,
                abi_major: 0,
                smt: true,
                migrate_ma: false,
                debug: false,
                single_socket: false,
                cxl_allow: false,
                mem_aes_256_xts: false,
                rapl_dis: false,
                ciphertext_hiding: false,
                page_swap_disable: false,
            },
            family_id: HexBytes(vec![1; 16]),
            image_id: HexBytes(vec![2; 16]),
            vmpl: 0,
            measurement: HexBytes(vec![0; 48]),
            report_data: HexBytes(vec![0; 64]),
            host_data: HexBytes(vec![0; 32]),
            id_key_digest: HexBytes(vec![0; 48]),
            author_key_digest: HexBytes(vec![0; 48]),
            report_id: HexBytes(vec![0; 32]),
            report_id_ma: HexBytes(vec![0xFF; 32]),
            chip_id: HexBytes(vec![0; 64]),
            current_tcb: tcb(3, 0, 8, 115, None),
            reported_tcb: tcb(3, 0, 8, 115, None),
            committed_tcb: tcb(3, 0, 8, 115, None),
            launch_tcb: tcb(3, 0, 8, 115, None),
            platform_info: SnpPlatformInfo {
                raw: 0,
                smt_enabled: false,
                tsme_enabled: false,
                ecc_enabled: false,
                rapl_disabled: false,
                ciphertext_hiding_enabled: false,
                alias_check_complete: false,
            },
            current_version: "1.55.29".into(),
            committed_version: "1.55.29".into(),
            cpuid: Some([0x19, 1, 1]),
            launch_mit_vector: None,
            current_mit_vector: None,
        }
    }

    fn run(c: &SnpClaims, p: &SnpPolicy) -> Appraisal {
        let mut a = Appraisal::default();
        appraise(c, p, &mut a);
        a
    }

    fn outcome(a: &Appraisal, name: &str) -> (Outcome, String) {
        let c = a.checks.iter().find(|c| c.name == name).unwrap();
        (c.outcome, c.detail.clone())
    }

    #[test]
    fn defaults() {
        let a = run(&claims(), &SnpPolicy::default());
        assert_eq!(outcome(&a, "sev-snp.vmpl").0, Outcome::Passed);
        assert_eq!(outcome(&a, "sev-snp.min_tcb").0, Outcome::Skipped);
        assert_eq!(outcome(&a, "sev-snp.min_guest_svn").0, Outcome::Skipped);
        assert_eq!(outcome(&a, "sev-snp.family_id").0, Outcome::Skipped);
        assert_eq!(outcome(&a, "sev-snp.smt").0, Outcome::Passed);
        assert_eq!(outcome(&a, "sev-snp.migration_agent").0, Outcome::Passed);
        // VMPL 1 fails the default (VMPL 0).
        let mut c = claims();
        c.vmpl = 1;
        assert_eq!(
            outcome(&run(&c, &SnpPolicy::default()), "sev-snp.vmpl"),
            (Outcome::Failed, "report VMPL 1, required 0".into())
        );
        // A migration agent is denied by default.
        let mut c = claims();
        c.policy.migrate_ma = true;
        assert_eq!(
            outcome(&run(&c, &SnpPolicy::default()), "sev-snp.migration_agent").0,
            Outcome::Failed
        );
        let p = SnpPolicy {
            allow_migration_agent: true,
            ..SnpPolicy::default()
        };
        assert_eq!(
            outcome(&run(&c, &p), "sev-snp.migration_agent").0,
            Outcome::Passed
        );
    }

    #[test]
    fn min_tcb_per_component() {
        let c = claims();
        let ok = SnpPolicy {
            min_tcb: Some(SnpMinTcb {
                bootloader: 3,
                tee: 0,
                snp: 8,
                microcode: 115,
                fmc: 9,
            }),
            ..SnpPolicy::default()
        };
        // fmc is not checked on Milan (no FMC in its TCB).
        assert_eq!(outcome(&run(&c, &ok), "sev-snp.min_tcb").0, Outcome::Passed);
        let low = SnpPolicy {
            min_tcb: Some(SnpMinTcb {
                bootloader: 4,
                snp: 9,
                ..SnpMinTcb::default()
            }),
            ..SnpPolicy::default()
        };
        assert_eq!(
            outcome(&run(&c, &low), "sev-snp.min_tcb"),
            (Outcome::Failed, "bootloader 3 < 4, snp 8 < 9".into())
        );
        let mut turin = claims();
        turin.reported_tcb = tcb(1, 1, 4, 81, Some(1));
        let fmc = SnpPolicy {
            min_tcb: Some(SnpMinTcb {
                fmc: 2,
                ..SnpMinTcb::default()
            }),
            ..SnpPolicy::default()
        };
        assert_eq!(
            outcome(&run(&turin, &fmc), "sev-snp.min_tcb"),
            (Outcome::Failed, "fmc 1 < 2".into())
        );
    }

    #[test]
    fn svn_ids_smt() {
        let c = claims();
        let p = SnpPolicy {
            min_guest_svn: Some(6),
            ..SnpPolicy::default()
        };
        assert_eq!(
            outcome(&run(&c, &p), "sev-snp.min_guest_svn").0,
            Outcome::Failed
        );
        let p = SnpPolicy {
            min_guest_svn: Some(5),
            ..SnpPolicy::default()
        };
        assert_eq!(
            outcome(&run(&c, &p), "sev-snp.min_guest_svn").0,
            Outcome::Passed
        );
        let p = SnpPolicy {
            allowed_family_ids: vec![HexBytes(vec![1; 16])],
            allowed_image_ids: vec![HexBytes(vec![3; 16])],
            ..SnpPolicy::default()
        };
        let a = run(&c, &p);
        assert_eq!(outcome(&a, "sev-snp.family_id").0, Outcome::Passed);
        assert_eq!(outcome(&a, "sev-snp.image_id").0, Outcome::Failed);
        let p = SnpPolicy {
            allow_smt: false,
            ..SnpPolicy::default()
        };
        assert_eq!(outcome(&run(&c, &p), "sev-snp.smt").0, Outcome::Failed);
    }

    #[test]
    fn policy_toml() {
        let p: crate::Policy = crate::Policy::from_toml(
            "[sev-snp]\nvmpl = 1\nmin_guest_svn = 2\nallow_smt = false\nmin_tcb = { bootloader = 3, microcode = 115 }\n",
        )
        .unwrap();
        assert_eq!(p.sev_snp.vmpl, 1);
        assert_eq!(p.sev_snp.min_tcb.unwrap().microcode, 115);
        assert!(!p.sev_snp.allow_smt);
        assert!(crate::Policy::from_toml("[sev-snp]\nvmp = 1\n").is_err());
    }
}
