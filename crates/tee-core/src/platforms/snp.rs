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
    /// SEV-TIO (trusted I/O) enabled (bit 7).
    #[serde(default)]
    pub sev_tio_enabled: bool,
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
    /// `ID_KEY_DIGEST`: SHA-384 of the ID block's public key (48 bytes;
    /// zero when the launch had no ID block).
    pub id_key_digest: HexBytes,
    /// `AUTHOR_KEY_DIGEST`: SHA-384 of the author key that signed the ID key
    /// (48 bytes; meaningful only when [`SnpClaims::author_key_en`] is set).
    pub author_key_digest: HexBytes,
    /// `KEY_INFO.AUTHOR_KEY_EN` (bit 0): the launch used an author key and
    /// `AUTHOR_KEY_DIGEST` holds its digest.
    #[serde(default)]
    pub author_key_en: bool,
    /// The VLEK's CSP-ID extension (`1.3.6.1.4.1.3704.1.5`), naming the
    /// cloud provider the VLEK was issued to; `None` for VCEK-signed reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csp_id: Option<String>,
    /// Whether the signing chain was checked against a verified AMD KDS CRL
    /// (issued by the ARK, current at the verification time).
    #[serde(default)]
    pub revocation_checked: bool,
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
            sev_tio_enabled: bit(7),
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
            author_key_en: false,
            csp_id: None,
            revocation_checked: false,
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

/// Minimum reported TCB per product (`[sev-snp.min_tcb_by_product]`):
/// TCB numbering differs between generations, so a fleet of several
/// products sets one minimum each. Unknown product keys are parse errors.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct SnpMinTcbByProduct {
    /// Minimum for Milan.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub milan: Option<SnpMinTcb>,
    /// Minimum for Genoa.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub genoa: Option<SnpMinTcb>,
    /// Minimum for Turin.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub turin: Option<SnpMinTcb>,
}

impl SnpMinTcbByProduct {
    /// Builder: the minimum for Milan.
    #[must_use]
    pub fn milan(mut self, min: SnpMinTcb) -> Self {
        self.milan = Some(min);
        self
    }

    /// Builder: the minimum for Genoa.
    #[must_use]
    pub fn genoa(mut self, min: SnpMinTcb) -> Self {
        self.genoa = Some(min);
        self
    }

    /// Builder: the minimum for Turin.
    #[must_use]
    pub fn turin(mut self, min: SnpMinTcb) -> Self {
        self.turin = Some(min);
        self
    }

    /// The minimum configured for `product` (`milan`, `genoa`, `turin`).
    pub fn get(&self, product: &str) -> Option<&SnpMinTcb> {
        match product {
            "milan" => self.milan.as_ref(),
            "genoa" => self.genoa.as_ref(),
            "turin" => self.turin.as_ref(),
            _ => None,
        }
    }

    fn is_empty(&self) -> bool {
        self.milan.is_none() && self.genoa.is_none() && self.turin.is_none()
    }
}

/// SEV-SNP policy section (`[sev-snp]`). Defaults fail closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct SnpPolicy {
    /// Minimum reported TCB per component (`REPORTED_TCB`, the TCB the
    /// VCEK/VLEK was issued for).
    pub min_tcb: Option<SnpMinTcb>,
    /// Minimum TCB at launch (`LAUNCH_TCB`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_launch_tcb: Option<SnpMinTcb>,
    /// Minimum committed TCB (`COMMITTED_TCB`: the firmware cannot be rolled
    /// back below it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_committed_tcb: Option<SnpMinTcb>,
    /// Minimum reported TCB per product; a report of a product without an
    /// entry fails this check once any entry is set.
    #[serde(skip_serializing_if = "SnpMinTcbByProduct::is_empty")]
    pub min_tcb_by_product: SnpMinTcbByProduct,
    /// Minimum guest SVN.
    pub min_guest_svn: Option<u32>,
    /// Required VMPL (default 0).
    pub vmpl: u32,
    /// If non-empty, the family id must be one of these. Requires an ID key
    /// or author key allow-list: anyone can make an ID key and sign any
    /// family id with it, so the check fails without one.
    pub allowed_family_ids: Vec<HexBytes>,
    /// If non-empty, the image id must be one of these (same rule as
    /// [`SnpPolicy::allowed_family_ids`]).
    pub allowed_image_ids: Vec<HexBytes>,
    /// If non-empty, the report's `ID_KEY_DIGEST` (SHA-384 of the ID
    /// block's public key, 48 bytes) must be one of these.
    pub allowed_id_key_digests: Vec<HexBytes>,
    /// If non-empty, the report's `AUTHOR_KEY_DIGEST` (48 bytes) must be
    /// one of these, and the report must say the author key is enabled.
    pub allowed_author_key_digests: Vec<HexBytes>,
    /// If non-empty, the report must be VLEK-signed and the VLEK's CSP-ID
    /// extension must be one of these.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed_csp_ids: Vec<String>,
    /// Accept claims whose chain was not checked against an AMD CRL
    /// (`revocation_checked = false`); default false.
    pub allow_unchecked_revocation: bool,
    /// Whether a guest policy allowing SMT is acceptable (default true).
    pub allow_smt: bool,
    /// Whether a guest policy allowing a migration agent is acceptable (default false).
    pub allow_migration_agent: bool,
}

impl Default for SnpPolicy {
    fn default() -> Self {
        Self {
            min_tcb: None,
            min_launch_tcb: None,
            min_committed_tcb: None,
            min_tcb_by_product: SnpMinTcbByProduct::default(),
            min_guest_svn: None,
            vmpl: 0,
            allowed_family_ids: Vec::new(),
            allowed_image_ids: Vec::new(),
            allowed_id_key_digests: Vec::new(),
            allowed_author_key_digests: Vec::new(),
            allowed_csp_ids: Vec::new(),
            allow_unchecked_revocation: false,
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

    /// Builder: require this minimum launch TCB (`min_launch_tcb`).
    #[must_use]
    pub fn min_launch_tcb(mut self, min: SnpMinTcb) -> Self {
        self.min_launch_tcb = Some(min);
        self
    }

    /// Builder: require this minimum committed TCB (`min_committed_tcb`).
    #[must_use]
    pub fn min_committed_tcb(mut self, min: SnpMinTcb) -> Self {
        self.min_committed_tcb = Some(min);
        self
    }

    /// Builder: require these per-product minimum reported TCBs
    /// (`[sev-snp.min_tcb_by_product]`).
    #[must_use]
    pub fn min_tcb_by_product(mut self, min: SnpMinTcbByProduct) -> Self {
        self.min_tcb_by_product = min;
        self
    }

    /// Builder: add an allowed VLEK CSP id (`allowed_csp_ids`).
    #[must_use]
    pub fn allow_csp_id(mut self, csp_id: impl Into<String>) -> Self {
        self.allowed_csp_ids.push(csp_id.into());
        self
    }

    /// Builder: accept claims whose chain was not checked against an AMD
    /// CRL (`allow_unchecked_revocation`; a revoked ASK/ASVK would pass).
    #[must_use]
    pub fn allow_unchecked_revocation(mut self, allow: bool) -> Self {
        self.allow_unchecked_revocation = allow;
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

/// Compare one TCB against a minimum: the components that are short, each
/// with how far behind it is (`None` when the TCB meets the minimum).
fn tcb_shortfall(t: &SnpTcb, m: &SnpMinTcb) -> Option<String> {
    let mut low = Vec::new();
    let mut comps = vec![
        ("bootloader", t.bootloader, m.bootloader),
        ("tee", t.tee, m.tee),
        ("snp", t.snp, m.snp),
        ("microcode", t.microcode, m.microcode),
    ];
    // FMC exists only on Turin and later; it is not compared elsewhere.
    if let Some(fmc) = t.fmc {
        comps.push(("fmc", fmc, m.fmc));
    }
    for (name, have, want) in comps {
        if have < want {
            low.push(format!("{name} {have} < {want} ({} short)", want - have));
        }
    }
    (!low.is_empty()).then(|| low.join(", "))
}

fn tcb_check(out: &mut Appraisal, name: &str, what: &str, t: &SnpTcb, m: &SnpMinTcb) {
    match tcb_shortfall(t, m) {
        None => out.check(name, true, format!("{what} meets the minimum")),
        Some(low) => out.check(name, false, format!("{what} below the minimum: {low}")),
    }
}

fn is_zero(b: &[u8]) -> bool {
    b.iter().all(|&x| x == 0)
}

pub(crate) fn appraise(c: &SnpClaims, p: &SnpPolicy, out: &mut Appraisal) {
    out.check(
        "sev-snp.vmpl",
        c.vmpl == p.vmpl,
        format!("report VMPL {}, required {}", c.vmpl, p.vmpl),
    );
    out.check(
        "sev-snp.revocation",
        c.revocation_checked || p.allow_unchecked_revocation,
        if c.revocation_checked {
            "signing chain checked against a verified AMD CRL"
        } else if p.allow_unchecked_revocation {
            "revocation NOT checked (no AMD CRL), explicitly allowed by `allow_unchecked_revocation`"
        } else {
            "revocation NOT checked (no AMD CRL); supply the KDS CRL or set `[sev-snp] allow_unchecked_revocation = true`"
        },
    );
    for (name, key, what, tcb, min) in [
        (
            "sev-snp.min_tcb",
            "min_tcb",
            "reported TCB",
            &c.reported_tcb,
            p.min_tcb.as_ref(),
        ),
        (
            "sev-snp.min_launch_tcb",
            "min_launch_tcb",
            "launch TCB",
            &c.launch_tcb,
            p.min_launch_tcb.as_ref(),
        ),
        (
            "sev-snp.min_committed_tcb",
            "min_committed_tcb",
            "committed TCB",
            &c.committed_tcb,
            p.min_committed_tcb.as_ref(),
        ),
    ] {
        match min {
            None => out.skip(
                name,
                format!("no minimum {what} configured (set `[sev-snp] {key}`)"),
            ),
            Some(m) => tcb_check(out, name, what, tcb, m),
        }
    }
    if p.min_tcb_by_product.is_empty() {
        out.skip(
            "sev-snp.min_tcb_by_product",
            "no per-product minimum TCB configured (set `[sev-snp.min_tcb_by_product]`)",
        );
    } else {
        match p.min_tcb_by_product.get(&c.product) {
            Some(m) => tcb_check(
                out,
                "sev-snp.min_tcb_by_product",
                &format!("reported TCB ({})", c.product),
                &c.reported_tcb,
                m,
            ),
            None => out.check(
                "sev-snp.min_tcb_by_product",
                false,
                format!(
                    "no minimum TCB for product {} in `[sev-snp.min_tcb_by_product]`",
                    c.product
                ),
            ),
        }
    }
    match p.min_guest_svn {
        None => out.skip(
            "sev-snp.min_guest_svn",
            "no minimum guest SVN configured (set `[sev-snp] min_guest_svn`)",
        ),
        Some(m) => out.check(
            "sev-snp.min_guest_svn",
            c.guest_svn >= m,
            format!("guest SVN {}, minimum {m}", c.guest_svn),
        ),
    }
    // The keys behind the ID block. Anyone can make an ID key, so the ids it
    // signs mean something only once the key (or its author key) is pinned.
    if p.allowed_id_key_digests.is_empty() {
        out.skip(
            "sev-snp.id_key_digest",
            "no ID key pinned (set `[sev-snp] allowed_id_key_digests`)",
        );
    } else if is_zero(&c.id_key_digest) {
        out.check(
            "sev-snp.id_key_digest",
            false,
            "report has no ID block (ID_KEY_DIGEST is zero)",
        );
    } else {
        out.check(
            "sev-snp.id_key_digest",
            p.allowed_id_key_digests.contains(&c.id_key_digest),
            format!("ID key digest {}", c.id_key_digest),
        );
    }
    if p.allowed_author_key_digests.is_empty() {
        out.skip(
            "sev-snp.author_key_digest",
            "no author key pinned (set `[sev-snp] allowed_author_key_digests`)",
        );
    } else if !c.author_key_en {
        out.check(
            "sev-snp.author_key_digest",
            false,
            "report has no author key (KEY_INFO.AUTHOR_KEY_EN is 0)",
        );
    } else {
        out.check(
            "sev-snp.author_key_digest",
            !is_zero(&c.author_key_digest)
                && p.allowed_author_key_digests.contains(&c.author_key_digest),
            format!("author key digest {}", c.author_key_digest),
        );
    }
    let key_pinned =
        !p.allowed_id_key_digests.is_empty() || !p.allowed_author_key_digests.is_empty();
    for (name, key, list, have) in [
        (
            "sev-snp.family_id",
            "allowed_family_ids",
            &p.allowed_family_ids,
            &c.family_id,
        ),
        (
            "sev-snp.image_id",
            "allowed_image_ids",
            &p.allowed_image_ids,
            &c.image_id,
        ),
    ] {
        if list.is_empty() {
            out.skip(
                name,
                format!("no allowed values configured (set `[sev-snp] {key}`)"),
            );
        } else if !key_pinned {
            out.check(
                name,
                false,
                format!(
                    "`{key}` is set but no ID key is pinned: anyone can make an ID key and sign \
                     any {} with it; set `allowed_id_key_digests` or `allowed_author_key_digests`",
                    &name["sev-snp.".len()..]
                ),
            );
        } else {
            out.check(name, list.contains(have), format!("{have}"));
        }
    }
    if p.allowed_csp_ids.is_empty() {
        out.skip(
            "sev-snp.csp_id",
            "no cloud provider required (set `[sev-snp] allowed_csp_ids`)",
        );
    } else {
        match &c.csp_id {
            None => out.check(
                "sev-snp.csp_id",
                false,
                "report is not VLEK-signed (no CSP id); `allowed_csp_ids` requires one",
            ),
            Some(id) => out.check(
                "sev-snp.csp_id",
                p.allowed_csp_ids.contains(id),
                format!("VLEK CSP id {id:?}"),
            ),
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
            author_key_en: false,
            csp_id: None,
            revocation_checked: true,
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
                sev_tio_enabled: false,
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
            (
                Outcome::Failed,
                "reported TCB below the minimum: bootloader 3 < 4 (1 short), snp 8 < 9 (1 short)"
                    .into()
            )
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
            (
                Outcome::Failed,
                "reported TCB below the minimum: fmc 1 < 2 (1 short)".into()
            )
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
        }
        .allow_id_key_digest(vec![7; 48]);
        let mut c = claims();
        c.id_key_digest = HexBytes(vec![7; 48]);
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

    #[test]
    fn finding2_family_and_image_ids_fail_without_a_pinned_key() {
        let c = claims();
        let p = SnpPolicy::default()
            .allow_family_id(vec![1; 16])
            .allow_image_id(vec![2; 16]);
        let a = run(&c, &p);
        for name in ["sev-snp.family_id", "sev-snp.image_id"] {
            let (o, d) = outcome(&a, name);
            assert_eq!(o, Outcome::Failed, "{name}: {d}");
            assert!(d.contains("anyone can make an ID key"), "{d}");
            assert!(d.contains("allowed_id_key_digests"), "{d}");
        }
        // Pinning the author key is enough too (it signs the ID key).
        let mut c = claims();
        c.author_key_en = true;
        c.author_key_digest = HexBytes(vec![9; 48]);
        let a = run(&c, &p.clone().allow_author_key_digest(vec![9; 48]));
        assert_eq!(outcome(&a, "sev-snp.family_id").0, Outcome::Passed);
        assert_eq!(outcome(&a, "sev-snp.image_id").0, Outcome::Passed);
        assert_eq!(outcome(&a, "sev-snp.author_key_digest").0, Outcome::Passed);
    }

    #[test]
    fn finding2_id_and_author_key_pins() {
        let mut c = claims();
        c.id_key_digest = HexBytes(vec![7; 48]);
        let pin = SnpPolicy::default().allow_id_key_digest(vec![7; 48]);
        assert_eq!(
            outcome(&run(&c, &pin), "sev-snp.id_key_digest").0,
            Outcome::Passed
        );
        let other = SnpPolicy::default().allow_id_key_digest(vec![8; 48]);
        assert_eq!(
            outcome(&run(&c, &other), "sev-snp.id_key_digest").0,
            Outcome::Failed
        );
        // No ID block: a zero digest is never "pinned", even if listed.
        let zero = SnpPolicy::default().allow_id_key_digest(vec![0; 48]);
        let (o, d) = outcome(&run(&claims(), &zero), "sev-snp.id_key_digest");
        assert_eq!(o, Outcome::Failed);
        assert!(d.contains("no ID block"), "{d}");
        // Author key: the digest listed but AUTHOR_KEY_EN clear fails.
        let mut c = claims();
        c.author_key_digest = HexBytes(vec![9; 48]);
        let p = SnpPolicy::default().allow_author_key_digest(vec![9; 48]);
        let (o, d) = outcome(&run(&c, &p), "sev-snp.author_key_digest");
        assert_eq!(o, Outcome::Failed);
        assert!(d.contains("AUTHOR_KEY_EN"), "{d}");
        c.author_key_en = true;
        assert_eq!(
            outcome(&run(&c, &p), "sev-snp.author_key_digest").0,
            Outcome::Passed
        );
        let p = SnpPolicy::default().allow_author_key_digest(vec![3; 48]);
        assert_eq!(
            outcome(&run(&c, &p), "sev-snp.author_key_digest").0,
            Outcome::Failed
        );
        // Unpinned: skipped, naming the key.
        let a = run(&c, &SnpPolicy::default());
        assert_eq!(
            outcome(&a, "sev-snp.id_key_digest"),
            (
                Outcome::Skipped,
                "no ID key pinned (set `[sev-snp] allowed_id_key_digests`)".into()
            )
        );
        assert_eq!(outcome(&a, "sev-snp.author_key_digest").0, Outcome::Skipped);
        // TOML names.
        let p = crate::Policy::from_toml(&format!(
            "[sev-snp]\nallowed_id_key_digests = [\"{}\"]\nallowed_author_key_digests = [\"{}\"]\n",
            "07".repeat(48),
            "09".repeat(48)
        ))
        .unwrap();
        assert_eq!(
            p.sev_snp.allowed_id_key_digests,
            vec![HexBytes(vec![7; 48])]
        );
        assert_eq!(
            p.sev_snp.allowed_author_key_digests,
            vec![HexBytes(vec![9; 48])]
        );
    }

    #[test]
    fn finding8_launch_and_committed_tcb_minimums() {
        let mut c = claims();
        c.launch_tcb = tcb(2, 0, 7, 100, None);
        c.committed_tcb = tcb(3, 0, 6, 115, None);
        let m = SnpMinTcb::default().bootloader(3).snp(8).microcode(115);
        let p = SnpPolicy::default()
            .min_tcb(m)
            .min_launch_tcb(m)
            .min_committed_tcb(m);
        let a = run(&c, &p);
        assert_eq!(outcome(&a, "sev-snp.min_tcb").0, Outcome::Passed);
        assert_eq!(
            outcome(&a, "sev-snp.min_launch_tcb"),
            (
                Outcome::Failed,
                "launch TCB below the minimum: bootloader 2 < 3 (1 short), snp 7 < 8 (1 short), microcode 100 < 115 (15 short)".into()
            )
        );
        assert_eq!(
            outcome(&a, "sev-snp.min_committed_tcb"),
            (
                Outcome::Failed,
                "committed TCB below the minimum: snp 6 < 8 (2 short)".into()
            )
        );
        let d = run(&c, &SnpPolicy::default());
        assert_eq!(
            outcome(&d, "sev-snp.min_launch_tcb"),
            (
                Outcome::Skipped,
                "no minimum launch TCB configured (set `[sev-snp] min_launch_tcb`)".into()
            )
        );
        let p = crate::Policy::from_toml(
            "[sev-snp]\nmin_launch_tcb = { snp = 8 }\nmin_committed_tcb = { microcode = 115 }\n",
        )
        .unwrap();
        assert_eq!(p.sev_snp.min_launch_tcb.unwrap().snp, 8);
        assert_eq!(p.sev_snp.min_committed_tcb.unwrap().microcode, 115);
    }

    #[test]
    fn finding8_csp_id_allow_list() {
        let mut vlek = claims();
        vlek.signing_key = SnpSigningKey::Vlek;
        vlek.csp_id = Some("CN=cc-us-east-2.amazonaws.com".into());
        let p = SnpPolicy::default().allow_csp_id("CN=cc-us-east-2.amazonaws.com");
        assert_eq!(
            outcome(&run(&vlek, &p), "sev-snp.csp_id").0,
            Outcome::Passed
        );
        let other = SnpPolicy::default().allow_csp_id("CN=other.example");
        assert_eq!(
            outcome(&run(&vlek, &other), "sev-snp.csp_id").0,
            Outcome::Failed
        );
        // A VCEK-signed report has no CSP id: fails when one is required.
        let (o, d) = outcome(&run(&claims(), &p), "sev-snp.csp_id");
        assert_eq!(o, Outcome::Failed);
        assert!(d.contains("not VLEK-signed"), "{d}");
        assert_eq!(
            outcome(&run(&claims(), &SnpPolicy::default()), "sev-snp.csp_id").0,
            Outcome::Skipped
        );
        let p = crate::Policy::from_toml("[sev-snp]\nallowed_csp_ids = [\"CN=a\"]\n").unwrap();
        assert_eq!(p.sev_snp.allowed_csp_ids, vec!["CN=a".to_string()]);
    }

    #[test]
    fn finding14_revocation_unchecked_fails_unless_allowed() {
        let mut c = claims();
        c.revocation_checked = false;
        let (o, d) = outcome(&run(&c, &SnpPolicy::default()), "sev-snp.revocation");
        assert_eq!(o, Outcome::Failed);
        assert!(d.contains("allow_unchecked_revocation"), "{d}");
        let p = SnpPolicy::default().allow_unchecked_revocation(true);
        let (o, d) = outcome(&run(&c, &p), "sev-snp.revocation");
        assert_eq!(o, Outcome::Passed);
        assert!(d.contains("NOT checked"), "{d}");
        c.revocation_checked = true;
        assert_eq!(
            outcome(&run(&c, &SnpPolicy::default()), "sev-snp.revocation").0,
            Outcome::Passed
        );
        let p = crate::Policy::from_toml("[sev-snp]\nallow_unchecked_revocation = true\n").unwrap();
        assert!(p.sev_snp.allow_unchecked_revocation);
    }

    #[test]
    fn finding15_min_tcb_by_product() {
        let p = crate::Policy::from_toml(
            "[sev-snp.min_tcb_by_product]\nmilan = { snp = 9, microcode = 120 }\nturin = { fmc = 1 }\n",
        )
        .unwrap()
        .sev_snp;
        let (o, d) = outcome(&run(&claims(), &p), "sev-snp.min_tcb_by_product");
        assert_eq!(o, Outcome::Failed);
        assert_eq!(
            d,
            "reported TCB (milan) below the minimum: snp 8 < 9 (1 short), microcode 115 < 120 (5 short)"
        );
        let mut turin = claims();
        turin.product = "turin".into();
        turin.reported_tcb = tcb(1, 1, 4, 81, Some(1));
        assert_eq!(
            outcome(&run(&turin, &p), "sev-snp.min_tcb_by_product").0,
            Outcome::Passed
        );
        // A product without an entry fails once any entry is set.
        let mut genoa = claims();
        genoa.product = "genoa".into();
        let (o, d) = outcome(&run(&genoa, &p), "sev-snp.min_tcb_by_product");
        assert_eq!(o, Outcome::Failed);
        assert!(d.contains("genoa"), "{d}");
        // Unknown product keys are parse errors.
        assert!(
            crate::Policy::from_toml("[sev-snp.min_tcb_by_product]\nmilam = { snp = 9 }\n")
                .is_err()
        );
        let b = SnpPolicy::default()
            .min_tcb_by_product(SnpMinTcbByProduct::default().milan(SnpMinTcb::default().snp(9)));
        assert_eq!(b.min_tcb_by_product.get("milan").unwrap().snp, 9);
        assert!(b.min_tcb_by_product.get("turin").is_none());
    }

    #[test]
    fn finding3_every_skipped_check_names_its_policy_key() {
        let a = run(&claims(), &SnpPolicy::default());
        let skipped: Vec<_> = a
            .checks
            .iter()
            .filter(|c| c.outcome == Outcome::Skipped)
            .collect();
        assert!(skipped.len() >= 8, "{skipped:?}");
        for c in skipped {
            assert!(
                c.detail.contains("(set `[sev-snp]") || c.detail.contains("(set `[sev-snp."),
                "{}: {}",
                c.name,
                c.detail
            );
        }
    }
}
