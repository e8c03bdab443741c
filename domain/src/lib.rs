//! Shared meeting types and pure calendar logic. No I/O: compiled into the server and into the
//! browser's WebAssembly alike, so both sides agree on dates, ranges and layout.

pub mod access;
pub mod audit;
pub mod calendar;
pub mod connection;
pub mod event;
pub mod html;
pub mod iso;
pub mod layout;
pub mod message;
pub mod moves;
pub mod search;
#[cfg(feature = "tz")]
pub mod slots;
#[cfg(feature = "recurrence")]
pub mod recurrence;
#[cfg(feature = "tz")]
pub mod tz;
#[cfg(feature = "xml")]
pub mod windows_zones;
#[cfg(feature = "xml")]
pub mod xml;

pub use calendar::{CalendarView, Nav, Span, Title};
pub use connection::{AuthKind, ConnectionStatus, ProviderKind, Refusal, StatusReason};
pub use event::{Answer, CalEvent, Role};
pub use message::{Problem, SyncNotice};
