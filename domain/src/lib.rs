//! Shared meeting types and pure calendar logic. No I/O: compiled into the server and into the
//! browser's WebAssembly alike, so both sides agree on dates, ranges and layout.

pub mod calendar;
pub mod event;
pub mod layout;
#[cfg(feature = "recurrence")]
pub mod recurrence;
#[cfg(feature = "tz")]
pub mod tz;
#[cfg(feature = "xml")]
pub mod windows_zones;
#[cfg(feature = "xml")]
pub mod xml;

pub use calendar::{CalendarView, Nav};
pub use event::{CalEvent, Role};
