//! The administration audit log: who changed what in a company's setup, and when. Entries are
//! written where the change is made (the sync engine for calendar connections and the
//! integration switch) and read by administrators on the Configuration pages.

use serde::{Deserialize, Serialize};

use crate::{AuthKind, ProviderKind};

/// Who made a change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// The CRM user; None: an operator on the command line.
    pub user_id: Option<String>,
    /// Their name as it was then (an entry outlives renames and removed users).
    pub name: String,
}

impl Actor {
    pub fn user(user_id: &str, name: &str) -> Actor {
        Actor { user_id: Some(user_id.to_string()), name: name.to_string() }
    }

    /// An operator running `crmcal` on the server.
    pub fn operator() -> Actor {
        Actor { user_id: None, name: String::new() }
    }
}

/// What was changed. The names of users and mailboxes are kept as they were.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// The company's calendar integration switched on or off (F-ADM-1).
    Integration { on: bool },
    /// A user's calendar connected (F-ADM-3 … F-ADM-6).
    CalendarConnected { user: String, mailbox: String, provider: ProviderKind, auth: AuthKind },
    /// A user's calendar disconnected (F-ADM-10).
    CalendarDisconnected { user: String, mailbox: String, provider: ProviderKind },
    /// An Exchange service account's password changed for the calendars it signs in to.
    ServiceAccountPassword { account: String, calendars: u32 },
}

/// One entry of the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub id: String,
    /// Milliseconds since the epoch.
    pub at: i64,
    pub actor: Actor,
    pub action: Action,
}
