//! UserSig v2: reference vectors, error cases, userbuf, and independence from the compressed bytes.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use flate2::Compression;
use hotline_proto::usersig::{self, UserSigClaims, UserSigError};
use serde_json::{json, Value};
use std::io::{Read, Write};

// The vector in the task brief, produced by the reference library with its clock pinned.
const APP: u64 = 1400000000;
const KEY: &str = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";
const ID: &str = "xiaojun";
const TIME: u64 = 1700000000;
const EXPIRE: u64 = 15552000;
const TLS_SIG: &str = "LvA7d/Iw7gSsnskvVzBDPOCCDbuNCw4GHwTC0bip+B4=";
const USERSIG: &str = "eJyrVgrxCdYrSy1SslJQMtIzUNJRAItkpqTmlWSmZUIkKjIT87NK82CSxSnZiQUFmSlAKUMTAyiAyqVWFGQWpYJkTE1NjRDiJZm5YFFzNPXFmekgG3zKHM1T9D3LzdODi-OKs8vCqpxcAvydnV2SSv2cy03cPcpDnA2SMgu0nUxslWoBHdYzUg__";

/// The vector's JSON, exactly as Python's `json.dumps` wrote it.
const JSON: &str = r#"{"TLS.ver": "2.0", "TLS.identifier": "xiaojun", "TLS.sdkappid": 1400000000, "TLS.expire": 15552000, "TLS.time": 1700000000, "TLS.sig": "LvA7d/Iw7gSsnskvVzBDPOCCDbuNCw4GHwTC0bip+B4="}"#;

fn url_b64(bytes: &[u8]) -> String {
    STANDARD
        .encode(bytes)
        .replace('+', "*")
        .replace('/', "-")
        .replace('=', "_")
}

fn zlib(bytes: &[u8], level: Compression) -> Vec<u8> {
    let mut z = ZlibEncoder::new(Vec::new(), level);
    z.write_all(bytes).unwrap();
    z.finish().unwrap()
}

/// JSON (or any bytes) → UserSig encoding.
fn pack(json: &str) -> String {
    url_b64(&zlib(json.as_bytes(), Compression::default()))
}

/// UserSig → its JSON text.
fn unpack(sig: &str) -> String {
    let b64 = sig.replace('*', "+").replace('-', "/").replace('_', "=");
    let mut out = String::new();
    ZlibDecoder::new(STANDARD.decode(b64).unwrap().as_slice())
        .read_to_string(&mut out)
        .unwrap();
    out
}

/// The vector's JSON object with `f` applied, re-packed.
fn edited(f: impl FnOnce(&mut serde_json::Map<String, Value>)) -> String {
    let mut v: Value = serde_json::from_str(JSON).unwrap();
    f(v.as_object_mut().unwrap());
    pack(&v.to_string())
}

/// Verify at the vector's issue time and check the message leaks no secret.
fn verify_err(app: u64, key: &str, sig: &str) -> UserSigError {
    let e = usersig::verify(app, key, sig, TIME).unwrap_err();
    let msg = e.to_string();
    assert!(
        !msg.contains(KEY) && !msg.contains(TLS_SIG) && !msg.contains(&TLS_SIG[..12]),
        "{msg}"
    );
    e
}

fn vector_claims() -> UserSigClaims {
    UserSigClaims {
        identifier: ID.into(),
        sdkappid: APP,
        time: TIME,
        expire: EXPIRE,
        userbuf: None,
    }
}

// --- the reference vector -------------------------------------------------

#[test]
fn the_reference_vector_decodes_and_verifies() {
    assert_eq!(unpack(USERSIG), JSON);
    assert_eq!(
        usersig::verify(APP, KEY, USERSIG, TIME + 1),
        Ok(vector_claims())
    );
    assert_eq!(
        usersig::verify_for_user(APP, KEY, USERSIG, ID, TIME),
        Ok(vector_claims())
    );
}

#[test]
fn generate_reproduces_the_reference_signature_and_json() {
    let ours = usersig::generate(APP, KEY, ID, EXPIRE, TIME);
    let json: Value = serde_json::from_str(&unpack(&ours)).unwrap();
    assert_eq!(json["TLS.sig"], TLS_SIG);
    // Same key order and spacing as the reference library, so the JSON is byte-identical.
    assert_eq!(unpack(&ours), JSON);
    assert_eq!(usersig::verify(APP, KEY, &ours, TIME), Ok(vector_claims()));
}

#[test]
fn the_default_lifetime_is_180_days() {
    assert_eq!(usersig::DEFAULT_EXPIRE_S, 15552000);
}

#[test]
fn claims_serialize_as_one_flat_object() {
    let s = serde_json::to_string(&vector_claims()).unwrap();
    assert_eq!(
        s,
        r#"{"identifier":"xiaojun","sdkappid":1400000000,"time":1700000000,"expire":15552000}"#
    );
    let with_buf = UserSigClaims {
        userbuf: Some(b"abc".to_vec()),
        ..vector_claims()
    };
    assert!(serde_json::to_string(&with_buf)
        .unwrap()
        .ends_with(r#","userbuf":"YWJj"}"#));
}

// --- verification never depends on the compressed bytes -------------------

#[test]
fn any_compression_level_verifies() {
    for level in [
        Compression::none(),
        Compression::fast(),
        Compression::best(),
    ] {
        let sig = url_b64(&zlib(JSON.as_bytes(), level));
        assert_ne!(sig, USERSIG);
        assert_eq!(
            usersig::verify(APP, KEY, &sig, TIME),
            Ok(vector_claims()),
            "level {level:?}"
        );
    }
}

#[test]
fn reordered_keys_and_compact_json_verify() {
    let reordered = json!({
        "TLS.sig": TLS_SIG, "TLS.time": TIME, "TLS.expire": EXPIRE,
        "TLS.sdkappid": APP, "TLS.identifier": ID, "TLS.ver": "2.0",
    });
    let sig = pack(&reordered.to_string());
    assert_ne!(sig, USERSIG);
    assert_eq!(usersig::verify(APP, KEY, &sig, TIME), Ok(vector_claims()));
}

#[test]
fn padding_may_be_dropped() {
    let unpadded = USERSIG.trim_end_matches('_');
    assert_ne!(unpadded, USERSIG);
    assert_eq!(
        usersig::verify(APP, KEY, unpadded, TIME),
        Ok(vector_claims())
    );
}

// --- expiry ---------------------------------------------------------------

#[test]
fn valid_through_time_plus_expire_and_expired_one_second_later() {
    assert!(usersig::verify(APP, KEY, USERSIG, TIME + EXPIRE).is_ok());
    let e = verify_err_at(TIME + EXPIRE + 1);
    assert_eq!(
        e,
        UserSigError::Expired {
            expired_at: TIME + EXPIRE
        }
    );
    assert!(e.to_string().contains("expired at 1715552000"), "{e}");
}

fn verify_err_at(now_s: u64) -> UserSigError {
    usersig::verify(APP, KEY, USERSIG, now_s).unwrap_err()
}

#[test]
fn a_lifetime_that_overflows_never_expires() {
    let sig = usersig::generate(APP, KEY, ID, u64::MAX, TIME);
    assert!(usersig::verify(APP, KEY, &sig, u64::MAX).is_ok());
}

// --- one test per error ---------------------------------------------------

#[test]
fn malformed_base64_is_malformed_encoding() {
    for bad in ["not a usersig!", "eJyr.Vgr", "a", "eJyr\n"] {
        let e = verify_err(APP, KEY, bad);
        assert!(
            matches!(&e, UserSigError::MalformedEncoding(m) if m.contains("base64")),
            "{bad:?}: {e}"
        );
    }
}

#[test]
fn empty_and_oversized_usersigs_are_malformed_encoding() {
    let e = verify_err(APP, KEY, "");
    assert!(
        matches!(&e, UserSigError::MalformedEncoding(m) if m.contains("empty")),
        "{e}"
    );
    let huge = "A".repeat(usersig::MAX_USER_SIG_BYTES + 1);
    let e = verify_err(APP, KEY, &huge);
    assert!(
        matches!(&e, UserSigError::MalformedEncoding(m) if m.contains("8193 bytes") && m.contains("8192")),
        "{e}"
    );
}

#[test]
fn valid_base64_that_is_not_zlib_is_malformed_encoding() {
    let sig = url_b64(b"this is plain text, not a zlib stream");
    let e = verify_err(APP, KEY, &sig);
    assert!(
        matches!(&e, UserSigError::MalformedEncoding(m) if m.contains("zlib")),
        "{e}"
    );
    // A truncated stream is not zlib either.
    let sig = url_b64(&zlib(JSON.as_bytes(), Compression::default())[..40]);
    assert!(matches!(
        verify_err(APP, KEY, &sig),
        UserSigError::MalformedEncoding(_)
    ));
}

#[test]
fn a_zip_bomb_is_stopped_at_the_decompression_limit() {
    let bomb = url_b64(&zlib(&vec![b' '; 4 << 20], Compression::best()));
    assert!(bomb.len() <= usersig::MAX_USER_SIG_BYTES, "{}", bomb.len());
    let e = verify_err(APP, KEY, &bomb);
    assert!(
        matches!(&e, UserSigError::MalformedEncoding(m) if m.contains("16384")),
        "{e}"
    );
    // Exactly at the limit is still parsed (and then fails as JSON, not as encoding).
    let padded = format!("{JSON}{}", " ".repeat(usersig::MAX_JSON_BYTES - JSON.len()));
    assert_eq!(
        usersig::verify(APP, KEY, &pack(&padded), TIME),
        Ok(vector_claims())
    );
}

#[test]
fn zlib_that_is_not_json_is_bad_json() {
    let e = verify_err(APP, KEY, &pack("TLS.identifier:xiaojun"));
    assert!(
        matches!(&e, UserSigError::BadJson(m) if m.contains("not valid JSON")),
        "{e}"
    );
    let e = verify_err(APP, KEY, &pack(r#"["TLS.ver", "2.0"]"#));
    assert!(
        matches!(&e, UserSigError::BadJson(m) if m.contains("not a JSON object")),
        "{e}"
    );
}

#[test]
fn json_missing_a_field_is_bad_json_naming_it() {
    for field in [
        "TLS.ver",
        "TLS.identifier",
        "TLS.sdkappid",
        "TLS.time",
        "TLS.expire",
        "TLS.sig",
    ] {
        let e = verify_err(APP, KEY, &edited(|o| drop(o.remove(field))));
        assert_eq!(e, UserSigError::BadJson(format!("{field} is missing")));
    }
}

#[test]
fn json_with_mistyped_fields_is_bad_json() {
    let cases: [(&str, Value, &str); 6] = [
        (
            "TLS.sdkappid",
            json!("1400000000"),
            "TLS.sdkappid is not a non-negative integer",
        ),
        (
            "TLS.time",
            json!(-1),
            "TLS.time is not a non-negative integer",
        ),
        (
            "TLS.expire",
            json!(1.5),
            "TLS.expire is not a non-negative integer",
        ),
        ("TLS.identifier", json!(7), "TLS.identifier is not a string"),
        (
            "TLS.ver",
            json!("1.0"),
            "TLS.ver is not \"2.0\", the only supported version",
        ),
        (
            "TLS.userbuf",
            json!("%%%"),
            "TLS.userbuf is not valid base64",
        ),
    ];
    for (field, value, message) in cases {
        let e = verify_err(APP, KEY, &edited(|o| drop(o.insert(field.into(), value))));
        assert_eq!(e, UserSigError::BadJson(message.into()), "{field}");
    }
}

#[test]
fn another_sdkappid_is_wrong_sdk_app_id() {
    let e = verify_err(APP + 1, KEY, USERSIG);
    assert_eq!(
        e,
        UserSigError::WrongSdkAppId {
            expected: APP + 1,
            found: APP
        }
    );
    assert_eq!(
        e.to_string(),
        "UserSig is for SDKAppID 1400000000, expected 1400000001"
    );
}

#[test]
fn tampered_content_or_signature_is_bad_signature() {
    let tampered = [
        edited(|o| drop(o.insert("TLS.identifier".into(), json!("mallory")))),
        edited(|o| drop(o.insert("TLS.expire".into(), json!(EXPIRE * 10)))),
        edited(|o| drop(o.insert("TLS.time".into(), json!(TIME + 1)))),
        edited(|o| drop(o.insert("TLS.userbuf".into(), json!("YWJj")))),
        edited(|o| drop(o.insert("TLS.sig".into(), json!(TLS_SIG.replace('L', "M"))))),
        edited(|o| drop(o.insert("TLS.sig".into(), json!("")))),
        edited(|o| drop(o.insert("TLS.sig".into(), json!("not base64!")))),
        edited(|o| drop(o.insert("TLS.sig".into(), json!(&TLS_SIG[..20])))),
    ];
    for sig in tampered {
        assert_eq!(
            verify_err(APP, KEY, &sig),
            UserSigError::BadSignature,
            "{}",
            unpack(&sig)
        );
    }
    // The sdkappid is signed too: a UserSig re-labelled for another app fails.
    let relabelled = edited(|o| drop(o.insert("TLS.sdkappid".into(), json!(APP + 1))));
    assert_eq!(
        verify_err(APP + 1, KEY, &relabelled),
        UserSigError::BadSignature
    );
}

#[test]
fn another_key_is_bad_signature() {
    for key in [
        "",
        "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5f",
        &KEY.to_uppercase(),
    ] {
        assert_eq!(
            verify_err(APP, key, USERSIG),
            UserSigError::BadSignature,
            "{key}"
        );
    }
    // The key is used as text, not hex-decoded.
    let hex_decoded: Vec<u8> = (0..KEY.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&KEY[i..i + 2], 16).unwrap())
        .collect();
    assert!(std::str::from_utf8(&hex_decoded).is_err());
}

#[test]
fn a_signature_check_comes_before_the_expiry_check() {
    // A forged UserSig says "bad signature", never "expired": expiry is only reported for authentic sigs.
    assert_eq!(
        usersig::verify(APP, "wrong", USERSIG, u64::MAX),
        Err(UserSigError::BadSignature)
    );
}

#[test]
fn an_old_usersig_is_expired() {
    let sig = usersig::generate(APP, KEY, ID, 10, TIME - 3600);
    let e = usersig::verify(APP, KEY, &sig, TIME).unwrap_err();
    assert_eq!(
        e,
        UserSigError::Expired {
            expired_at: TIME - 3590
        }
    );
    assert!(!e.to_string().contains(KEY));
}

#[test]
fn another_users_usersig_is_identifier_mismatch() {
    let e = usersig::verify_for_user(APP, KEY, USERSIG, "alice", TIME).unwrap_err();
    assert_eq!(
        e,
        UserSigError::IdentifierMismatch {
            expected: "alice".into(),
            found: ID.into()
        }
    );
    assert_eq!(
        e.to_string(),
        r#"UserSig was issued to user "xiaojun", not "alice""#
    );
    // Case matters.
    assert!(usersig::verify_for_user(APP, KEY, USERSIG, "XiaoJun", TIME).is_err());
}

// --- userbuf --------------------------------------------------------------

#[test]
fn userbuf_round_trips() {
    for buf in [
        &b"abc"[..],
        b"",
        b"\x00\xff\x10 binary \n bytes",
        &[7u8; 300],
    ] {
        let sig = usersig::generate_with_userbuf(APP, KEY, ID, 60, TIME, buf);
        let claims = usersig::verify_for_user(APP, KEY, &sig, ID, TIME).unwrap();
        assert_eq!(claims.userbuf.as_deref(), Some(buf));
        assert_eq!(claims.identifier, ID);
        // Removing the userbuf breaks the signature, even an empty one.
        let json: Value = serde_json::from_str(&unpack(&sig)).unwrap();
        let mut obj = json.as_object().unwrap().clone();
        obj.remove("TLS.userbuf");
        assert_eq!(
            usersig::verify(APP, KEY, &pack(&Value::Object(obj).to_string()), TIME),
            Err(UserSigError::BadSignature)
        );
    }
}

#[test]
fn userbuf_json_matches_the_reference_layout() {
    let sig = usersig::generate_with_userbuf(APP, KEY, ID, EXPIRE, TIME, b"abc");
    assert_eq!(
        unpack(&sig),
        r#"{"TLS.ver": "2.0", "TLS.identifier": "xiaojun", "TLS.sdkappid": 1400000000, "TLS.expire": 15552000, "TLS.time": 1700000000, "TLS.userbuf": "YWJj", "TLS.sig": "QjT201xPkXk/aM1e+y0vakZb0K2iPrFue++0s5y6bFM="}"#
    );
}

// --- vectors from Tencent's Python library (tests/data/usersig-vectors.txt) ---

struct Vector {
    sdkappid: u64,
    key: String,
    identifier: String,
    time: u64,
    expire: u64,
    userbuf: Option<Vec<u8>>,
    tls_sig: String,
    usersig: String,
}

fn reference_vectors() -> Vec<Vector> {
    let text = include_str!("data/usersig-vectors.txt");
    let body: String = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    body.split("\n\n")
        .filter(|block| !block.trim().is_empty())
        .map(|block| {
            let field = |name: &str| {
                block
                    .lines()
                    .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix('=')))
                    .map(str::to_owned)
            };
            let need = |name: &str| {
                field(name).unwrap_or_else(|| panic!("vector without {name}: {block}"))
            };
            Vector {
                sdkappid: need("sdkappid").parse().unwrap(),
                key: need("key"),
                identifier: need("identifier"),
                time: need("time").parse().unwrap(),
                expire: need("expire").parse().unwrap(),
                userbuf: field("userbuf_b64").map(|b| STANDARD.decode(b).unwrap()),
                tls_sig: need("tls_sig"),
                usersig: need("usersig"),
            }
        })
        .collect()
}

#[test]
fn the_vector_file_holds_the_brief_vector_and_a_variety() {
    let vs = reference_vectors();
    assert_eq!(vs.len(), 8);
    assert!(vs
        .iter()
        .any(|v| v.usersig == USERSIG && v.tls_sig == TLS_SIG));
    assert!(vs.iter().any(|v| v.userbuf.as_deref() == Some(b"")));
    assert!(vs.iter().any(|v| !v.identifier.is_ascii()));
}

#[test]
fn every_reference_vector_verifies() {
    for v in reference_vectors() {
        let claims = usersig::verify_for_user(
            v.sdkappid,
            &v.key,
            &v.usersig,
            &v.identifier,
            v.time + v.expire,
        )
        .unwrap_or_else(|e| panic!("{}: {e}", v.identifier));
        let expected = UserSigClaims {
            identifier: v.identifier.clone(),
            sdkappid: v.sdkappid,
            time: v.time,
            expire: v.expire,
            userbuf: v.userbuf.clone(),
        };
        assert_eq!(claims, expected);
        let e = usersig::verify(v.sdkappid, &v.key, &v.usersig, v.time + v.expire + 1).unwrap_err();
        assert_eq!(
            e,
            UserSigError::Expired {
                expired_at: v.time + v.expire
            },
            "{}",
            v.identifier
        );
        assert_eq!(
            usersig::verify(v.sdkappid, "wrong key", &v.usersig, v.time),
            Err(UserSigError::BadSignature)
        );
    }
}

#[test]
fn generate_reproduces_every_reference_signature() {
    for v in reference_vectors() {
        let ours = match &v.userbuf {
            None => usersig::generate(v.sdkappid, &v.key, &v.identifier, v.expire, v.time),
            Some(b) => usersig::generate_with_userbuf(
                v.sdkappid,
                &v.key,
                &v.identifier,
                v.expire,
                v.time,
                b,
            ),
        };
        let ours_json: Value = serde_json::from_str(&unpack(&ours)).unwrap();
        let theirs_json: Value = serde_json::from_str(&unpack(&v.usersig)).unwrap();
        assert_eq!(ours_json["TLS.sig"], v.tls_sig.as_str(), "{}", v.identifier);
        assert_eq!(ours_json, theirs_json, "{}", v.identifier);
        if v.identifier.is_ascii() {
            // Python escapes non-ASCII as \uXXXX; otherwise the text is identical too.
            assert_eq!(unpack(&ours), unpack(&v.usersig), "{}", v.identifier);
        }
    }
}
