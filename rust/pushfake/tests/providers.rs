//! The fakes against a real HTTP/2 + TLS client, signing JWTs the way the
//! server does.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hotline_pushfake::{Answer, FakeProviders};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

const DEVICE: &str = "00fc13adff785122b4ad28809a3420982341241421348097878e577c991de8f0";
const TOPIC: &str = "org.hotline.app.voip";
const FCM_SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
const WAIT: Duration = Duration::from_secs(5);

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn client_builder(fakes: &FakeProviders) -> reqwest::ClientBuilder {
    let ca = reqwest::Certificate::from_pem(fakes.ca_pem().as_bytes()).unwrap();
    reqwest::Client::builder().tls_certs_only([ca])
}

fn client(fakes: &FakeProviders) -> reqwest::Client {
    client_builder(fakes).build().unwrap()
}

fn apns_jwt(fakes: &FakeProviders, kid: &str, team: &str) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(kid.to_owned());
    let key = EncodingKey::from_ec_pem(fakes.apns_key_pem().as_bytes()).unwrap();
    jsonwebtoken::encode(&header, &json!({ "iss": team, "iat": now() }), &key).unwrap()
}

fn good_apns_jwt(fakes: &FakeProviders) -> String {
    apns_jwt(
        fakes,
        FakeProviders::APNS_KEY_ID,
        FakeProviders::APNS_TEAM_ID,
    )
}

fn voip_push(
    client: &reqwest::Client,
    fakes: &FakeProviders,
    device: &str,
    jwt: &str,
) -> reqwest::RequestBuilder {
    client
        .post(format!("{}/3/device/{device}", fakes.apns_url()))
        .header("authorization", format!("bearer {jwt}"))
        .header("apns-push-type", "voip")
        .header("apns-topic", TOPIC)
        .header("apns-priority", "10")
        .header("apns-expiration", "0")
        .body(json!({ "call_id": "c1", "from": "alice" }).to_string())
}

async fn reason(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

#[tokio::test]
async fn apns_accepts_a_correctly_signed_voip_push_over_http2() {
    let fakes = FakeProviders::start().await.unwrap();
    let client = client(&fakes);
    let resp = voip_push(&client, &fakes, DEVICE, &good_apns_jwt(&fakes))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.version(), reqwest::Version::HTTP_2);
    let apns_id = resp.headers()["apns-id"].to_str().unwrap().to_owned();
    assert_eq!(apns_id.len(), 36, "{apns_id}");
    assert!(resp.bytes().await.unwrap().is_empty());

    let got = fakes.wait_for_apns(1, WAIT).await;
    assert_eq!(got.len(), 1);
    let req = &got[0];
    assert_eq!(req.device_token, DEVICE);
    assert!(req.http2 && req.jwt_ok);
    assert!(req.jwt_iat.unwrap().abs_diff(now()) < 5);
    assert_eq!(req.status, 200);
    assert_eq!(req.header("apns-push-type"), Some("voip"));
    assert_eq!(req.header("APNS-TOPIC"), Some(TOPIC));
    assert_eq!(req.body, json!({ "call_id": "c1", "from": "alice" }));

    // The client's own apns-id is echoed.
    let mine = "eabeae54-14a8-11e5-b60b-1697f925ec7b";
    let resp = voip_push(&client, &fakes, DEVICE, &good_apns_jwt(&fakes))
        .header("apns-id", mine)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["apns-id"], mine);
}

#[tokio::test]
async fn apns_refuses_bad_provider_tokens() {
    let fakes = FakeProviders::start().await.unwrap();
    let client = client(&fakes);
    let wrong_kid = apns_jwt(&fakes, "ZZZ999ZZZZ", FakeProviders::APNS_TEAM_ID);
    let resp = voip_push(&client, &fakes, DEVICE, &wrong_kid)
        .send()
        .await
        .unwrap();
    assert_eq!(
        reason(resp).await,
        (403, json!({ "reason": "InvalidProviderToken" }))
    );

    let wrong_team = apns_jwt(&fakes, FakeProviders::APNS_KEY_ID, "ZZZ999ZZZZ");
    let resp = voip_push(&client, &fakes, DEVICE, &wrong_team)
        .send()
        .await
        .unwrap();
    assert_eq!(reason(resp).await.1["reason"], "InvalidProviderToken");

    let mut tampered = good_apns_jwt(&fakes);
    tampered.replace_range(tampered.len() - 4.., "AAAA");
    let resp = voip_push(&client, &fakes, DEVICE, &tampered)
        .send()
        .await
        .unwrap();
    assert_eq!(reason(resp).await.1["reason"], "InvalidProviderToken");

    let resp = client
        .post(format!("{}/3/device/{DEVICE}", fakes.apns_url()))
        .header("apns-topic", TOPIC)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(
        reason(resp).await,
        (403, json!({ "reason": "MissingProviderToken" }))
    );

    let got = fakes.wait_for_apns(4, WAIT).await;
    assert_eq!(got.len(), 4);
    assert!(got.iter().all(|r| !r.jwt_ok && r.status == 403));
}

#[tokio::test]
async fn apns_checks_headers_and_payload_size() {
    let fakes = FakeProviders::start().await.unwrap();
    let client = client(&fakes);
    let jwt = good_apns_jwt(&fakes);
    let url = format!("{}/3/device/{DEVICE}", fakes.apns_url());
    let auth = format!("bearer {jwt}");

    let resp = client
        .post(&url)
        .header("authorization", &auth)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(
        reason(resp).await,
        (400, json!({ "reason": "MissingTopic" }))
    );

    let resp = client
        .post(&url)
        .header("authorization", &auth)
        .header("apns-topic", TOPIC)
        .header("apns-push-type", "ring")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(
        reason(resp).await,
        (400, json!({ "reason": "InvalidPushType" }))
    );

    let big = json!({ "pad": "x".repeat(5200) }).to_string();
    let resp = voip_push(&client, &fakes, DEVICE, &jwt)
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(
        reason(resp).await,
        (413, json!({ "reason": "PayloadTooLarge" }))
    );

    let resp = voip_push(&client, &fakes, "not-hex", &jwt)
        .send()
        .await
        .unwrap();
    assert_eq!(
        reason(resp).await,
        (400, json!({ "reason": "BadDeviceToken" }))
    );
}

#[tokio::test]
async fn apns_plays_scripted_answers_in_order() {
    let fakes = FakeProviders::start().await.unwrap();
    let client = client(&fakes);
    let jwt = good_apns_jwt(&fakes);
    fakes.answer_apns(
        DEVICE,
        vec![
            Answer::status(410, "Unregistered"),
            Answer::retry_after(429, "TooManyRequests", 7),
            Answer::Delay(Duration::from_millis(300)),
        ],
    );

    let resp = voip_push(&client, &fakes, DEVICE, &jwt)
        .send()
        .await
        .unwrap();
    assert!(resp.headers().contains_key("apns-id"));
    let (status, body) = reason(resp).await;
    assert_eq!((status, &body["reason"]), (410, &json!("Unregistered")));
    let ts = body["timestamp"].as_u64().unwrap();
    assert!(
        ts / 1000 >= now() - 5 && ts / 1000 <= now() + 1,
        "timestamp in ms: {ts}"
    );

    let resp = voip_push(&client, &fakes, DEVICE, &jwt)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["retry-after"], "7");
    assert_eq!(
        reason(resp).await,
        (429, json!({ "reason": "TooManyRequests" }))
    );

    let started = std::time::Instant::now();
    let resp = voip_push(&client, &fakes, DEVICE, &jwt)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(300));

    let resp = voip_push(&client, &fakes, DEVICE, &jwt)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let statuses: Vec<u16> = fakes.apns_requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![410, 429, 200, 200]);
}

#[tokio::test]
async fn apns_expired_provider_token_needs_a_new_one() {
    let fakes = FakeProviders::start().await.unwrap();
    let client = client(&fakes);
    let old = good_apns_jwt(&fakes);
    assert_eq!(
        voip_push(&client, &fakes, DEVICE, &old)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    fakes.expire_apns_provider_token();
    let resp = voip_push(&client, &fakes, DEVICE, &old)
        .send()
        .await
        .unwrap();
    assert_eq!(
        reason(resp).await,
        (403, json!({ "reason": "ExpiredProviderToken" }))
    );

    let new = good_apns_jwt(&fakes);
    assert_ne!(new, old);
    assert_eq!(
        voip_push(&client, &fakes, DEVICE, &new)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let jwt_ok: Vec<bool> = fakes.apns_requests().iter().map(|r| r.jwt_ok).collect();
    assert_eq!(jwt_ok, vec![true, false, true]);
}

#[tokio::test]
async fn apns_serves_many_concurrent_streams_on_one_connection() {
    let fakes = FakeProviders::start().await.unwrap();
    let client = client(&fakes);
    let jwt = good_apns_jwt(&fakes);
    // Every push waits, so they can only finish quickly if served at once.
    // One push first, so the client has its HTTP/2 connection to reuse.
    assert_eq!(
        voip_push(&client, &fakes, DEVICE, &jwt)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    fakes.answer_apns(DEVICE, vec![Answer::Delay(Duration::from_millis(500)); 200]);
    let started = std::time::Instant::now();
    let pushes: Vec<_> = (0..200)
        .map(|_| voip_push(&client, &fakes, DEVICE, &jwt).send())
        .collect();
    let mut handles = Vec::new();
    for push in pushes {
        handles.push(tokio::spawn(push));
    }
    for h in handles {
        assert_eq!(h.await.unwrap().unwrap().status(), 200);
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let got = fakes.wait_for_apns(201, WAIT).await;
    assert_eq!(got.len(), 201);
    assert!(got.iter().all(|r| r.http2 && r.status == 200));
    assert_eq!(fakes.apns_connections(), 1);
}

/// The service account's fields a client reads.
struct Account {
    key_pem: String,
    key_id: String,
    email: String,
    token_uri: String,
}

fn account(fakes: &FakeProviders) -> Account {
    let file: Value = serde_json::from_str(&fakes.service_account_json()).unwrap();
    assert_eq!(file["type"], "service_account");
    assert_eq!(file["project_id"], FakeProviders::FCM_PROJECT);
    assert_eq!(file["token_uri"], fakes.token_uri());
    let s = |k: &str| file[k].as_str().unwrap().to_owned();
    Account {
        key_pem: s("private_key"),
        key_id: s("private_key_id"),
        email: s("client_email"),
        token_uri: s("token_uri"),
    }
}

fn assertion(acct: &Account, claims: Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(acct.key_id.clone());
    let key = EncodingKey::from_rsa_pem(acct.key_pem.as_bytes()).unwrap();
    jsonwebtoken::encode(&header, &claims, &key).unwrap()
}

fn good_claims(acct: &Account) -> Value {
    let iat = now();
    json!({ "iss": acct.email, "scope": FCM_SCOPE, "aud": acct.token_uri, "iat": iat, "exp": iat + 3600 })
}

async fn grant(client: &reqwest::Client, acct: &Account, assertion: &str) -> (u16, Value) {
    let form = format!(
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={assertion}"
    );
    let resp = client
        .post(&acct.token_uri)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    reason(resp).await
}

fn fcm_send(
    client: &reqwest::Client,
    fakes: &FakeProviders,
    access_token: &str,
    message: Value,
) -> reqwest::RequestBuilder {
    client
        .post(format!(
            "{}/v1/projects/{}/messages:send",
            fakes.fcm_url(),
            FakeProviders::FCM_PROJECT
        ))
        .header("authorization", format!("Bearer {access_token}"))
        .json(&json!({ "message": message }))
}

fn data_message(token: &str) -> Value {
    json!({ "token": token, "data": { "type": "call", "call_id": "c1" }, "android": { "priority": "HIGH", "ttl": "30s" } })
}

async fn access_token(client: &reqwest::Client, fakes: &FakeProviders) -> String {
    let acct = account(fakes);
    let (status, body) = grant(client, &acct, &assertion(&acct, good_claims(&acct))).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn oauth_grant_gives_a_token_fcm_accepts() {
    let fakes = FakeProviders::start().await.unwrap();
    let client = client(&fakes);
    let acct = account(&fakes);
    let (status, body) = grant(&client, &acct, &assertion(&acct, good_claims(&acct))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3599);
    assert_eq!(fakes.oauth_grants(), 1);
    let token = body["access_token"].as_str().unwrap();

    let resp = fcm_send(&client, &fakes, token, data_message("reg-token-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.version(), reqwest::Version::HTTP_2);
    let (status, body) = reason(resp).await;
    assert_eq!(status, 200, "{body}");
    let name = body["name"].as_str().unwrap();
    assert!(
        name.starts_with("projects/hotline-test/messages/"),
        "{name}"
    );

    let got = fakes.wait_for_fcm(1, WAIT).await;
    assert_eq!(got.len(), 1);
    let req = &got[0];
    assert_eq!(req.project, FakeProviders::FCM_PROJECT);
    assert!(req.access_token_ok && req.http2);
    assert_eq!(req.status, 200);
    assert_eq!(req.registration_token(), Some("reg-token-1"));
    assert_eq!(req.body["message"]["data"]["type"], "call");
}

#[tokio::test]
async fn oauth_refuses_bad_assertions() {
    let fakes = FakeProviders::start().await.unwrap();
    let client = client(&fakes);
    let acct = account(&fakes);

    let mut tampered = assertion(&acct, good_claims(&acct));
    tampered.replace_range(tampered.len() - 4.., "AAAA");
    let (status, body) = grant(&client, &acct, &tampered).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );

    let mut claims = good_claims(&acct);
    claims["aud"] = json!("https://oauth2.googleapis.com/token");
    let (status, body) = grant(&client, &acct, &assertion(&acct, claims)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );

    let mut claims = good_claims(&acct);
    claims["exp"] = json!(now() + 7200);
    let (status, body) = grant(&client, &acct, &assertion(&acct, claims)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );

    let mut claims = good_claims(&acct);
    claims["iss"] = json!("someone@else.iam.gserviceaccount.com");
    let (status, body) = grant(&client, &acct, &assertion(&acct, claims)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );

    let resp = client
        .post(&acct.token_uri)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(reason(resp).await.0, 400);
    assert_eq!(fakes.oauth_grants(), 0);
}

#[tokio::test]
async fn fcm_refuses_unknown_and_expired_access_tokens() {
    let fakes = FakeProviders::start().await.unwrap();
    let client = client(&fakes);
    let resp = fcm_send(&client, &fakes, "ya29.not-issued-here", data_message("t"))
        .send()
        .await
        .unwrap();
    assert!(resp.headers().contains_key("www-authenticate"));
    let (status, body) = reason(resp).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], 401);
    assert_eq!(body["error"]["status"], "UNAUTHENTICATED");

    fakes.set_fcm_access_token_lifetime(0);
    let token = access_token(&client, &fakes).await;
    let resp = fcm_send(&client, &fakes, &token, data_message("t"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);

    fakes.set_fcm_access_token_lifetime(3599);
    let token = access_token(&client, &fakes).await;
    assert_eq!(
        fcm_send(&client, &fakes, &token, data_message("t"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    fakes.expire_fcm_access_tokens();
    assert_eq!(
        fcm_send(&client, &fakes, &token, data_message("t"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );

    let ok: Vec<(bool, u16)> = fakes
        .fcm_requests()
        .iter()
        .map(|r| (r.access_token_ok, r.status))
        .collect();
    assert_eq!(
        ok,
        vec![(false, 401), (false, 401), (true, 200), (false, 401)]
    );
}

#[tokio::test]
async fn fcm_plays_scripted_errors_in_googles_format() {
    let fakes = FakeProviders::start().await.unwrap();
    let client = client(&fakes);
    let token = access_token(&client, &fakes).await;
    fakes.answer_fcm(
        "reg-1",
        vec![
            Answer::retry_after(429, "QUOTA_EXCEEDED", 30),
            Answer::status(404, "UNREGISTERED"),
            Answer::Ok,
        ],
    );

    let resp = fcm_send(&client, &fakes, &token, data_message("reg-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["retry-after"], "30");
    let (status, body) = reason(resp).await;
    assert_eq!(status, 429);
    assert_eq!(body["error"]["status"], "RESOURCE_EXHAUSTED");
    assert_eq!(body["error"]["details"][0]["errorCode"], "QUOTA_EXCEEDED");

    let (status, body) = reason(
        fcm_send(&client, &fakes, &token, data_message("reg-1"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(
        body,
        json!({ "error": {
            "code": 404,
            "message": "Requested entity was not found.",
            "status": "NOT_FOUND",
            "details": [{
                "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                "errorCode": "UNREGISTERED",
            }],
        }})
    );
    assert_eq!(
        fcm_send(&client, &fakes, &token, data_message("reg-1"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        fcm_send(&client, &fakes, &token, data_message("reg-1"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn fcm_refuses_invalid_messages() {
    let fakes = FakeProviders::start().await.unwrap();
    let client = client(&fakes);
    let token = access_token(&client, &fakes).await;
    fakes.answer_fcm("t", vec![Answer::status(500, "INTERNAL")]);

    let bad = json!({ "token": "t", "data": { "ring": true } });
    let (status, body) = reason(fcm_send(&client, &fakes, &token, bad).send().await.unwrap()).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["status"], "INVALID_ARGUMENT");

    let bad = json!({ "token": "t", "android": { "priority": "urgent" } });
    assert_eq!(
        fcm_send(&client, &fakes, &token, bad)
            .send()
            .await
            .unwrap()
            .status(),
        400
    );

    // Refused requests leave scripted answers for the next good one.
    let (status, body) = reason(
        fcm_send(&client, &fakes, &token, data_message("t"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, &body["error"]["status"]),
        (500, &json!("INTERNAL"))
    );

    let resp = client
        .post(format!(
            "{}/v1/projects/other-project/messages:send",
            fakes.fcm_url()
        ))
        .header("authorization", format!("Bearer {token}"))
        .json(&json!({ "message": data_message("t") }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
}

#[tokio::test]
async fn dropping_the_fakes_stops_them() {
    let fakes = FakeProviders::start().await.unwrap();
    let pooled = client(&fakes);
    let url = fakes.apns_url();
    let jwt = good_apns_jwt(&fakes);
    assert_eq!(
        voip_push(&pooled, &fakes, DEVICE, &jwt)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let fresh = client(&fakes);
    drop(fakes);
    tokio::time::sleep(Duration::from_millis(50)).await;
    // Neither a new connection nor the pooled one gets an answer.
    assert!(fresh
        .post(format!("{url}/3/device/{DEVICE}"))
        .send()
        .await
        .is_err());
    let reused = pooled
        .post(format!("{url}/3/device/{DEVICE}"))
        .header("authorization", format!("bearer {jwt}"))
        .send();
    assert!(reused.await.is_err());
}

#[tokio::test]
async fn apns_speaks_only_http2_and_google_both() {
    let fakes = FakeProviders::start().await.unwrap();
    let http1 = client_builder(&fakes).http1_only().build().unwrap();
    let jwt = good_apns_jwt(&fakes);
    assert!(voip_push(&http1, &fakes, DEVICE, &jwt)
        .send()
        .await
        .is_err());

    let acct = account(&fakes);
    let (status, body) = grant(&http1, &acct, &assertion(&acct, good_claims(&acct))).await;
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().unwrap();
    let resp = fcm_send(&http1, &fakes, token, data_message("t"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.version(), reqwest::Version::HTTP_11);
    assert_eq!(resp.status(), 200);
    assert!(!fakes.wait_for_fcm(1, WAIT).await[0].http2);
}
