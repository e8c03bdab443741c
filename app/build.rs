//! The string catalogue is read by a macro (`catalogue.rs`), which cargo does not know
//! depends on `locales/`: without this, a changed translation left a stale build.
fn main() {
    println!("cargo:rerun-if-changed=locales");
}
