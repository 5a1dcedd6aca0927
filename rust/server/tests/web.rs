//! The web client's files, `/config.json` and the development UserSig
//! endpoint, over real HTTP on loopback.

mod common;

use common::*;
use hotline_proto::usersig;
use hotline_server::web::FILES;
use serde_json::Value;

/// A parsed HTTP/1.1 response.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn json(&self) -> Value {
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "{}",
            self.body
        );
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// GET `path` exactly as written (no normalisation), over a fresh connection.
async fn get(s: &TestServer, path: &str) -> Reply {
    let raw = http_get(&s.http(path)).await;
    let (head, body) = raw.split_once("\r\n\r\n").expect("a complete response");
    let mut lines = head.lines();
    let status = lines.next().unwrap().split(' ').nth(1).unwrap();
    let headers = lines
        .map(|l| {
            let (k, v) = l.split_once(':').unwrap();
            (k.trim().to_string(), v.trim().to_string())
        })
        .collect();
    Reply {
        status: status.parse().unwrap(),
        headers,
        body: body.to_string(),
    }
}

#[tokio::test]
async fn the_root_serves_the_web_client_page() {
    let s = server().await;
    let r = get(&s, "/").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(r.header("cache-control"), Some("no-cache"));
    let index = FILES.iter().find(|f| f.0 == "index.html").unwrap();
    assert_eq!(r.body, index.2);
}

#[tokio::test]
async fn every_file_in_the_table_is_served_with_its_content_type() {
    let s = server().await;
    assert_eq!(FILES.len(), 7);
    for (name, content_type, content) in FILES {
        let r = get(&s, &format!("/{name}")).await;
        assert_eq!(r.status, 200, "/{name}");
        assert_eq!(r.header("content-type"), Some(*content_type), "/{name}");
        assert_eq!(r.header("cache-control"), Some("no-cache"), "/{name}");
        assert_eq!(r.body, *content, "/{name}");
        let expected = match name.rsplit('.').next().unwrap() {
            "html" => "text/html; charset=utf-8",
            "css" => "text/css; charset=utf-8",
            "js" => "text/javascript; charset=utf-8",
            other => panic!("unexpected extension {other}"),
        };
        assert_eq!(*content_type, expected, "/{name}");
    }
    for path in ["/nope.js", "/web/app.js", "/index.htm"] {
        assert_eq!(get(&s, path).await.status, 404, "{path}");
    }
}

#[tokio::test]
async fn dev_usersig_is_off_by_default_and_says_how_to_get_one() {
    let s = server().await;
    let r = get(&s, "/dev/usersig?user_id=alice").await;
    assert_eq!(r.status, 404);
    let error = r.json()["error"].as_str().unwrap().to_string();
    assert!(error.contains("--dev-usersig"), "{error}");
    assert!(error.contains("backend"), "{error}");
    assert!(!r.body.contains("user_sig"), "{}", r.body);
}

#[tokio::test]
async fn dev_usersig_issues_a_day_long_usersig_for_valid_users_only() {
    let s = server_with(|c| c.dev_usersig = true).await;
    let r = get(&s, "/dev/usersig?user_id=alice_01-x").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["sdk_app_id"], APP);
    assert_eq!(v["user_id"], "alice_01-x");
    assert_eq!(v["expire_s"], 86400);
    let sig = v["user_sig"].as_str().unwrap();
    let claims = usersig::verify_for_user(APP, KEY, sig, "alice_01-x", now_s()).unwrap();
    assert_eq!(claims.expire, 86400);
    assert!(claims.time.abs_diff(now_s()) <= 5, "{claims:?}");
    assert!(usersig::verify_for_user(APP, KEY, sig, "bob", now_s()).is_err());
    assert!(usersig::verify_for_user(APP, KEY, sig, "alice_01-x", now_s() + 86401).is_err());

    let too_long = "a".repeat(40);
    for (query, needle) in [
        ("user_id=bad%20user!", "contains"),
        ("user_id=bad+user!", "contains"),
        (&format!("user_id={too_long}") as &str, "40 bytes"),
        ("user_id=", "empty"),
        ("", "empty"),
    ] {
        let r = get(&s, &format!("/dev/usersig?{query}")).await;
        assert_eq!(r.status, 400, "{query}: {}", r.body);
        let error = r.json()["error"].as_str().unwrap().to_string();
        assert!(error.contains(needle), "{query}: {error}");
    }
}

#[tokio::test]
async fn config_json_reflects_the_dev_usersig_flag() {
    let s = server().await;
    let r = get(&s, "/config.json").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json(),
        serde_json::json!({"ws_path": "/ws", "dev_usersig": false, "sdk_app_id": APP, "protocol_version": 1})
    );
    let s = server_with(|c| c.dev_usersig = true).await;
    let v = get(&s, "/config.json").await.json();
    assert_eq!(v["dev_usersig"], true);
    assert_eq!(v["ws_path"], "/ws");
    assert!(s.url().ends_with(v["ws_path"].as_str().unwrap()));
}

#[tokio::test]
async fn web_dir_replaces_the_embedded_files_and_serves_nothing_else() {
    let web = tempfile::tempdir().unwrap();
    std::fs::write(web.path().join("index.html"), "<p>custom</p>\n").unwrap();
    std::fs::write(web.path().join("secret"), "do not serve\n").unwrap();
    std::fs::write(web.path().join("extra.js"), "// not in the table\n").unwrap();
    let dir = web.path().to_path_buf();
    let s = server_with(move |c| c.web_dir = Some(dir)).await;

    let r = get(&s, "/").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, "<p>custom</p>\n");
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(get(&s, "/index.html").await.body, "<p>custom</p>\n");

    // Read per request: an edit shows at once.
    std::fs::write(web.path().join("index.html"), "<p>edited</p>\n").unwrap();
    assert_eq!(get(&s, "/").await.body, "<p>edited</p>\n");

    // A table file missing from the directory is a 404, not the embedded copy.
    assert_eq!(get(&s, "/app.js").await.status, 404);
    std::fs::write(web.path().join("app.js"), "// dev\n").unwrap();
    let r = get(&s, "/app.js").await;
    assert_eq!((r.status, r.body.as_str()), (200, "// dev\n"));
    assert_eq!(
        r.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );

    // Nothing outside the table, and no way out of the directory.
    for path in [
        "/secret",
        "/extra.js",
        "/..%2Fsecret",
        "/%2e%2e/Cargo.toml",
        "/../Cargo.toml",
        "/..%2F..%2FCargo.toml",
        "/app.js/../secret",
        "//etc/passwd",
    ] {
        let r = get(&s, path).await;
        assert_eq!(r.status, 404, "{path}: {}", r.body);
        assert!(!r.body.contains("do not serve"), "{path}");
    }
}

#[tokio::test]
async fn a_web_dir_that_does_not_exist_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    c.web_dir = Some(dir.path().join("missing"));
    let e = hotline_server::start(c).await.err().expect("refused");
    assert!(e.to_string().contains("web_dir"), "{e}");
}
