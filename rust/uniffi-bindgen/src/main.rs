//! `uniffi-bindgen`, built from the same UniFFI version as `hotline-ffi`
//! (the generator and the scaffolding must match). See `scripts/bindings.sh`.

fn main() {
    uniffi::uniffi_bindgen_main()
}
