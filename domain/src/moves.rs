//! Creating and moving meetings by hand on the calendar (F-CAL-8, F-X-10): which times a
//! click, a drag or an arrow key makes. Pure, so the browser and the tests agree.

use chrono::{NaiveDateTime, TimeDelta};

/// A click on the grid makes a meeting of one slot; a drag covers whole slots.
pub const SLOT_MINUTES: i64 = 30;
/// Moves and resizes go in steps of this.
pub const STEP_MINUTES: i64 = 15;
const DAY: i64 = 24 * 60;

fn floor_to(m: i64, step: i64) -> i64 {
    m.div_euclid(step) * step
}

/// Rounds a drag distance to whole steps.
pub fn round_to_step(minutes: i64) -> i64 {
    (minutes as f64 / STEP_MINUTES as f64).round() as i64 * STEP_MINUTES
}

/// The minutes of a day (from, to) that a click at `a` (a == b) or a drag from `a` to `b`
/// covers: the whole slots under both ends.
pub fn slot_range(a: i64, b: i64) -> (i64, i64) {
    let (lo, hi) = (a.min(b).clamp(0, DAY - 1), a.max(b).clamp(0, DAY - 1));
    (floor_to(lo, SLOT_MINUTES), (floor_to(hi, SLOT_MINUTES) + SLOT_MINUTES).min(DAY))
}

/// The meeting moved by whole `days` and by `minutes` (rounded to steps); it keeps its length.
pub fn moved(start: NaiveDateTime, end: NaiveDateTime, days: i64, minutes: i64) -> (NaiveDateTime, NaiveDateTime) {
    let by = TimeDelta::days(days) + TimeDelta::minutes(round_to_step(minutes));
    (start + by, end + by)
}

/// The meeting's end moved by `minutes` (rounded to steps); it stays at least one step long.
pub fn resized(start: NaiveDateTime, end: NaiveDateTime, minutes: i64) -> (NaiveDateTime, NaiveDateTime) {
    let new_end = end + TimeDelta::minutes(round_to_step(minutes));
    (start, new_end.max(start + TimeDelta::minutes(STEP_MINUTES)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::tests::dt;

    #[test]
    fn a_click_makes_one_slot_and_a_drag_covers_whole_slots() {
        // F-CAL-8
        assert_eq!(slot_range(9 * 60 + 10, 9 * 60 + 10), (540, 570));
        assert_eq!(slot_range(9 * 60 + 40, 9 * 60 + 40), (570, 600));
        assert_eq!(slot_range(11 * 60 + 5, 9 * 60 + 20), (540, 690)); // dragged upwards
        assert_eq!(slot_range(23 * 60 + 50, 23 * 60 + 59), (1410, 1440));
        assert_eq!(slot_range(-20, 5), (0, 30));
    }

    #[test]
    fn moves_keep_the_length_and_go_in_quarter_hours() {
        // F-X-10
        let (s, e) = (dt("2026-11-26 09:00"), dt("2026-11-26 10:30"));
        assert_eq!(moved(s, e, 1, 37), (dt("2026-11-27 09:30"), dt("2026-11-27 11:00")));
        assert_eq!(moved(s, e, 0, -7), (dt("2026-11-26 09:00"), dt("2026-11-26 10:30")), "to the nearest quarter");
        assert_eq!(moved(s, e, -1, -60), (dt("2026-11-25 08:00"), dt("2026-11-25 09:30")));
        assert_eq!(resized(s, e, 29), (s, dt("2026-11-26 11:00")));
        assert_eq!(resized(s, e, -600), (s, dt("2026-11-26 09:15")), "never shorter than a step");
    }
}
