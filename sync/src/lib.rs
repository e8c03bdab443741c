//! The sync engine. So far: calendar connections — validated against the provider before
//! anything is stored, secrets sealed with AES-256-GCM ([`secrets`]) — used alike by the
//! `crmcal connections` command line and (next) the web UI; and the worker side of the durable
//! job queue ([`queue`]: leases, back-off with jitter honouring the provider's).

pub mod connections;
pub mod queue;
pub mod secrets;
