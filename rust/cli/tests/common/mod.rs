//! Running the built `hotline` binary in tests: a server process, children
//! bounded in time, and their JSON lines.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_hotline");
pub const APP: &str = "1400000000";
pub const KEY: &str = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";
/// No process in these tests may run longer than this.
pub const LIMIT: Duration = Duration::from_secs(90);

pub fn hotline() -> Command {
    let mut c = Command::new(BIN);
    c.env("RUST_LOG", "warn,rtc=error,rtc_dtls=error,rtc_ice=error")
        .env_remove("HOTLINE_LISTEN")
        .env_remove("HOTLINE_DB")
        .env_remove("HOTLINE_DEV_USERSIG")
        .env_remove("HOTLINE_WEB_DIR");
    c
}

/// Wait for a child with a deadline (killed if it overruns); collect its output.
pub fn finish(mut child: Child, what: &str) -> Output {
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let readers = [
        std::thread::spawn(move || {
            let mut s = Vec::new();
            if let Some(o) = stdout.as_mut() {
                let _ = o.read_to_end(&mut s);
            }
            s
        }),
        std::thread::spawn(move || {
            let mut s = Vec::new();
            if let Some(e) = stderr.as_mut() {
                let _ = e.read_to_end(&mut s);
            }
            s
        }),
    ];
    let deadline = Instant::now() + LIMIT;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} ran longer than {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let [out, err] = readers.map(|r| r.join().unwrap());
    Output {
        status,
        stdout: out,
        stderr: err,
    }
}

pub fn json_lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

pub struct Server(pub Child, pub String);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn server(dir: &Path) -> Server {
    let mut child = hotline()
        .args(["server", "--listen", "127.0.0.1:0", "--sdk-app-id", APP])
        .args(["--secret-key", KEY, "--db"])
        .arg(dir.join("hotline.db"))
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("ws://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .to_string();
    Server(child, url)
}
