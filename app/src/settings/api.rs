//! The settings page's server functions: what the page needs besides the user (the time
//! zones) and saving the user's choices. (The calendar connection has its own: `connect`.)

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::me::Me;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SettingsData {
    /// Every IANA time zone name (the list the time zone field searches).
    pub zones: Vec<String>,
    /// The user's calendar is connected (the page opens its set-up form when not).
    pub connected: bool,
}

/// The settings form as the user sets it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsForm {
    /// `en`, `da`, or empty: the browser's language.
    pub language: String,
    pub time_zone: String,
    /// 0 = Monday … 6 = Sunday.
    pub week_start: u8,
    pub default_view: String,
    pub show_weekends: bool,
    /// `HH:MM`.
    pub work_start: String,
    pub work_end: String,
    /// Bit 0 = Monday … bit 6 = Sunday.
    pub work_days: u8,
}

#[server(endpoint = "settings", input = crate::codec::Json, output = crate::codec::Json)]
pub async fn get_settings() -> Result<SettingsData, AppError> {
    crate::error::respond(server::load().await)
}

/// Saves the settings; returns the user as they now are (the page applies it at once).
#[server(endpoint = "settings-save", input = crate::codec::Json, output = crate::codec::Json)]
pub async fn save_settings(form: SettingsForm) -> Result<Me, AppError> {
    crate::error::respond(server::save(form).await)
}

#[cfg(feature = "ssr")]
mod server {
    use super::*;
    use crate::state::Ctx;
    use domain::tz::{parse_tz, Tz};
    use domain::{CalendarView, Problem};

    pub async fn load() -> Result<SettingsData, AppError> {
        let ctx = Ctx::signed_in().await?;
        let connected = ctx.store.connection_of_user(ctx.tenant(), &ctx.user.id).await?.is_some();
        Ok(SettingsData { zones: domain::tz::zone_names().map(str::to_string).collect(), connected })
    }

    fn minutes(field: &str, s: &str) -> Result<i64, AppError> {
        let t = chrono::NaiveTime::parse_from_str(s.trim(), "%H:%M").map_err(|_| AppError::field(field, Problem::NotATime))?;
        Ok(i64::from(chrono::Timelike::hour(&t)) * 60 + i64::from(chrono::Timelike::minute(&t)))
    }

    pub async fn save(f: SettingsForm) -> Result<Me, AppError> {
        let ctx = Ctx::signed_in().await?;
        if !["", "en", "da"].contains(&f.language.as_str()) {
            return Err(AppError::field("language", Problem::NotAChoice));
        }
        let tz: Tz = parse_tz(f.time_zone.trim()).ok_or_else(|| AppError::field("time_zone", Problem::UnknownTimeZone))?;
        if f.week_start > 6 {
            return Err(AppError::field("week_start", Problem::NotAChoice));
        }
        let view = CalendarView::parse(Some(&f.default_view)).ok_or_else(|| AppError::field("default_view", Problem::NotAChoice))?;
        let (start, end) = (minutes("work_start", &f.work_start)?, minutes("work_end", &f.work_end)?);
        if end <= start || f.work_days & 0x7f == 0 {
            return Err(AppError::field("work", Problem::WorkingHours));
        }
        let settings = store::UserSettings {
            locale: f.language,
            time_zone: tz.name().to_string(),
            week_start: i64::from(f.week_start),
            default_view: view.as_str().to_string(),
            show_weekends: f.show_weekends,
            work_start: start,
            work_end: end,
            work_days: i64::from(f.work_days & 0x7f),
        };
        ctx.store.set_user_settings(ctx.tenant(), &ctx.user.id, &settings).await?;
        let user = ctx.store.user(ctx.tenant(), &ctx.user.id).await?;
        Ok(crate::me::server::me(&user))
    }
}
