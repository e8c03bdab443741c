//! The store's own suites use the shared test databases (`store::testing`).

#![allow(unused_imports)]

pub use store::testing::{on_each_backend, with_database, TestDb};
