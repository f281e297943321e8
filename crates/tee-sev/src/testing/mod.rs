//! Test support: a fake AMD PKI (ARK/ASK/VCEK and ASVK/VLEK with AMD-shaped
//! extensions), a fake SNP firmware that signs v2/v3/v5 reports with it and
//! derives keys, and the fake configfs-tsm of `tee_linux::testing` wired
//! to that firmware. NO SECURITY: test keys only.
//!
//! Feature `testing`. Key generation and signing with the fixed test keys
//! `expect` success: a failure there is a broken test setup, not an input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::VecDeque;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use crate::cert_table::{self, CertKind};
use crate::guest::{DerivedKeyRequest, KeyRoot, SnpFirmware, field};
use crate::report::Product;
use crate::{SnpVerifier, danger};
use p384::ecdsa::SigningKey;
use rand::SeedableRng;
use rsa::RsaPrivateKey;
use rsa::pkcs8::EncodePublicKey;
use rsa::signature::RandomizedSigner;
use sha2::{Digest, Sha256, Sha384};
use tee_core::platforms::SnpSigningKey;
use tee_core::{DeviceErrorKind, Error, Result, UnixTime};
use zeroize::Zeroizing;

// ---------- DER: the one test writer of tee-testpki ----------

pub use tee_testpki::der::{ext, int, oid, seq, tlv};

mod ovmf;
pub use ovmf::SynthOvmf;

fn name(cn: &str) -> Vec<u8> {
    tee_testpki::der::name(&[
        ("2.5.4.10", "Advanced Micro Devices (FAKE)"),
        ("2.5.4.3", cn),
    ])
}

fn utc(secs: u64) -> Vec<u8> {
    tee_testpki::der::utc_secs(secs)
}

fn pss_alg() -> Vec<u8> {
    let sha = seq(&[&oid("2.16.840.1.101.3.4.2.2"), &[0x05, 0x00]]);
    let mgf = seq(&[&oid("1.2.840.113549.1.1.8"), &sha]);
    let params = seq(&[&tlv(0xA0, &sha), &tlv(0xA1, &mgf), &tlv(0xA2, &int(48))]);
    seq(&[&oid("1.2.840.113549.1.1.10"), &params])
}

/// An AMD TCB-component extension (`spl` = security patch level) with INTEGER `v`.
pub fn spl(o: &str, v: u8) -> Vec<u8> {
    ext(o, &int(u64::from(v)))
}

/// Build a certificate signed with RSA-PSS/SHA-384 by `signer`.
pub fn cert(
    serial: u64,
    issuer: &str,
    subject: &str,
    validity: (u64, u64),
    spki_der: &[u8],
    exts: &[Vec<u8>],
    signer: &RsaPrivateKey,
) -> Vec<u8> {
    let mut parts: Vec<Vec<u8>> = vec![
        tlv(0xA0, &int(2)),
        int(serial),
        pss_alg(),
        name(issuer),
        seq(&[&utc(validity.0), &utc(validity.1)]),
        name(subject),
        spki_der.to_vec(),
    ];
    if !exts.is_empty() {
        parts.push(tlv(
            0xA3,
            &seq(&exts.iter().map(Vec::as_slice).collect::<Vec<_>>()),
        ));
    }
    let tbs = seq(&parts.iter().map(Vec::as_slice).collect::<Vec<_>>());
    let key = rsa::pss::SigningKey::<Sha384>::new(signer.clone());
    let mut rng = rand::rngs::StdRng::seed_from_u64(serial);
    let sig: Box<[u8]> = key.sign_with_rng(&mut rng, &tbs).into();
    let mut bits = vec![0u8];
    bits.extend_from_slice(&sig);
    seq(&[&tbs, &pss_alg(), &tlv(0x03, &bits)])
}

// ---------- the fake AMD PKI ----------

/// `notBefore` of the test certificates.
pub const NOT_BEFORE: u64 = 1_700_000_000; // 2023-11-14
/// `notAfter` of the test certificates.
pub const NOT_AFTER: u64 = 2_200_000_000; // 2039-09-18
/// A verification time inside every test certificate's validity.
pub fn at() -> UnixTime {
    UnixTime::from_secs(1_800_000_000) // 2027-01-15
}

struct Keys {
    ark: RsaPrivateKey,
    ask: RsaPrivateKey,
    asvk: RsaPrivateKey,
    other: RsaPrivateKey,
}

fn keys() -> &'static Keys {
    static K: OnceLock<Keys> = OnceLock::new();
    K.get_or_init(|| {
        let mut rng = rand::rngs::StdRng::seed_from_u64(0x5EED);
        let mut gen_key = || RsaPrivateKey::new(&mut rng, 2048).unwrap();
        Keys {
            ark: gen_key(),
            ask: gen_key(),
            asvk: gen_key(),
            other: gen_key(),
        }
    })
}

fn rsa_spki(k: &RsaPrivateKey) -> Vec<u8> {
    k.to_public_key()
        .to_public_key_der()
        .unwrap()
        .as_bytes()
        .to_vec()
}

/// Certificates of one product.
#[derive(Clone)]
pub struct Pki {
    /// The product.
    pub product: Product,
    /// The ARK (self-signed root, DER).
    pub ark: Vec<u8>,
    /// The ASK (signed by the ARK, DER).
    pub ask: Vec<u8>,
    /// The ASVK (VLEK CA, signed by the ARK, DER).
    pub asvk: Vec<u8>,
    /// An ARK with the same name as `ark` but another key (untrusted).
    pub rogue_ark: Vec<u8>,
    /// The VCEK signing key.
    pub vcek_key: SigningKey,
    /// The VLEK signing key.
    pub vlek_key: SigningKey,
    /// The chip id of the VCEK.
    pub chip_id: [u8; 64],
    /// The TCB the VCEK certificate names.
    pub reported_tcb: u64,
}

impl Pki {
    /// The PKI of `product` (slow: RSA keys; prefer [`pki`]).
    pub fn new(product: Product) -> Self {
        let k = keys();
        let g = product.kds_name();
        let v = (NOT_BEFORE, NOT_AFTER);
        let ark_cn = format!("ARK-{g}");
        let ark = cert(1, &ark_cn, &ark_cn, v, &rsa_spki(&k.ark), &[], &k.ark);
        let rogue_ark = cert(1, &ark_cn, &ark_cn, v, &rsa_spki(&k.other), &[], &k.other);
        let ask = cert(
            2,
            &ark_cn,
            &format!("SEV-{g}"),
            v,
            &rsa_spki(&k.ask),
            &[],
            &k.ark,
        );
        let asvk = cert(
            3,
            &ark_cn,
            &format!("SEV-VLEK-{g}"),
            v,
            &rsa_spki(&k.asvk),
            &[],
            &k.ark,
        );
        let seed = match product {
            Product::Milan => 1u8,
            Product::Genoa => 2,
            Product::Turin => 3,
        };
        let vcek_key = SigningKey::from_slice(&[seed; 48]).unwrap();
        let vlek_key = SigningKey::from_slice(&[seed + 0x10; 48]).unwrap();
        let mut chip_id = [0u8; 64];
        let n = if product == Product::Turin { 8 } else { 64 };
        for (i, b) in chip_id.iter_mut().take(n).enumerate() {
            *b = (i as u8).wrapping_mul(7).wrapping_add(seed);
        }
        let reported_tcb = if product == Product::Turin {
            0x5100_0000_0401_0101
        } else {
            0x7308_0000_0000_0003
        };
        Self {
            product,
            ark,
            ask,
            asvk,
            rogue_ark,
            vcek_key,
            vlek_key,
            chip_id,
            reported_tcb,
        }
    }

    /// A VCEK or VLEK certificate for `tcb` (and, for a VCEK, `hwid`).
    pub fn leaf(
        &self,
        key: SnpSigningKey,
        tcb: u64,
        hwid: Option<&[u8]>,
        validity: (u64, u64),
    ) -> Vec<u8> {
        let k = keys();
        let g = self.product.kds_name();
        let d = crate::report::TcbVersion(tcb).decode(self.product);
        let mut exts = vec![
            spl(
                "1.3.6.1.4.1.3704.1.1",
                u8::from(self.product == Product::Turin),
            ),
            ext(
                "1.3.6.1.4.1.3704.1.2",
                &tlv(
                    0x16,
                    if self.product == Product::Turin {
                        g.to_string()
                    } else {
                        format!("{g}-B0")
                    }
                    .as_bytes(),
                ),
            ),
            spl("1.3.6.1.4.1.3704.1.3.1", d.bootloader),
            spl("1.3.6.1.4.1.3704.1.3.2", d.tee),
            spl("1.3.6.1.4.1.3704.1.3.3", d.snp),
            spl("1.3.6.1.4.1.3704.1.3.8", d.microcode),
        ];
        if let Some(f) = d.fmc {
            exts.push(spl("1.3.6.1.4.1.3704.1.3.9", f));
        }
        let (sk, issuer, cn, signer, serial) = match key {
            SnpSigningKey::Vcek => {
                let hw = hwid.map(<[u8]>::to_vec).unwrap_or_else(|| {
                    if self.product == Product::Turin {
                        self.chip_id[..8].to_vec()
                    } else {
                        self.chip_id.to_vec()
                    }
                });
                exts.push(ext("1.3.6.1.4.1.3704.1.4", &hw));
                (&self.vcek_key, format!("SEV-{g}"), "SEV-VCEK", &k.ask, 10)
            }
            SnpSigningKey::Vlek => {
                exts.push(ext(
                    "1.3.6.1.4.1.3704.1.5",
                    &tlv(0x16, b"CN=fake-csp.example"),
                ));
                (
                    &self.vlek_key,
                    format!("SEV-VLEK-{g}"),
                    "SEV-VLEK",
                    &k.asvk,
                    11,
                )
            }
        };
        let spki = sk
            .verifying_key()
            .to_public_key_der()
            .unwrap()
            .as_bytes()
            .to_vec();
        cert(serial, &issuer, cn, validity, &spki, &exts, signer)
    }

    /// The VCEK certificate (DER).
    pub fn vcek(&self) -> Vec<u8> {
        self.leaf(
            SnpSigningKey::Vcek,
            self.reported_tcb,
            None,
            (NOT_BEFORE, NOT_AFTER),
        )
    }

    /// The VLEK certificate (DER).
    pub fn vlek(&self) -> Vec<u8> {
        self.leaf(
            SnpSigningKey::Vlek,
            self.reported_tcb,
            None,
            (NOT_BEFORE, NOT_AFTER),
        )
    }

    /// A verifier trusting this fake PKI (explicit test-root API).
    pub fn verifier(&self) -> SnpVerifier {
        danger::with_test_roots(vec![
            danger::test_roots(self.product, &self.ark, Some(&self.ask), Some(&self.asvk)).unwrap(),
        ])
    }
}

/// Build an AMD-shaped CRL (v2, RSA-PSS/SHA-384) named by `issuer`, signed
/// by `signer`, listing `revoked` serials.
pub fn crl(
    issuer: &str,
    this_update: u64,
    next_update: Option<u64>,
    revoked: &[u64],
    signer: &RsaPrivateKey,
) -> Vec<u8> {
    let mut parts: Vec<Vec<u8>> = vec![int(1), pss_alg(), name(issuer), utc(this_update)];
    if let Some(n) = next_update {
        parts.push(utc(n));
    }
    if !revoked.is_empty() {
        let entries: Vec<Vec<u8>> = revoked
            .iter()
            .map(|&s| seq(&[&int(s), &utc(this_update)]))
            .collect();
        parts.push(seq(&entries.iter().map(Vec::as_slice).collect::<Vec<_>>()));
    }
    let tbs = seq(&parts.iter().map(Vec::as_slice).collect::<Vec<_>>());
    let key = rsa::pss::SigningKey::<Sha384>::new(signer.clone());
    let mut rng = rand::rngs::StdRng::seed_from_u64(this_update);
    let sig: Box<[u8]> = key.sign_with_rng(&mut rng, &tbs).into();
    let mut bits = vec![0u8];
    bits.extend_from_slice(&sig);
    seq(&[&tbs, &pss_alg(), &tlv(0x03, &bits)])
}

/// `thisUpdate` of [`Pki::crl`]'s CRLs (2026-12-24).
pub const CRL_THIS_UPDATE: u64 = 1_798_000_000;
/// `nextUpdate` of [`Pki::crl`]'s CRLs (2027-02-13; [`at`] lies between).
pub const CRL_NEXT_UPDATE: u64 = 1_802_400_000;

/// Serial numbers of the fake PKI's certificates.
pub mod serial {
    /// The ARK.
    pub const ARK: u64 = 1;
    /// The ASK.
    pub const ASK: u64 = 2;
    /// The ASVK.
    pub const ASVK: u64 = 3;
    /// Every VCEK.
    pub const VCEK: u64 = 10;
    /// Every VLEK.
    pub const VLEK: u64 = 11;
}

impl Pki {
    /// The ARK's CRL listing `revoked`, current at [`at`]
    /// ([`CRL_THIS_UPDATE`], [`CRL_NEXT_UPDATE`]).
    pub fn crl(&self, revoked: &[u64]) -> Vec<u8> {
        self.crl_at(revoked, CRL_THIS_UPDATE, Some(CRL_NEXT_UPDATE))
    }

    /// The ARK's CRL with explicit `thisUpdate` / `nextUpdate`.
    pub fn crl_at(&self, revoked: &[u64], this_update: u64, next_update: Option<u64>) -> Vec<u8> {
        let ark_cn = format!("ARK-{}", self.product.kds_name());
        crl(&ark_cn, this_update, next_update, revoked, &keys().ark)
    }

    /// A CRL named by the ARK but signed by another key.
    pub fn rogue_crl(&self) -> Vec<u8> {
        let ark_cn = format!("ARK-{}", self.product.kds_name());
        crl(
            &ark_cn,
            CRL_THIS_UPDATE,
            Some(CRL_NEXT_UPDATE),
            &[],
            &keys().other,
        )
    }

    /// A CRL issued (named and signed) by the ASK instead of the ARK.
    pub fn ask_crl(&self) -> Vec<u8> {
        let ask_cn = format!("SEV-{}", self.product.kds_name());
        crl(
            &ask_cn,
            CRL_THIS_UPDATE,
            Some(CRL_NEXT_UPDATE),
            &[],
            &keys().ask,
        )
    }
}

/// The shared PKI of `product`, built once per process.
pub fn pki(product: Product) -> &'static Pki {
    static P: OnceLock<Vec<Pki>> = OnceLock::new();
    let all = P.get_or_init(|| Product::ALL.into_iter().map(Pki::new).collect());
    all.iter().find(|p| p.product == product).unwrap()
}

/// Sign a report buffer in place with `key` (R, S little-endian, zero-extended).
pub fn sign_report(buf: &mut [u8], key: &SigningKey) {
    use p384::ecdsa::signature::Signer;
    let sig: p384::ecdsa::Signature = key.sign(&buf[..0x2A0]);
    let (r, s) = sig.split_bytes();
    let mut r = r.to_vec();
    let mut s = s.to_vec();
    r.reverse();
    s.reverse();
    buf[0x2A0..0x2A0 + 48].copy_from_slice(&r);
    buf[0x2A0 + 48..0x2A0 + 72].fill(0);
    buf[0x2E8..0x2E8 + 48].copy_from_slice(&s);
    buf[0x2E8 + 48..0x330].fill(0);
}

// ---------- the fake firmware ----------

/// A fault the fake firmware injects into its next answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// EBUSY from the ioctl / configfs.
    Busy,
    /// A firmware error code.
    Firmware(u64),
    /// A report that is not a report.
    Garbage,
    /// A report for other report data.
    WrongReportData,
}

/// A fake SNP firmware: signs reports of `version` with the test PKI's VCEK or VLEK and derives keys.
#[derive(Debug)]
pub struct FakeFirmware {
    /// The product.
    pub product: Product,
    /// The report version (2, 3 or 5).
    pub version: u32,
    /// Which key signs reports.
    pub signer: SnpSigningKey,
    /// The launch measurement reported.
    pub measurement: [u8; 48],
    /// The family id reported.
    pub family_id: [u8; 16],
    /// The guest policy reported.
    pub policy: u64,
    /// The guest SVN reported.
    pub guest_svn: u32,
    /// The reported TCB.
    pub reported_tcb: u64,
    /// The committed TCB.
    pub committed_tcb: u64,
    /// Per-chip secret behind the VCEK-rooted derived keys.
    pub chip_secret: [u8; 32],
    /// Per-launch VM root key.
    pub vmrk: [u8; 32],
    /// Faults injected into the next answers, in order.
    pub faults: Mutex<VecDeque<Fault>>,
    /// Report requests answered so far.
    pub report_calls: AtomicUsize,
    /// Derived-key requests answered so far.
    pub key_calls: AtomicUsize,
}

impl FakeFirmware {
    /// A fake firmware of `product` with default guest values.
    pub fn new(product: Product, version: u32, signer: SnpSigningKey) -> Self {
        let p = pki(product);
        Self {
            product,
            version,
            signer,
            measurement: [0x4D; 48],
            family_id: [0xFA; 16],
            policy: 0x3_0000,
            guest_svn: 1,
            reported_tcb: p.reported_tcb,
            committed_tcb: p.reported_tcb,
            chip_secret: [0xC1; 32],
            vmrk: [0x71; 32],
            faults: Mutex::new(VecDeque::new()),
            report_calls: AtomicUsize::new(0),
            key_calls: AtomicUsize::new(0),
        }
    }

    /// Queue `faults` for the next answers.
    pub fn inject(&self, faults: &[Fault]) {
        self.faults.lock().unwrap().extend(faults.iter().copied());
    }

    fn next_fault(&self) -> Option<Fault> {
        self.faults.lock().unwrap().pop_front()
    }

    /// Build and sign a report.
    pub fn make_report(&self, report_data: &[u8; 64], vmpl: u32) -> Vec<u8> {
        let p = pki(self.product);
        let mut b = vec![0u8; 0x4A0];
        let put = |b: &mut Vec<u8>, off: usize, v: &[u8]| b[off..off + v.len()].copy_from_slice(v);
        put(&mut b, 0, &self.version.to_le_bytes());
        put(&mut b, 4, &self.guest_svn.to_le_bytes());
        put(&mut b, 8, &self.policy.to_le_bytes());
        put(&mut b, 0x10, &self.family_id);
        put(&mut b, 0x20, &[0x1D; 16]);
        put(&mut b, 0x30, &vmpl.to_le_bytes());
        put(&mut b, 0x34, &1u32.to_le_bytes());
        put(&mut b, 0x38, &self.reported_tcb.to_le_bytes());
        put(&mut b, 0x40, &1u64.to_le_bytes());
        let key_info: u32 = if self.signer == SnpSigningKey::Vlek {
            1 << 2
        } else {
            0
        };
        put(&mut b, 0x48, &key_info.to_le_bytes());
        put(&mut b, 0x50, report_data);
        put(&mut b, 0x90, &self.measurement);
        put(&mut b, 0xC0, &[0xD4; 32]);
        put(&mut b, 0x180, &self.reported_tcb.to_le_bytes());
        if self.version >= 3 {
            let cpuid = match self.product {
                Product::Milan => [0x19, 0x01, 0x01],
                Product::Genoa => [0x19, 0x11, 0x01],
                Product::Turin => [0x1A, 0x02, 0x01],
            };
            put(&mut b, 0x188, &cpuid);
        }
        if self.signer == SnpSigningKey::Vcek {
            put(&mut b, 0x1A0, &p.chip_id);
        }
        put(&mut b, 0x1E0, &self.committed_tcb.to_le_bytes());
        put(&mut b, 0x1E8, &[29, 55, 1, 0, 29, 55, 1, 0]);
        put(&mut b, 0x1F0, &self.reported_tcb.to_le_bytes());
        if self.version >= 5 {
            put(&mut b, 0x1F8, &63u64.to_le_bytes());
            put(&mut b, 0x200, &63u64.to_le_bytes());
        }
        let key = if self.signer == SnpSigningKey::Vlek {
            &p.vlek_key
        } else {
            &p.vcek_key
        };
        sign_report(&mut b, key);
        b
    }

    /// The certificate table the host would attach.
    pub fn cert_table(&self) -> Vec<u8> {
        let p = pki(self.product);
        match self.signer {
            SnpSigningKey::Vcek => cert_table::build(&[
                (CertKind::Vcek, &p.vcek()),
                (CertKind::Ask, &p.ask),
                (CertKind::Ark, &p.ark),
            ]),
            SnpSigningKey::Vlek => cert_table::build(&[
                (CertKind::Vlek, &p.vlek()),
                (CertKind::Ask, &p.asvk),
                (CertKind::Ark, &p.ark),
            ]),
        }
    }
}

impl SnpFirmware for FakeFirmware {
    fn get_report(&self, report_data: &[u8; 64], vmpl: u32) -> Result<Vec<u8>> {
        self.report_calls.fetch_add(1, Ordering::SeqCst);
        match self.next_fault() {
            Some(Fault::Busy) => Err(Error::device(DeviceErrorKind::Busy, "fake", "EBUSY")),
            Some(Fault::Firmware(c)) => Err(Error::device(
                DeviceErrorKind::Firmware(c),
                "fake",
                "firmware error",
            )),
            Some(Fault::Garbage) => Ok(vec![0xAB; 100]),
            Some(Fault::WrongReportData) => Ok(self.make_report(&[0xEE; 64], vmpl)),
            None => Ok(self.make_report(report_data, vmpl)),
        }
    }

    fn get_derived_key(&self, req: &DerivedKeyRequest) -> Result<Zeroizing<[u8; 32]>> {
        self.key_calls.fetch_add(1, Ordering::SeqCst);
        match self.next_fault() {
            Some(Fault::Busy) => return Err(Error::device(DeviceErrorKind::Busy, "fake", "EBUSY")),
            Some(Fault::Firmware(c)) => {
                return Err(Error::device(
                    DeviceErrorKind::Firmware(c),
                    "fake",
                    "firmware error",
                ));
            }
            _ => {}
        }
        // Like firmware: a TCB above the committed one is refused (INVALID_PARAM).
        let committed = crate::report::TcbVersion(self.committed_tcb).decode(self.product);
        let asked = crate::report::TcbVersion(req.tcb_version).decode(self.product);
        if req.field_select & field::TCB_VERSION != 0
            && (asked.bootloader > committed.bootloader
                || asked.tee > committed.tee
                || asked.snp > committed.snp
                || asked.microcode > committed.microcode)
        {
            return Err(Error::device(
                DeviceErrorKind::Firmware(0x16),
                "fake",
                "INVALID_PARAM",
            ));
        }
        let mut h = Sha256::new();
        h.update(match req.root {
            KeyRoot::Vcek => {
                // The VCEK depends on the chip and its current TCB; firmware
                // derives from the requested (older) TCB when selected.
                let mut v = self.chip_secret.to_vec();
                let tcb = if req.field_select & field::TCB_VERSION != 0 {
                    req.tcb_version
                } else {
                    self.reported_tcb
                };
                v.extend_from_slice(&tcb.to_le_bytes());
                v
            }
            KeyRoot::Vmrk => self.vmrk.to_vec(),
        });
        h.update(req.field_select.to_le_bytes());
        h.update(req.vmpl.to_le_bytes());
        if req.field_select & field::GUEST_POLICY != 0 {
            h.update(self.policy.to_le_bytes());
        }
        if req.field_select & field::FAMILY_ID != 0 {
            h.update(self.family_id);
        }
        if req.field_select & field::MEASUREMENT != 0 {
            h.update(self.measurement);
        }
        if req.field_select & field::GUEST_SVN != 0 {
            h.update(req.guest_svn.to_le_bytes());
        }
        Ok(Zeroizing::new(h.finalize().into()))
    }
}

// ---------- the fake configfs-tsm tree ----------

pub use tee_linux::testing::FakeKernelFs;

/// Virtual configfs-tsm root of the fake.
pub const TSM_ROOT: &str = "/fake/sys/kernel/config/tsm/report";
/// `EBUSY` (Linux).
pub const EBUSY: i32 = 16;

/// The one fake kernel filesystem (`tee_linux::testing`) configured like the
/// SEV guest driver: provider `sev_guest`, `privlevel` with floor 0, the
/// firmware's certificate table as `auxblob`, and `outblob` asking `fw`.
pub fn fake_tsm(fw: Arc<FakeFirmware>) -> FakeKernelFs {
    let aux = fw.cert_table();
    let f = FakeKernelFs::new(TSM_ROOT, "sev_guest", move |r| {
        match fw.get_report(r.inblob, r.privlevel) {
            Ok(report) => Ok(report),
            Err(Error::Device(d)) if d.kind == DeviceErrorKind::Busy => {
                Err(io::Error::from_raw_os_error(EBUSY))
            }
            Err(_) => Err(io::Error::from_raw_os_error(5)),
        }
    });
    f.set_privlevel_floor(Some(0));
    f.set_auxblob(Some(aux));
    f
}
