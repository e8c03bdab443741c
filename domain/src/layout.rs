//! Where meetings sit on the grid: overlapping timed meetings side by side within a day column,
//! all-day and multi-day meetings in stacked lanes of the all-day row (F-CAL-4).

use crate::event::CalEvent;
use chrono::{NaiveDate, TimeDelta};

/// Column assignment of one interval in a cluster of overlapping intervals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Columns {
    pub column: usize,
    pub columns: usize,
}

/// Lays out half-open intervals `[start, end)` side by side. Intervals that overlap (directly
/// or through a chain) form a cluster; each takes the leftmost column free at its start, and
/// every member of a cluster gets the cluster's column count, so widths line up.
/// Zero-length intervals are treated as one unit long so they still get a place.
pub fn overlap_columns(intervals: &[(i64, i64)]) -> Vec<Columns> {
    let mut order: Vec<usize> = (0..intervals.len()).collect();
    // Earlier first; of equal starts, the longer first (it reads better on the left).
    order.sort_by_key(|&i| (intervals[i].0, -(intervals[i].1 - intervals[i].0), i));
    let end_of = |i: usize| intervals[i].1.max(intervals[i].0 + 1);

    let mut out = vec![Columns { column: 0, columns: 1 }; intervals.len()];
    let mut cluster: Vec<usize> = Vec::new();
    let mut column_ends: Vec<i64> = Vec::new();
    let mut cluster_end = i64::MIN;

    let close = |cluster: &mut Vec<usize>, column_ends: &mut Vec<i64>, out: &mut Vec<Columns>| {
        for &i in cluster.iter() {
            out[i].columns = column_ends.len();
        }
        cluster.clear();
        column_ends.clear();
    };

    for &i in &order {
        let (start, end) = (intervals[i].0, end_of(i));
        if !cluster.is_empty() && start >= cluster_end {
            close(&mut cluster, &mut column_ends, &mut out);
        }
        let column = match column_ends.iter().position(|&e| e <= start) {
            Some(c) => {
                column_ends[c] = end;
                c
            }
            None => {
                column_ends.push(end);
                column_ends.len() - 1
            }
        };
        out[i].column = column;
        cluster.push(i);
        cluster_end = if cluster.len() == 1 { end } else { cluster_end.max(end) };
    }
    close(&mut cluster, &mut column_ends, &mut out);
    out
}

/// A timed meeting placed in one day's column. Minutes are from that day's midnight.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimedBox {
    pub event: usize,
    pub top_minute: i64,
    pub bottom_minute: i64,
    pub columns: Columns,
}

/// Timed (not all-day-row) meetings of one day, clipped to the day and laid out side by side.
pub fn day_column(date: NaiveDate, events: &[CalEvent]) -> Vec<TimedBox> {
    let midnight = date.and_hms_opt(0, 0, 0).expect("midnight exists");
    let picked: Vec<usize> = (0..events.len())
        .filter(|&i| !events[i].in_all_day_row() && events[i].touches(date))
        .collect();
    let spans: Vec<(i64, i64)> = picked
        .iter()
        .map(|&i| {
            let e = &events[i];
            let top = (e.start - midnight).num_minutes().clamp(0, 24 * 60);
            let bottom = (e.end - midnight).num_minutes().clamp(0, 24 * 60);
            (top, bottom.max(top))
        })
        .collect();
    overlap_columns(&spans)
        .into_iter()
        .zip(picked.iter().zip(&spans))
        .map(|(columns, (&event, &(top, bottom)))| TimedBox { event, top_minute: top, bottom_minute: bottom, columns })
        .collect()
}

/// An all-day or multi-day meeting placed in the all-day row across the shown days.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllDayBar {
    pub event: usize,
    /// Index of the first shown day it covers, and how many shown days it spans.
    pub first_day: usize,
    pub span: usize,
    pub lane: usize,
    /// It began before the first shown day / goes on after the last one.
    pub continues_before: bool,
    pub continues_after: bool,
}

/// Bars for the all-day row. `days` are the shown days in order (weekends may be missing);
/// a bar spans the shown days it touches. Lanes stack bars that share a day.
pub fn all_day_bars(days: &[NaiveDate], events: &[CalEvent]) -> Vec<AllDayBar> {
    let mut bars: Vec<AllDayBar> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| e.in_all_day_row())
        .filter_map(|(i, e)| {
            let covered: Vec<usize> = (0..days.len()).filter(|&d| e.touches(days[d])).collect();
            let (&first, &last) = (covered.first()?, covered.last()?);
            let last_day = (e.end - TimeDelta::nanoseconds(1)).date();
            Some(AllDayBar {
                event: i,
                first_day: first,
                span: last - first + 1,
                lane: 0,
                continues_before: e.start.date() < days[first],
                continues_after: last_day > days[last],
            })
        })
        .collect();
    // Longest first, then earliest: the classic greedy packing calendars use.
    bars.sort_by_key(|b| (b.first_day, std::cmp::Reverse(b.span), b.event));
    let mut lane_ends: Vec<usize> = Vec::new(); // first free day index per lane
    for bar in &mut bars {
        let lane = lane_ends.iter().position(|&free| free <= bar.first_day).unwrap_or_else(|| {
            lane_ends.push(0);
            lane_ends.len() - 1
        });
        lane_ends[lane] = bar.first_day + bar.span;
        bar.lane = lane;
    }
    bars
}

/// A timed meeting placed in one lane of the schedule view. The lane runs through the shown
/// days one after the other (hidden weekends left out); minutes count from the first shown
/// day's midnight, [`MINUTES_PER_DAY`] per shown day. A meeting crossing midnight into a shown
/// day gives one box per day, as in the week view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LaneBox {
    pub event: usize,
    pub from_minute: i64,
    pub to_minute: i64,
    /// Overlapping meetings share the lane's height: row `row` of `rows`.
    pub rows: Columns,
}

pub const MINUTES_PER_DAY: i64 = 24 * 60;

/// Timed meetings of one lane (`events` filtered by the caller to one calendar, given as
/// indexes), laid out across `days` with the same overlap maths as a day column.
pub fn lane_boxes(days: &[NaiveDate], events: &[CalEvent], picked: &[usize]) -> Vec<LaneBox> {
    let mut pieces: Vec<(usize, i64, i64)> = Vec::new();
    for &i in picked {
        let e = &events[i];
        if e.in_all_day_row() {
            continue;
        }
        for (slot, day) in days.iter().enumerate() {
            if !e.touches(*day) {
                continue;
            }
            let midnight = day.and_hms_opt(0, 0, 0).expect("midnight exists");
            let top = (e.start - midnight).num_minutes().clamp(0, MINUTES_PER_DAY);
            let bottom = (e.end - midnight).num_minutes().clamp(0, MINUTES_PER_DAY).max(top);
            let base = slot as i64 * MINUTES_PER_DAY;
            pieces.push((i, base + top, base + bottom));
        }
    }
    let spans: Vec<(i64, i64)> = pieces.iter().map(|&(_, a, b)| (a, b)).collect();
    overlap_columns(&spans)
        .into_iter()
        .zip(pieces)
        .map(|(rows, (event, from_minute, to_minute))| LaneBox { event, from_minute, to_minute, rows })
        .collect()
}

/// Meetings shown in a month-view day cell: all-day row ones first, then by start.
pub fn month_cell(date: NaiveDate, events: &[CalEvent]) -> Vec<usize> {
    let mut picked: Vec<usize> = (0..events.len()).filter(|&i| events[i].touches(date)).collect();
    picked.sort_by_key(|&i| (!events[i].in_all_day_row(), events[i].start, i));
    picked
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::tests::ev;

    fn c(column: usize, columns: usize) -> Columns {
        Columns { column, columns }
    }

    #[test]
    fn separate_meetings_take_full_width() {
        assert_eq!(overlap_columns(&[(0, 60), (60, 120)]), vec![c(0, 1), c(0, 1)]);
    }

    #[test]
    fn overlapping_meetings_side_by_side() {
        assert_eq!(overlap_columns(&[(0, 60), (30, 90)]), vec![c(0, 2), c(1, 2)]);
    }

    #[test]
    fn chain_shares_column_count_and_reuses_free_columns() {
        // A 9-11, B 10-12, C 11-13: A and C never overlap, so C reuses A's column.
        let cols = overlap_columns(&[(540, 660), (600, 720), (660, 780)]);
        assert_eq!(cols, vec![c(0, 2), c(1, 2), c(0, 2)]);
    }

    #[test]
    fn three_way_and_later_cluster() {
        let cols = overlap_columns(&[(0, 100), (10, 20), (15, 30), (200, 260)]);
        assert_eq!(cols, vec![c(0, 3), c(1, 3), c(2, 3), c(0, 1)]);
    }

    #[test]
    fn order_of_input_does_not_matter_and_longer_goes_left() {
        let cols = overlap_columns(&[(0, 30), (0, 120)]);
        assert_eq!(cols, vec![c(1, 2), c(0, 2)]);
    }

    #[test]
    fn zero_length_meetings_get_a_place() {
        let cols = overlap_columns(&[(60, 60), (60, 60)]);
        assert_eq!(cols, vec![c(0, 2), c(1, 2)]);
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }
    #[test]
    fn day_column_clips_meetings_crossing_midnight() {
        let events = [ev("2026-11-23 23:00", "2026-11-24 01:00", false), ev("2026-11-24 00:30", "2026-11-24 02:00", false)];
        let mon = day_column(d("2026-11-23"), &events);
        assert_eq!(mon, vec![TimedBox { event: 0, top_minute: 1380, bottom_minute: 1440, columns: c(0, 1) }]);
        let tue = day_column(d("2026-11-24"), &events);
        assert_eq!(tue.len(), 2);
        assert_eq!((tue[0].top_minute, tue[0].bottom_minute, tue[0].columns), (0, 60, c(0, 2)));
        assert_eq!((tue[1].top_minute, tue[1].columns), (30, c(1, 2)));
    }

    #[test]
    fn all_day_row_lanes_and_spans() {
        let days: Vec<NaiveDate> = (0..5).map(|i| d("2026-11-23") + TimeDelta::days(i)).collect(); // Mon-Fri
        let events = [
            ev("2026-11-24 00:00", "2026-11-27 00:00", true), // Tue-Thu
            ev("2026-11-25 00:00", "2026-11-26 00:00", true), // Wed
            ev("2026-11-20 09:00", "2026-11-24 17:00", false), // multi-day Fri-Tue
            ev("2026-11-26 10:00", "2026-11-26 11:00", false), // timed: not in the row
            ev("2026-11-27 00:00", "2026-12-01 00:00", true), // Fri-Mon: runs past the week
        ];
        let bars = all_day_bars(&days, &events);
        let get = |e: usize| bars.iter().find(|b| b.event == e).unwrap().clone();
        assert_eq!(bars.len(), 4);
        assert_eq!((get(2).first_day, get(2).span, get(2).lane, get(2).continues_before), (0, 2, 0, true));
        assert_eq!((get(0).first_day, get(0).span, get(0).lane), (1, 3, 1));
        assert_eq!((get(1).first_day, get(1).span, get(1).lane), (2, 1, 0));
        assert_eq!((get(4).first_day, get(4).span, get(4).continues_after, get(4).continues_before), (4, 1, true, false));
    }

    #[test]
    fn all_day_bars_skip_hidden_weekend_days() {
        // Work week: Mon-Fri shown; a Sat-Sun meeting has nothing to show, a Fri-Mon one spans both ends.
        let mut days: Vec<NaiveDate> = (0..5).map(|i| d("2026-11-23") + TimeDelta::days(i)).collect();
        days.extend((0..5).map(|i| d("2026-11-30") + TimeDelta::days(i)));
        let events = [ev("2026-11-28 00:00", "2026-11-30 00:00", true), ev("2026-11-27 00:00", "2026-12-01 00:00", true)];
        let bars = all_day_bars(&days, &events);
        assert_eq!(bars.len(), 1);
        assert_eq!((bars[0].event, bars[0].first_day, bars[0].span), (1, 4, 2));
    }

    #[test]
    fn lanes_run_through_the_shown_days_with_overlaps_stacked() {
        // F-CAL-4: schedule lanes use the same overlap maths as the day columns.
        let days = [d("2026-11-27"), d("2026-11-30")]; // Friday, then Monday (weekend hidden)
        let events = [
            ev("2026-11-27 09:00", "2026-11-27 10:00", false),
            ev("2026-11-27 09:30", "2026-11-27 11:00", false),
            ev("2026-11-28 10:00", "2026-11-28 11:00", false), // Saturday: not shown
            ev("2026-11-30 08:00", "2026-11-30 09:00", false),
            ev("2026-11-27 00:00", "2026-11-28 00:00", true), // all-day: the lane's bar row
        ];
        let boxes = lane_boxes(&days, &events, &[0, 1, 2, 3, 4]);
        assert_eq!(boxes.len(), 3);
        assert_eq!((boxes[0].from_minute, boxes[0].to_minute, boxes[0].rows), (540, 600, c(0, 2)));
        assert_eq!((boxes[1].from_minute, boxes[1].rows), (570, c(1, 2)));
        assert_eq!((boxes[2].event, boxes[2].from_minute, boxes[2].rows), (3, 1440 + 480, c(0, 1)));
    }

    #[test]
    fn month_cell_lists_all_day_first() {
        let events = [ev("2026-11-24 09:00", "2026-11-24 10:00", false), ev("2026-11-24 00:00", "2026-11-25 00:00", true)];
        assert_eq!(month_cell(d("2026-11-24"), &events), vec![1, 0]);
        assert!(month_cell(d("2026-11-25"), &events).is_empty());
    }
}
