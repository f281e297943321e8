//! The KBS client.

use serde::de::DeserializeOwned;
use serde_json::Value;
use tee::Attester;
use tee_fetch::{Request, Response, Transport};
use zeroize::Zeroizing;

use crate::error::{KbsError, Step};
use crate::evidence;
use crate::jwe::TeeKey;
use crate::protocol::{
    self, Attestation, AttestationToken, Binding, Challenge, Jwe, RuntimeData, Tee, TeeEvidence,
};

/// Largest auth/attest answer accepted (1 MiB).
const MAX_MESSAGE: usize = 1 << 20;

/// A resource path `repository/type/tag` (each segment non-empty, letters,
/// digits, `.`, `_`, `-`; not `.` or `..`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourcePath {
    segments: [String; 3],
}

impl ResourcePath {
    /// Parse `repository/type/tag`.
    ///
    /// # Errors
    /// [`KbsError::InvalidArgument`] for anything else.
    pub fn parse(s: &str) -> Result<Self, KbsError> {
        let bad =
            || KbsError::InvalidArgument(format!("resource path {s:?} is not repository/type/tag"));
        let parts: Vec<&str> = s.split('/').collect();
        let [a, b, c] = parts.as_slice() else {
            return Err(bad());
        };
        for p in [a, b, c] {
            let ok = !p.is_empty()
                && *p != "."
                && *p != ".."
                && p.len() <= 256
                && p.bytes()
                    .all(|x| x.is_ascii_alphanumeric() || matches!(x, b'.' | b'_' | b'-'));
            if !ok {
                return Err(bad());
            }
        }
        Ok(Self {
            segments: [(*a).to_owned(), (*b).to_owned(), (*c).to_owned()],
        })
    }
}

impl core::fmt::Display for ResourcePath {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{}/{}/{}",
            self.segments[0], self.segments[1], self.segments[2]
        )
    }
}

/// An attested KBS session: the session cookie and the attestation token.
#[derive(Clone)]
pub struct Session {
    cookie: String,
    token: String,
    tee: Tee,
}

impl core::fmt::Debug for Session {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Session")
            .field("tee", &self.tee)
            .field("cookie", &"<redacted>")
            .field("token", &"<redacted>")
            .finish()
    }
}

impl Session {
    /// The attestation token the KBS issued (a JWT; with Trustee's CoCo AS
    /// an EAR token, see `tee-ear`). A bearer credential: keep it secret.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The TEE the session attested as.
    pub fn tee(&self) -> Tee {
        self.tee
    }
}

/// A KBS client over a transport, holding the ephemeral TEE key.
#[derive(Debug)]
pub struct KbsClient<T: Transport> {
    base: String,
    transport: T,
    key: TeeKey,
}

impl<T: Transport> KbsClient<T> {
    /// A client for the KBS at `base_url` (`http(s)://host[:port]`, the
    /// `/kbs/v0` prefix is added), with a fresh EC P-256 ephemeral key.
    ///
    /// # Errors
    /// [`KbsError::InvalidArgument`] for a URL that is not http(s);
    /// [`KbsError::Random`].
    pub fn new(base_url: &str, transport: T) -> Result<Self, KbsError> {
        Self::with_key(base_url, transport, TeeKey::generate_ec()?)
    }

    /// As [`KbsClient::new`] with a given ephemeral key (e.g. RSA).
    ///
    /// # Errors
    /// [`KbsError::InvalidArgument`] for a URL that is not http(s).
    pub fn with_key(base_url: &str, transport: T, key: TeeKey) -> Result<Self, KbsError> {
        let lower = base_url.to_ascii_lowercase();
        if !(lower.starts_with("http://") || lower.starts_with("https://"))
            || base_url
                .bytes()
                .any(|b| b <= b' ' || b == b'?' || b == b'#')
        {
            return Err(KbsError::InvalidArgument(format!(
                "KBS URL {base_url:?} is not http(s)://host[:port]"
            )));
        }
        let mut base = base_url.trim_end_matches('/').to_owned();
        if let Some(stripped) = base.strip_suffix("/kbs/v0") {
            base = stripped.to_owned();
        }
        Ok(Self {
            base,
            transport,
            key,
        })
    }

    /// The ephemeral key's public JWK (what the KBS encrypts resources to).
    pub fn public_key(&self) -> protocol::TeePubKey {
        self.key.public_jwk()
    }

    fn url(&self, path: &str) -> String {
        format!("{}/kbs/v0/{path}", self.base)
    }

    /// Run request → challenge → attestation with `attester`.
    ///
    /// The TEE is [`Tee::for_attester`]: an Azure vTPM attester (its
    /// [`tee::Attester::vtpm`]) attests as `az-snp-vtpm` / `az-tdx-vtpm`
    /// with the runtime-data digest as the quote's qualifying data and the
    /// paravisor's user data; the others bind it in the report data
    /// ([`protocol::binding_for`]).
    ///
    /// # Errors
    /// [`KbsError::Evidence`] when the attester fails or its platform has no
    /// Trustee shape; [`KbsError::Unauthorized`] when the KBS refuses (wrong
    /// version, evidence not accepted, expired session); [`KbsError::Protocol`]
    /// for answers that do not follow the protocol; [`KbsError::Transport`].
    pub fn attest(&self, attester: &dyn Attester) -> Result<Session, KbsError> {
        let platform = attester.platform();
        let tee = Tee::for_attester(attester).ok_or_else(|| {
            KbsError::Evidence(tee::Error::unsupported(
                platform,
                tee::Operation::Attestation,
                "no Trustee KBS evidence shape for this platform",
            ))
        })?;
        // 1. Request → Challenge (+ session cookie).
        let body =
            serde_json::to_vec(&protocol::Request::new(tee)).map_err(|e| proto(Step::Auth, e))?;
        let resp = self.transport.get(
            &Request::post(self.url("auth"), body)
                .header("Content-Type", "application/json")
                .with_max_body(MAX_MESSAGE),
        )?;
        let resp = check(Step::Auth, resp, None)?;
        let cookie = session_cookie(&resp).ok_or_else(|| KbsError::Protocol {
            step: Step::Auth,
            detail: "no kbs-session-id cookie".into(),
        })?;
        let challenge: Challenge = parse(Step::Auth, &resp.body)?;
        if challenge.nonce.is_empty() || challenge.nonce.len() > 1024 {
            return Err(KbsError::Protocol {
                step: Step::Auth,
                detail: "challenge nonce empty or longer than 1024 bytes".into(),
            });
        }
        let hash =
            protocol::selected_hash(&challenge.extra_params).map_err(|alg| KbsError::Protocol {
                step: Step::Auth,
                detail: format!(
                    "the KBS selected hash algorithm {alg}, which this client does not support"
                ),
            })?;
        // 2. Bind the runtime data and attest.
        let runtime_data = RuntimeData {
            nonce: challenge.nonce,
            tee_pubkey: self.key.public_jwk(),
        };
        let digest = protocol::runtime_data_digest(&runtime_data, "", hash);
        let ev = match protocol::binding_for(tee, &digest) {
            Binding::ReportData(rd) => attester.attest(&rd)?,
            Binding::QualifyingData(qd) => {
                // `for_attester` named a vTPM TEE only for a vTPM attester.
                let vtpm = attester.vtpm().ok_or_else(|| {
                    KbsError::Evidence(tee::Error::Misuse(
                        format!("{tee} needs a vTPM attester").into(),
                    ))
                })?;
                if qd.len() > vtpm.max_qualifying_data() {
                    return Err(KbsError::Protocol {
                        step: Step::Auth,
                        detail: format!(
                            "the KBS selected {}, whose {}-byte digest exceeds the {} bytes \
                             the vTPM takes as qualifying data",
                            hash.as_str(),
                            qd.len(),
                            vtpm.max_qualifying_data()
                        ),
                    });
                }
                vtpm.attest_raw(&qd)?
            }
        };
        let (ev_tee, primary_evidence) = evidence::to_trustee(&ev)?;
        if ev_tee != tee {
            return Err(KbsError::Evidence(tee::Error::Misuse(
                format!("the {platform} attester produced {ev_tee} evidence").into(),
            )));
        }
        let att = Attestation {
            init_data: None,
            runtime_data,
            tee_evidence: TeeEvidence {
                primary_evidence,
                additional_evidence: String::new(),
            },
        };
        let body = serde_json::to_vec(&att).map_err(|e| proto(Step::Attest, e))?;
        let resp = self.transport.get(
            &Request::post(self.url("attest"), body)
                .header("Content-Type", "application/json")
                .header("Cookie", format!("{}={cookie}", protocol::SESSION_COOKIE))
                .with_max_body(MAX_MESSAGE),
        )?;
        let resp = check(Step::Attest, resp, None)?;
        let token: AttestationToken = parse(Step::Attest, &resp.body)?;
        Ok(Session {
            cookie,
            token: token.token,
            tee,
        })
    }

    /// Fetch and decrypt the resource at `path` in an attested session.
    ///
    /// # Errors
    /// [`KbsError::Unauthorized`] (session unknown or expired),
    /// [`KbsError::PolicyDenied`], [`KbsError::NotFound`],
    /// [`KbsError::Jwe`] (tampered, or encrypted to another key),
    /// [`KbsError::Protocol`], [`KbsError::Transport`].
    pub fn get_resource(
        &self,
        session: &Session,
        path: &ResourcePath,
    ) -> Result<Zeroizing<Vec<u8>>, KbsError> {
        let resp =
            self.transport
                .get(&Request::get(self.url(&format!("resource/{path}"))).header(
                    "Cookie",
                    format!("{}={}", protocol::SESSION_COOKIE, session.cookie),
                ))?;
        let resp = check(Step::Resource, resp, Some(path))?;
        let jwe: Jwe = parse(Step::Resource, &resp.body)?;
        Ok(self.key.decrypt(&jwe)?)
    }

    /// Attest with `attester`, then fetch and decrypt `path`.
    ///
    /// # Errors
    /// As [`KbsClient::attest`] and [`KbsClient::get_resource`].
    pub fn fetch_resource(
        &self,
        attester: &dyn Attester,
        path: &ResourcePath,
    ) -> Result<Zeroizing<Vec<u8>>, KbsError> {
        let s = self.attest(attester)?;
        self.get_resource(&s, path)
    }
}

fn proto(step: Step, e: impl core::fmt::Display) -> KbsError {
    KbsError::Protocol {
        step,
        detail: e.to_string(),
    }
}

fn parse<M: DeserializeOwned>(step: Step, body: &[u8]) -> Result<M, KbsError> {
    serde_json::from_slice(body).map_err(|e| proto(step, format!("bad {step} answer: {e}")))
}

/// The RFC 7807 error name of a KBS error body (the last path segment of `type`).
fn problem(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let t = v.get("type")?.as_str()?;
    let name = t.rsplit('/').next()?;
    (!name.is_empty() && name.len() <= 128 && name.bytes().all(|b| b.is_ascii_alphanumeric()))
        .then(|| name.to_owned())
}

fn check(step: Step, resp: Response, path: Option<&ResourcePath>) -> Result<Response, KbsError> {
    match resp.status {
        200 => Ok(resp),
        401 => Err(KbsError::Unauthorized {
            step,
            problem: problem(&resp.body),
        }),
        403 if step == Step::Resource => Err(KbsError::PolicyDenied {
            problem: problem(&resp.body),
        }),
        404 if step == Step::Resource => Err(KbsError::NotFound {
            path: path.map(ToString::to_string).unwrap_or_default(),
        }),
        status => Err(KbsError::Status {
            step,
            status,
            problem: problem(&resp.body),
        }),
    }
}

/// The `kbs-session-id` value of the `Set-Cookie` fields.
fn session_cookie(resp: &Response) -> Option<String> {
    resp.headers.get_all("set-cookie").find_map(|c| {
        let first = c.split(';').next()?.trim();
        let (name, value) = first.split_once('=')?;
        (name.trim() == protocol::SESSION_COOKIE
            && !value.is_empty()
            && value.len() <= 256
            && value
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b';' && b != b','))
        .then(|| value.to_owned())
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn resource_paths() {
        assert_eq!(
            ResourcePath::parse("default/key/1").unwrap().to_string(),
            "default/key/1"
        );
        for bad in [
            "", "a/b", "a/b/c/d", "a//c", "../b/c", "a/b/c?x", "a/b/c d", "a/./c",
        ] {
            assert!(
                matches!(ResourcePath::parse(bad), Err(KbsError::InvalidArgument(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn cookies_and_problems() {
        let r = Response::new(200, Vec::new())
            .with_header("Set-Cookie", "other=1")
            .with_header(
                "set-cookie",
                "kbs-session-id=0123abcd; Expires=Wed, 21 Oct 2026 07:28:00 GMT",
            );
        assert_eq!(session_cookie(&r).as_deref(), Some("0123abcd"));
        assert_eq!(session_cookie(&Response::new(200, Vec::new())), None);
        let body = br#"{"type":"https://github.com/confidential-containers/kbs/errors/PolicyDeny","detail":"x"}"#;
        assert_eq!(problem(body).as_deref(), Some("PolicyDeny"));
        assert_eq!(problem(b"not json"), None);
        let p = ResourcePath::parse("a/b/c").unwrap();
        assert!(matches!(
            check(Step::Resource, Response::new(403, body.to_vec()), Some(&p)),
            Err(KbsError::PolicyDenied { problem: Some(_) })
        ));
        assert!(matches!(
            check(Step::Resource, Response::new(404, Vec::new()), Some(&p)),
            Err(KbsError::NotFound { .. })
        ));
        assert!(matches!(
            check(Step::Auth, Response::new(500, Vec::new()), None),
            Err(KbsError::Status { status: 500, .. })
        ));
        assert!(matches!(
            check(Step::Attest, Response::new(401, Vec::new()), None),
            Err(KbsError::Unauthorized {
                step: Step::Attest,
                ..
            })
        ));
    }

    #[test]
    fn urls() {
        let t = tee_fetch::PlainHttp::default();
        assert!(KbsClient::new("ftp://x", t).is_err());
        assert!(KbsClient::new("http://x/?q", t).is_err());
        let c = KbsClient::new("http://kbs:8080/kbs/v0/", t).unwrap();
        assert_eq!(c.url("auth"), "http://kbs:8080/kbs/v0/auth");
    }
}
