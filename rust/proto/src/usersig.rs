//! UserSig v2: the login credential, compatible with Tencent's TLS-sig-api-v2.
//!
//! A UserSig is a JSON object signed with HMAC-SHA256, zlib-compressed and
//! encoded with a URL-safe base64 variant (`+`→`*`, `/`→`-`, `=`→`_`):
//!
//! ```text
//! {"TLS.ver": "2.0", "TLS.identifier": "xiaojun", "TLS.sdkappid": 1400000000,
//!  "TLS.expire": 15552000, "TLS.time": 1700000000, "TLS.sig": "<base64 HMAC>"}
//! ```
//!
//! `TLS.sig` is the standard base64 of HMAC-SHA256, keyed with the secret
//! key's UTF-8 bytes (the hex-looking key is *not* hex-decoded), over
//!
//! ```text
//! TLS.identifier:<id>\nTLS.sdkappid:<appid>\nTLS.time:<t>\nTLS.expire:<e>\n
//! ```
//!
//! followed by `TLS.userbuf:<base64>\n` when a userbuf is present (it is then
//! also in the JSON as `TLS.userbuf`).
//!
//! [`verify`] decodes the JSON and recomputes the HMAC: it never compares
//! compressed bytes, so any zlib level and any key order verify. A UserSig
//! is valid up to and including second `time + expire`; it has expired once
//! `now > time + expire` (as in Tencent's verifiers).
//!
//! Error messages never contain the secret key or a signature.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use flate2::Compression;
use hmac::{Hmac, Mac};
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};
use sha2::Sha256;
use std::io::{Read, Write};

/// Default UserSig lifetime in seconds: 180 days (the reference library's default).
pub const DEFAULT_EXPIRE_S: u64 = 180 * 86400;

/// Longest UserSig [`verify`] accepts, in bytes.
pub const MAX_USER_SIG_BYTES: usize = 8 * 1024;

/// Largest decompressed UserSig JSON [`verify`] accepts, in bytes (a zip-bomb guard).
pub const MAX_JSON_BYTES: usize = 16 * 1024;

/// The `TLS.ver` this module writes and accepts.
pub const VERSION: &str = "2.0";

/// What a verified UserSig asserts.
///
/// Serializes as `{"identifier":..,"sdkappid":..,"time":..,"expire":..}`, plus
/// `"userbuf"` (standard base64) when there is one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserSigClaims {
    /// The user ID the UserSig was issued to (`TLS.identifier`).
    pub identifier: String,
    /// The application it was issued for (`TLS.sdkappid`).
    pub sdkappid: u64,
    /// When it was issued, Unix seconds (`TLS.time`).
    pub time: u64,
    /// Its lifetime in seconds from `time` (`TLS.expire`).
    pub expire: u64,
    /// Opaque bytes signed along with the rest (`TLS.userbuf`, decoded).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_userbuf"
    )]
    pub userbuf: Option<Vec<u8>>,
}

impl UserSigClaims {
    /// The last second at which the UserSig is still valid (`time + expire`, saturating).
    pub fn expires_at(&self) -> u64 {
        self.time.saturating_add(self.expire)
    }
}

/// Why a UserSig did not verify. No variant carries the key or a signature.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum UserSigError {
    /// Not a UserSig at all: too long, bad base64, not zlib, or too big once decompressed.
    #[error("malformed UserSig: {0}")]
    MalformedEncoding(String),
    /// The decompressed content is not the expected JSON object.
    #[error("malformed UserSig JSON: {0}")]
    BadJson(String),
    /// The UserSig was issued for another application.
    #[error("UserSig is for SDKAppID {found}, expected {expected}")]
    WrongSdkAppId {
        /// The SDKAppID the verifier serves.
        expected: u64,
        /// The SDKAppID in the UserSig.
        found: u64,
    },
    /// The HMAC does not match: tampered content or another secret key.
    #[error("UserSig signature does not match (tampered, or signed with another secret key)")]
    BadSignature,
    /// The UserSig is authentic but its lifetime is over.
    #[error("UserSig expired at {expired_at} (Unix seconds)")]
    Expired {
        /// The last second it was valid (`time + expire`).
        expired_at: u64,
    },
    /// The UserSig is authentic but was issued to another user.
    #[error("UserSig was issued to user {found:?}, not {expected:?}")]
    IdentifierMismatch {
        /// The user ID the caller claims.
        expected: String,
        /// The user ID in the UserSig.
        found: String,
    },
}

/// Generate a UserSig for `user_id`, valid for `expire_s` seconds from `now_s`.
pub fn generate(
    sdk_app_id: u64,
    secret_key: &str,
    user_id: &str,
    expire_s: u64,
    now_s: u64,
) -> String {
    encode(sdk_app_id, secret_key, user_id, expire_s, now_s, None)
}

/// Like [`generate`], also signing the opaque `userbuf`.
pub fn generate_with_userbuf(
    sdk_app_id: u64,
    secret_key: &str,
    user_id: &str,
    expire_s: u64,
    now_s: u64,
    userbuf: &[u8],
) -> String {
    encode(
        sdk_app_id,
        secret_key,
        user_id,
        expire_s,
        now_s,
        Some(&STANDARD.encode(userbuf)),
    )
}

/// Verify a UserSig for `sdk_app_id` at time `now_s` (Unix seconds), returning its claims.
///
/// Checks, in order: size and encoding, JSON shape, SDKAppID, signature, expiry.
pub fn verify(
    sdk_app_id: u64,
    secret_key: &str,
    user_sig: &str,
    now_s: u64,
) -> Result<UserSigClaims, UserSigError> {
    let json = decode(user_sig)?;
    let fields = parse(&json)?;
    if fields.claims.sdkappid != sdk_app_id {
        return Err(UserSigError::WrongSdkAppId {
            expected: sdk_app_id,
            found: fields.claims.sdkappid,
        });
    }
    let c = &fields.claims;
    let mac = keyed_mac(
        secret_key,
        &c.identifier,
        c.sdkappid,
        c.time,
        c.expire,
        fields.userbuf_b64.as_deref(),
    );
    let sig = STANDARD
        .decode(&fields.sig_b64)
        .map_err(|_| UserSigError::BadSignature)?;
    mac.verify_slice(&sig)
        .map_err(|_| UserSigError::BadSignature)?;
    if now_s > c.expires_at() {
        return Err(UserSigError::Expired {
            expired_at: c.expires_at(),
        });
    }
    Ok(fields.claims)
}

/// [`verify`], then check that the UserSig was issued to `user_id`.
pub fn verify_for_user(
    sdk_app_id: u64,
    secret_key: &str,
    user_sig: &str,
    user_id: &str,
    now_s: u64,
) -> Result<UserSigClaims, UserSigError> {
    let claims = verify(sdk_app_id, secret_key, user_sig, now_s)?;
    if claims.identifier != user_id {
        return Err(UserSigError::IdentifierMismatch {
            expected: user_id.to_owned(),
            found: claims.identifier,
        });
    }
    Ok(claims)
}

/// The HMAC over the signed content, ready to finalize or verify.
fn keyed_mac(
    key: &str,
    id: &str,
    sdkappid: u64,
    time: u64,
    expire: u64,
    userbuf_b64: Option<&str>,
) -> Hmac<Sha256> {
    let mut content = format!(
        "TLS.identifier:{id}\nTLS.sdkappid:{sdkappid}\nTLS.time:{time}\nTLS.expire:{expire}\n"
    );
    if let Some(b) = userbuf_b64 {
        content.push_str(&format!("TLS.userbuf:{b}\n"));
    }
    let mut mac =
        Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(content.as_bytes());
    mac
}

/// Build, compress and encode the JSON, in the reference library's key order and spacing.
fn encode(
    sdkappid: u64,
    key: &str,
    id: &str,
    expire: u64,
    time: u64,
    userbuf_b64: Option<&str>,
) -> String {
    let sig = STANDARD.encode(
        keyed_mac(key, id, sdkappid, time, expire, userbuf_b64)
            .finalize()
            .into_bytes(),
    );
    let id_json = Value::from(id).to_string();
    let mut json = format!(
        r#"{{"TLS.ver": "{VERSION}", "TLS.identifier": {id_json}, "TLS.sdkappid": {sdkappid}, "TLS.expire": {expire}, "TLS.time": {time}, "#
    );
    if let Some(b) = userbuf_b64 {
        json.push_str(&format!(r#""TLS.userbuf": "{b}", "#));
    }
    json.push_str(&format!(r#""TLS.sig": "{sig}"}}"#));
    let mut z = ZlibEncoder::new(Vec::new(), Compression::default());
    z.write_all(json.as_bytes())
        .expect("writing to a Vec cannot fail");
    let compressed = z.finish().expect("writing to a Vec cannot fail");
    STANDARD
        .encode(compressed)
        .chars()
        .map(|c| match c {
            '+' => '*',
            '/' => '-',
            '=' => '_',
            c => c,
        })
        .collect()
}

/// Undo the URL-safe base64 and zlib, with size limits; returns the JSON bytes.
fn decode(user_sig: &str) -> Result<Vec<u8>, UserSigError> {
    let malformed = |m: &str| UserSigError::MalformedEncoding(m.to_owned());
    if user_sig.is_empty() {
        return Err(malformed("the UserSig is empty"));
    }
    if user_sig.len() > MAX_USER_SIG_BYTES {
        return Err(UserSigError::MalformedEncoding(format!(
            "the UserSig is {} bytes long; the limit is {MAX_USER_SIG_BYTES}",
            user_sig.len()
        )));
    }
    let b64: String = user_sig
        .chars()
        .map(|c| match c {
            '*' => '+',
            '-' => '/',
            '_' => '=',
            c => c,
        })
        .collect();
    // Padding is optional: some encoders drop the trailing `_`s.
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let compressed = LENIENT
        .decode(b64)
        .map_err(|_| malformed("not valid base64 (alphabet A-Z a-z 0-9 * - _)"))?;
    let mut json = Vec::new();
    ZlibDecoder::new(compressed.as_slice())
        .take(MAX_JSON_BYTES as u64 + 1)
        .read_to_end(&mut json)
        .map_err(|_| malformed("the decoded bytes are not a zlib stream"))?;
    if json.len() > MAX_JSON_BYTES {
        return Err(UserSigError::MalformedEncoding(format!(
            "the decompressed content exceeds {MAX_JSON_BYTES} bytes"
        )));
    }
    Ok(json)
}

/// The JSON fields, with the signed strings kept verbatim.
struct Fields {
    claims: UserSigClaims,
    userbuf_b64: Option<String>,
    sig_b64: String,
}

/// Parse and check the JSON object. Messages name fields, never their string values.
fn parse(json: &[u8]) -> Result<Fields, UserSigError> {
    let bad = |m: String| UserSigError::BadJson(m);
    let obj: Map<String, Value> = match serde_json::from_slice(json) {
        Ok(Value::Object(obj)) => obj,
        Ok(_) => return Err(bad("not a JSON object".into())),
        Err(e) => {
            return Err(bad(format!(
                "not valid JSON (line {}, column {})",
                e.line(),
                e.column()
            )))
        }
    };
    let string = |name: &str| match obj.get(name) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(bad(format!("{name} is not a string"))),
        None => Err(bad(format!("{name} is missing"))),
    };
    let number = |name: &str| match obj.get(name) {
        Some(v) => v
            .as_u64()
            .ok_or_else(|| bad(format!("{name} is not a non-negative integer"))),
        None => Err(bad(format!("{name} is missing"))),
    };
    let ver = string("TLS.ver")?;
    if ver != VERSION {
        return Err(bad(format!(
            "TLS.ver is not {VERSION:?}, the only supported version"
        )));
    }
    let userbuf_b64 = if obj.contains_key("TLS.userbuf") {
        Some(string("TLS.userbuf")?)
    } else {
        None
    };
    let userbuf = match &userbuf_b64 {
        Some(b) => Some(
            STANDARD
                .decode(b)
                .map_err(|_| bad("TLS.userbuf is not valid base64".into()))?,
        ),
        None => None,
    };
    let claims = UserSigClaims {
        identifier: string("TLS.identifier")?,
        sdkappid: number("TLS.sdkappid")?,
        time: number("TLS.time")?,
        expire: number("TLS.expire")?,
        userbuf,
    };
    Ok(Fields {
        claims,
        userbuf_b64,
        sig_b64: string("TLS.sig")?,
    })
}

fn ser_userbuf<S: Serializer>(userbuf: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
    match userbuf {
        Some(b) => s.serialize_str(&STANDARD.encode(b)),
        None => s.serialize_none(),
    }
}
