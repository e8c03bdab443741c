//! The sync engine: makes the CRM calendar a two-way mirror of each user's provider calendar.
//!
//! - [`connections`]: calendar connections — validated against the provider before anything is
//!   stored, secrets sealed with AES-256-GCM ([`secrets`]), OAuth tokens refreshed before they
//!   expire; one code path for the command line and the web UI.
//! - [`queue`]: the worker side of the durable job queue (leases renewed while a job runs,
//!   back-off with jitter honouring the provider's, a log of every run).
//! - [`engine`]: runs the jobs and reports status; [`inbound`] brings provider changes in,
//!   [`outbound`] writes CRM changes out, [`fields`] holds the three-way merge both use,
//!   [`push`] keeps push subscriptions and hears notifications, [`meetings`] is the CRM's edit
//!   API (meeting + job in one transaction; who may change what by `domain::access`),
//!   [`lanes`] gives colleagues' busy times for the editor (the provider asked where the
//!   CRM's copy is stale).

pub mod connections;
pub mod engine;
pub mod fields;
mod inbound;
pub mod lanes;
pub mod meetings;
mod outbound;
mod plan;
pub mod push;
pub mod queue;
pub mod secrets;

pub use engine::{Engine, Live, LiveEvent, Silent, SyncConfig, SyncStatus};
pub use meetings::{EditError, MeetingInput, MoveQuestion, ViewedMeeting};
pub use push::Heard;
