//! The sync engine. So far: calendar connections — validated against the provider before
//! anything is stored, secrets sealed with AES-256-GCM ([`secrets`]) — used alike by the
//! `crmcal connections` command line and (next) the web UI.

pub mod connections;
pub mod secrets;
