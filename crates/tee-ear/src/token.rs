//! The EAR claims set, issuing (JWS compact, ES256/ES384) and verifying.

use std::collections::BTreeMap;

use serde::ser::{Serialize, SerializeMap as _, Serializer};
use serde_json::{Map, Value};
use subtle::ConstantTimeEq as _;
use tee_core::UnixTime;

use crate::ar4si::{Status, TrustVector};
use crate::json::{b64d, b64e, parse_object};
use crate::key::{Crypto, Jwks, SignerSet};
use crate::{
    CLAIMS_KEY, EAR_PROFILE, EarError, K_POLICY_ID, K_STATUS, K_TRUST_VECTOR, K_VERIFIER_ID,
    MAX_TOKEN_LEN, TRUSTEE_PROFILE, VERAISON_PROFILE,
};

/// `ear.verifier-id`: who built the verifier that produced the result.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifierId {
    /// The developer (an organisation or URI).
    pub developer: String,
    /// The build (name and version).
    pub build: String,
}

impl VerifierId {
    /// A verifier id.
    pub fn new(developer: impl Into<String>, build: impl Into<String>) -> Self {
        Self {
            developer: developer.into(),
            build: build.into(),
        }
    }

    /// This crate: developer `tee-sdk`, build `tee-ear <version>`.
    pub fn this_crate() -> Self {
        Self::new("tee-sdk", concat!("tee-ear ", env!("CARGO_PKG_VERSION")))
    }
}

impl Serialize for VerifierId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("developer", &self.developer)?;
        m.serialize_entry("build", &self.build)?;
        m.end()
    }
}

/// One appraisal (a submod): status, trust vector, policy id, normalized
/// claims and any further extensions.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Submod {
    /// `ear.status`.
    pub status: Status,
    /// `ear.trustworthiness-vector`.
    pub trust_vector: TrustVector,
    /// `ear.appraisal-policy-id`.
    pub policy_id: Option<String>,
    /// The normalized claims ([`CLAIMS_KEY`]).
    pub claims: Option<Value>,
    /// Other members (extensions), kept as read.
    pub extensions: Map<String, Value>,
}

impl Submod {
    /// An appraisal with this status and no other claims.
    pub fn new(status: Status) -> Self {
        Self {
            status,
            trust_vector: TrustVector::new(),
            policy_id: None,
            claims: None,
            extensions: Map::new(),
        }
    }

    /// Builder: the trust vector.
    #[must_use]
    pub fn with_trust_vector(mut self, v: TrustVector) -> Self {
        self.trust_vector = v;
        self
    }

    /// Builder: the policy id.
    #[must_use]
    pub fn with_policy_id(mut self, id: impl Into<String>) -> Self {
        self.policy_id = Some(id.into());
        self
    }

    /// Builder: the normalized claims.
    #[must_use]
    pub fn with_claims(mut self, claims: Value) -> Self {
        self.claims = Some(claims);
        self
    }

    /// Whether the extension `key` is written: not where a member of the
    /// submod's own takes its place (a key is never written twice).
    fn writes_extension(&self, key: &str) -> bool {
        !(key == K_STATUS
            || key == K_TRUST_VECTOR
            || (key == K_POLICY_ID && self.policy_id.is_some())
            || (key == CLAIMS_KEY && self.claims.is_some()))
    }

    fn from_json(name: &str, v: &Value) -> Result<Self, EarError> {
        let mut m = v
            .as_object()
            .ok_or_else(|| EarError::claim("submods", format_args!("`{name}` is not an object")))?
            .clone();
        let status = match m.remove(K_STATUS) {
            Some(Value::String(s)) => Status::from_name(&s).ok_or_else(|| {
                EarError::claim("ear.status", format_args!("unknown status `{s}`"))
            })?,
            Some(_) => return Err(EarError::claim("ear.status", "not a string")),
            None => {
                return Err(EarError::claim(
                    "ear.status",
                    format_args!("missing in submod `{name}`"),
                ));
            }
        };
        let trust_vector = match m.remove(K_TRUST_VECTOR) {
            Some(v) => TrustVector::from_json(&v)?,
            None => TrustVector::new(),
        };
        // The status may be no better than the worst claim.
        if status < trust_vector.worst() {
            return Err(EarError::claim(
                "ear.status",
                format_args!(
                    "`{status}` in submod `{name}` is better than its trust vector allows ({})",
                    trust_vector.worst()
                ),
            ));
        }
        let policy_id = match m.remove(K_POLICY_ID) {
            Some(Value::String(s)) => Some(s),
            Some(_) => return Err(EarError::claim("ear.appraisal-policy-id", "not a string")),
            None => None,
        };
        let claims = m.remove(CLAIMS_KEY);
        if claims.as_ref().is_some_and(|c| !c.is_object()) {
            return Err(EarError::claim(
                "submods",
                "normalized claims are not an object",
            ));
        }
        for (k, v) in &m {
            if !v.is_object() {
                return Err(EarError::claim(
                    "submods",
                    format_args!("extension `{k}` in submod `{name}` is not a map"),
                ));
            }
        }
        Ok(Self {
            status,
            trust_vector,
            policy_id,
            claims,
            extensions: m,
        })
    }
}

/// The submod as JSON: the extensions, then `ear.status`, the trust
/// vector, the policy id and the normalized claims, which take the place
/// of an extension of the same name.
impl Serialize for Submod {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        for (k, v) in &self.extensions {
            if self.writes_extension(k) {
                m.serialize_entry(k, v)?;
            }
        }
        m.serialize_entry(K_STATUS, self.status.name())?;
        m.serialize_entry(K_TRUST_VECTOR, &self.trust_vector)?;
        if let Some(p) = &self.policy_id {
            m.serialize_entry(K_POLICY_ID, p)?;
        }
        if let Some(c) = &self.claims {
            m.serialize_entry(CLAIMS_KEY, c)?;
        }
        m.end()
    }
}

/// An EAR claims set: what [`Issuer::issue`] signs and [`verify`] returns.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Ear {
    /// `eat_profile`.
    pub profile: String,
    /// `iat` (Unix seconds).
    pub iat: u64,
    /// `exp` (Unix seconds).
    pub exp: u64,
    /// `ear.verifier-id`.
    pub verifier_id: VerifierId,
    /// `eat_nonce`, decoded (8..=64 bytes), if any.
    pub nonce: Option<Vec<u8>>,
    /// `submods`, by name (one per evidence platform: `sev-snp`, `tdx`, …).
    pub submods: BTreeMap<String, Submod>,
}

impl Ear {
    /// The worst status over all submods: what a relying party that needs
    /// every submod should act on.
    pub fn overall_status(&self) -> Status {
        self.submods
            .values()
            .map(|s| s.status)
            .max()
            .unwrap_or(Status::None)
    }

    /// The claims set as JSON (the JWT payload).
    pub fn to_json(&self) -> Value {
        // Maps with string keys, strings and numbers: cannot fail.
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// The JWT payload. Serialized directly (no intermediate JSON tree) when
/// a token is signed.
impl Serialize for Ear {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("eat_profile", &self.profile)?;
        m.serialize_entry("iat", &self.iat)?;
        m.serialize_entry("exp", &self.exp)?;
        m.serialize_entry(K_VERIFIER_ID, &self.verifier_id)?;
        if let Some(n) = &self.nonce {
            m.serialize_entry("eat_nonce", &b64e(n))?;
        }
        m.serialize_entry("submods", &self.submods)?;
        m.end()
    }
}

/// The submods and nonce of a token to issue.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct EarRequest {
    /// The nonce for `eat_nonce`, if any.
    pub nonce: Option<Vec<u8>>,
    /// The appraisals by submod name.
    pub submods: BTreeMap<String, Submod>,
}

impl EarRequest {
    /// An empty request.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builder: the relying party's nonce (8..=64 bytes, carried base64url
    /// in `eat_nonce`).
    ///
    /// # Errors
    /// [`EarError::BadNonce`] outside 8..=64 bytes.
    pub fn with_nonce(mut self, nonce: &[u8]) -> Result<Self, EarError> {
        if !(8..=64).contains(&nonce.len()) {
            return Err(EarError::BadNonce { len: nonce.len() });
        }
        self.nonce = Some(nonce.to_vec());
        Ok(self)
    }

    /// Builder: add an appraisal under `name` (e.g. the evidence platform's
    /// name, [`tee_core::Platform::name`]).
    ///
    /// # Errors
    /// [`EarError::Misuse`] for an empty or duplicate name.
    pub fn with_submod(mut self, name: impl Into<String>, s: Submod) -> Result<Self, EarError> {
        let name = name.into();
        if name.is_empty() {
            return Err(EarError::misuse("a submod name must not be empty"));
        }
        if self.submods.contains_key(&name) {
            return Err(EarError::misuse(format_args!("duplicate submod `{name}`")));
        }
        self.submods.insert(name, s);
        Ok(self)
    }
}

/// Issues EAR tokens: the signer set, the verifier id and the validity.
#[derive(Debug, Clone)]
pub struct Issuer {
    signers: SignerSet,
    verifier_id: VerifierId,
    validity_secs: u64,
}

/// Default token lifetime: 5 minutes (as Trustee's attestation service).
pub const DEFAULT_VALIDITY_SECS: u64 = 300;

impl Issuer {
    /// An issuer signing with the signer set's current key, verifier id
    /// [`VerifierId::this_crate`], validity [`DEFAULT_VALIDITY_SECS`].
    pub fn new(signers: SignerSet) -> Self {
        Self {
            signers,
            verifier_id: VerifierId::this_crate(),
            validity_secs: DEFAULT_VALIDITY_SECS,
        }
    }

    /// Builder: the verifier id.
    #[must_use]
    pub fn with_verifier_id(mut self, id: VerifierId) -> Self {
        self.verifier_id = id;
        self
    }

    /// Builder: the token lifetime (`exp` = `iat` + this; at least 1 s).
    #[must_use]
    pub fn with_validity_secs(mut self, secs: u64) -> Self {
        self.validity_secs = secs.max(1);
        self
    }

    /// The signer set (for the JWKS, or to rotate).
    pub fn signers(&self) -> &SignerSet {
        &self.signers
    }

    /// The signer set, mutable (to rotate keys).
    pub fn signers_mut(&mut self) -> &mut SignerSet {
        &mut self.signers
    }

    /// The claims set that [`Issuer::issue`] signs at `now`.
    ///
    /// # Errors
    /// [`EarError::Misuse`] without any submod.
    pub fn claims(&self, request: EarRequest, now: UnixTime) -> Result<Ear, EarError> {
        if request.submods.is_empty() {
            return Err(EarError::misuse("an EAR token needs at least one submod"));
        }
        let iat = now.as_secs();
        Ok(Ear {
            profile: EAR_PROFILE.into(),
            iat,
            exp: iat.saturating_add(self.validity_secs),
            verifier_id: self.verifier_id.clone(),
            nonce: request.nonce,
            submods: request.submods,
        })
    }

    /// Issue a signed token (JWS compact serialization) at `now`. Header:
    /// `{"alg": ES256|ES384 (the key's), "typ": "JWT", "kid": ...}`.
    ///
    /// # Errors
    /// As [`Issuer::claims`]; [`EarError::TooLarge`] if the token would be
    /// larger than a verifier accepts.
    pub fn issue(&self, request: EarRequest, now: UnixTime) -> Result<String, EarError> {
        let ear = self.claims(request, now)?;
        self.sign(&ear)
    }

    /// Sign a claims set as is.
    ///
    /// # Errors
    /// [`EarError::TooLarge`] if the token would exceed [`MAX_TOKEN_LEN`].
    pub fn sign(&self, ear: &Ear) -> Result<String, EarError> {
        let key = self.signers.current();
        let header = serde_json::json!({"alg": key.alg().name(), "typ": "JWT", "kid": key.kid()});
        let payload = serde_json::to_vec(ear)
            .map_err(|e| EarError::misuse(format!("claims set not serializable: {e}")))?;
        let input = format!("{}.{}", b64e(header.to_string().as_bytes()), b64e(&payload));
        let sig = key.sign(input.as_bytes())?;
        let token = format!("{input}.{}", b64e(&sig));
        if token.len() > MAX_TOKEN_LEN {
            return Err(EarError::TooLarge {
                len: token.len(),
                max: MAX_TOKEN_LEN,
            });
        }
        Ok(token)
    }
}

/// What [`verify`] checks besides the signature. Built from an explicit
/// time and leeway; the nonce must be set, or waived explicitly.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifyOptions {
    /// The verification time.
    pub at: UnixTime,
    /// Clock skew tolerated on `iat` and `exp` (seconds).
    pub leeway_secs: u64,
    /// The nonce `eat_nonce` must carry.
    pub nonce: Option<Vec<u8>>,
    /// Accept a token whatever its nonce (no freshness): default false.
    pub allow_any_nonce: bool,
    /// The accepted `eat_profile` values (default: [`EAR_PROFILE`] only).
    pub profiles: Vec<String>,
    /// The pinned verifier id, if any.
    pub verifier_id: Option<VerifierId>,
    /// The implementation that checks the signature (default
    /// [`Crypto::RustCrypto`]; the verdict is the same with every one).
    pub crypto: Crypto,
}

impl VerifyOptions {
    /// Options for verification at `at` with `leeway_secs` of clock skew.
    pub fn new(at: UnixTime, leeway_secs: u64) -> Self {
        Self {
            at,
            leeway_secs,
            nonce: None,
            allow_any_nonce: false,
            profiles: vec![EAR_PROFILE.into()],
            verifier_id: None,
            crypto: Crypto::RustCrypto,
        }
    }

    /// Builder: check the signature with this implementation.
    #[must_use]
    pub fn with_crypto(mut self, crypto: Crypto) -> Self {
        self.crypto = crypto;
        self
    }

    /// Builder: the nonce `eat_nonce` must carry.
    #[must_use]
    pub fn expect_nonce(mut self, nonce: &[u8]) -> Self {
        self.nonce = Some(nonce.to_vec());
        self
    }

    /// Builder: accept any nonce, or none (gives up freshness).
    #[must_use]
    pub fn allow_any_nonce(mut self, allow: bool) -> Self {
        self.allow_any_nonce = allow;
        self
    }

    /// Builder: also accept this `eat_profile` (it must use the dotted
    /// claim names, as [`TRUSTEE_PROFILE`] and [`VERAISON_PROFILE`] do).
    #[must_use]
    pub fn accept_profile(mut self, profile: impl Into<String>) -> Self {
        self.profiles.push(profile.into());
        self
    }

    /// Builder: require this `ear.verifier-id`.
    #[must_use]
    pub fn expect_verifier_id(mut self, id: VerifierId) -> Self {
        self.verifier_id = Some(id);
        self
    }
}

/// The profiles whose JSON uses the dotted claim names this crate reads.
const DOTTED_PROFILES: [&str; 3] = [EAR_PROFILE, TRUSTEE_PROFILE, VERAISON_PROFILE];

/// Verify a compact JWS EAR token against a JWKS and return its claims.
///
/// In order: size bound; three base64url parts; header (strict JSON; `alg`
/// ES256/ES384 only; `typ` JWT if present; no `crit`); key by `kid`; the
/// header's `alg` must be the key's; the raw `r || s` signature; the
/// payload (strict JSON, dotted names); `eat_profile` accepted; `iat` and
/// `exp` integers with `iat <= at + leeway` and `at < exp + leeway`;
/// `eat_nonce`; `ear.verifier-id` (if pinned); submods (at least one,
/// status no better than its vector). Header `jwk`, `jku`, `x5u` and `x5c`
/// are never used to find a key.
///
/// # Errors
/// The [`EarError`] variant of the first check that fails.
pub fn verify(token: &str, jwks: &Jwks, opts: &VerifyOptions) -> Result<Ear, EarError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(EarError::TooLarge {
            len: token.len(),
            max: MAX_TOKEN_LEN,
        });
    }
    let mut parts = token.split('.');
    let (Some(h64), Some(p64), Some(s64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(EarError::malformed(
            "JWS",
            "expected three dot-separated parts (compact serialization)",
        ));
    };
    let header = parse_object("JOSE header", &b64d("JOSE header", h64)?)?;
    let alg = match header.get("alg") {
        Some(Value::String(a)) => a.as_str(),
        Some(_) => return Err(EarError::malformed("JOSE header", "`alg` is not a string")),
        None => return Err(EarError::malformed("JOSE header", "no `alg`")),
    };
    if alg != "ES256" && alg != "ES384" {
        return Err(EarError::UnsupportedAlgorithm { alg: alg.into() });
    }
    if header.contains_key("crit") {
        return Err(EarError::UnsupportedHeader {
            parameter: "crit",
            detail: "no critical header parameters are understood".into(),
        });
    }
    match header.get("typ") {
        None => {}
        Some(Value::String(t)) if t.eq_ignore_ascii_case("JWT") => {}
        Some(t) => {
            return Err(EarError::UnsupportedHeader {
                parameter: "typ",
                detail: format!("{t} is not JWT"),
            });
        }
    }
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(k)) => Some(k.as_str()),
        Some(_) => return Err(EarError::malformed("JOSE header", "`kid` is not a string")),
    };
    let jwk = jwks.select(kid)?;
    let key = jwk.verifying_key()?;
    if alg != key.alg().name() {
        return Err(EarError::AlgorithmMismatch {
            header: alg.into(),
            key: key.alg(),
        });
    }
    let sig = b64d("JWS signature", s64)?;
    let signing_input = token
        .get(..h64.len() + 1 + p64.len())
        .ok_or_else(|| EarError::malformed("JWS", "signing input"))?;
    if !key.verify(opts.crypto, signing_input.as_bytes(), &sig) {
        return Err(EarError::BadSignature);
    }
    let payload = parse_object("payload", &b64d("payload", p64)?)?;
    claims(&payload, opts)
}

fn int_claim(p: &Map<String, Value>, name: &'static str) -> Result<u64, EarError> {
    match p.get(name) {
        None => Err(EarError::claim(name, "missing")),
        Some(Value::Number(n)) => n.as_u64().ok_or_else(|| {
            EarError::claim(name, "not a non-negative integer (floats are rejected)")
        }),
        Some(_) => Err(EarError::claim(name, "not a number")),
    }
}

fn claims(p: &Map<String, Value>, opts: &VerifyOptions) -> Result<Ear, EarError> {
    let profile = match p.get("eat_profile") {
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(EarError::claim("eat_profile", "not a string")),
        None => return Err(EarError::claim("eat_profile", "missing")),
    };
    if !opts.profiles.contains(&profile) || !DOTTED_PROFILES.contains(&profile.as_str()) {
        return Err(EarError::UnsupportedProfile { profile });
    }
    let iat = int_claim(p, "iat")?;
    let exp = int_claim(p, "exp")?;
    if exp <= iat {
        return Err(EarError::claim("exp", "not after iat"));
    }
    let at = opts.at.as_secs();
    let leeway = opts.leeway_secs;
    if iat > at.saturating_add(leeway) {
        return Err(EarError::NotYetValid { iat, at, leeway });
    }
    if at >= exp.saturating_add(leeway) {
        return Err(EarError::Expired { exp, at, leeway });
    }
    let nonce = match p.get("eat_nonce") {
        None => None,
        Some(Value::String(s)) => {
            let n =
                b64d("eat_nonce", s).map_err(|_| EarError::claim("eat_nonce", "not base64url"))?;
            if !(8..=64).contains(&n.len()) {
                return Err(EarError::claim("eat_nonce", "not 8..=64 bytes"));
            }
            Some(n)
        }
        Some(_) => return Err(EarError::claim("eat_nonce", "not a string")),
    };
    match (&opts.nonce, &nonce) {
        (Some(want), Some(have)) => {
            if want.len() != have.len() || !bool::from(want.as_slice().ct_eq(have.as_slice())) {
                return Err(EarError::NonceMismatch);
            }
        }
        (Some(_), None) => return Err(EarError::MissingNonce),
        (None, _) if opts.allow_any_nonce => {}
        (None, _) => return Err(EarError::NonceNotConfigured),
    }
    let vid = p
        .get(K_VERIFIER_ID)
        .and_then(Value::as_object)
        .ok_or_else(|| EarError::claim("ear.verifier-id", "missing or not an object"))?;
    let field = |k: &str| -> Result<String, EarError> {
        vid.get(k)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| EarError::claim("ear.verifier-id", format_args!("no string `{k}`")))
    };
    let verifier_id = VerifierId::new(field("developer")?, field("build")?);
    if let Some(want) = &opts.verifier_id
        && *want != verifier_id
    {
        return Err(EarError::VerifierIdMismatch {
            found: format!(
                "{{developer {:?}, build {:?}}}",
                verifier_id.developer, verifier_id.build
            ),
        });
    }
    let subs = p
        .get("submods")
        .and_then(Value::as_object)
        .ok_or_else(|| EarError::claim("submods", "missing or not an object"))?;
    if subs.is_empty() {
        return Err(EarError::claim("submods", "empty"));
    }
    let mut submods = BTreeMap::new();
    for (name, v) in subs {
        submods.insert(name.clone(), Submod::from_json(name, v)?);
    }
    Ok(Ear {
        profile,
        iat,
        exp,
        verifier_id,
        nonce,
        submods,
    })
}
