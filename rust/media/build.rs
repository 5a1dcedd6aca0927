//! Warns when OpenH264 is about to be built without its assembly.
//!
//! openh264-sys2 silently falls back to plain C when `nasm` is missing, and
//! H.264 then runs about three times slower: easy to miss until a call
//! stutters. `./scripts/test.sh` and `./scripts/demo.sh` install nasm.

fn main() {
    println!("cargo:rerun-if-env-changed=NASM");
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    if arch != "x86_64" && arch != "x86" {
        return; // ARM builds use OpenH264's NEON sources, which need no nasm.
    }
    let nasm = std::env::var("NASM").unwrap_or_else(|_| "nasm".into());
    let works = std::process::Command::new(&nasm)
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success());
    if !works {
        println!(
            "cargo:warning=`{nasm} -v` failed: OpenH264 is built without its assembly and H.264 \
             will run about 3x slower. Install nasm (Debian: apt-get install nasm), then \
             `cargo clean -p openh264-sys2`."
        );
    }
}
