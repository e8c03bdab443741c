//! Opaque identifiers on the wire. Singles and series masters use the model's event id (already
//! shaped like an Exchange ItemId). Occurrences and exceptions have ids of their own that
//! decode to their master and original start, as Exchange's occurrence ids embed both.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, Utc};

const OCC: &str = "EmuOcc\u{1}";
const FOLDER: &str = "EmuFld\u{1}";

pub fn occurrence_id(master_id: &str, original_start: DateTime<Utc>) -> String {
    STANDARD.encode(format!("{OCC}{master_id}\u{1}{}", original_start.timestamp()))
}

/// `Some((master, original start))` when `id` is an occurrence id.
pub fn parse_occurrence_id(id: &str) -> Option<(String, DateTime<Utc>)> {
    let raw = STANDARD.decode(id.trim()).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let rest = text.strip_prefix(OCC)?;
    let (master, ts) = rest.split_once('\u{1}')?;
    let t = DateTime::from_timestamp(ts.parse().ok()?, 0)?;
    Some((master.to_string(), t))
}

/// The well-known folders an emulated mailbox has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Folder {
    Root,
    MsgFolderRoot,
    Calendar,
}

impl Folder {
    pub fn distinguished(name: &str) -> Option<Folder> {
        match name {
            "root" => Some(Folder::Root),
            "msgfolderroot" => Some(Folder::MsgFolderRoot),
            "calendar" => Some(Folder::Calendar),
            _ => None,
        }
    }
    fn key(self) -> &'static str {
        match self {
            Folder::Root => "root",
            Folder::MsgFolderRoot => "msgfolderroot",
            Folder::Calendar => "calendar",
        }
    }
    pub fn display_name(self) -> &'static str {
        match self {
            Folder::Root => "",
            Folder::MsgFolderRoot => "Top of Information Store",
            Folder::Calendar => "Calendar",
        }
    }
    pub fn parent(self) -> Option<Folder> {
        match self {
            Folder::Root => None,
            Folder::MsgFolderRoot => Some(Folder::Root),
            Folder::Calendar => Some(Folder::MsgFolderRoot),
        }
    }
}

pub fn folder_id(mailbox: &str, folder: Folder) -> String {
    STANDARD.encode(format!("{FOLDER}{}\u{1}{}", mailbox.to_ascii_lowercase(), folder.key()))
}

pub fn parse_folder_id(id: &str) -> Option<(String, Folder)> {
    let raw = STANDARD.decode(id.trim()).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (mailbox, key) = text.strip_prefix(FOLDER)?.split_once('\u{1}')?;
    Some((mailbox.to_string(), Folder::distinguished(key)?))
}

/// Folders never change in the emulator, so their ChangeKey is constant.
pub const FOLDER_CHANGE_KEY: &str = "AQAAABYAAAAAAAAAAAAAAAAAAAAA";

/// Pull-subscription watermark: the calendar's change number at that point.
pub fn watermark(sub_id: &str, seq: u64) -> String {
    STANDARD.encode(format!("EmuWm\u{1}{sub_id}\u{1}{seq}"))
}

pub fn parse_watermark(wm: &str) -> Option<(String, u64)> {
    let raw = STANDARD.decode(wm.trim()).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (sub, seq) = text.strip_prefix("EmuWm\u{1}")?.split_once('\u{1}')?;
    Some((sub.to_string(), seq.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{new_event_id, utc, Provider};

    #[test]
    fn ids_round_trip_and_do_not_collide() {
        let master = new_event_id(Provider::Ews);
        let occ = occurrence_id(&master, utc(2026, 1, 5, 9, 0));
        assert_eq!(parse_occurrence_id(&occ), Some((master.clone(), utc(2026, 1, 5, 9, 0))));
        assert_eq!(parse_occurrence_id(&master), None);
        assert_eq!(parse_folder_id(&folder_id("A@x.org", Folder::Calendar)), Some(("a@x.org".into(), Folder::Calendar)));
        assert_eq!(parse_folder_id(&occ), None);
        assert_eq!(parse_watermark(&watermark("s1", 42)), Some(("s1".into(), 42)));
    }
}
