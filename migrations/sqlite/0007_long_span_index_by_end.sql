-- Issue 9 (page speed). Meetings longer than store::LONG_SPAN_SECS (holidays, conferences) were
-- found by their start, so the calendar query read every one a user ever had that started
-- before the period's end — a list that grows with the years. Found by their end, only those
-- still running at the period's start are read.
-- Both calendar indexes also carry `long_span` itself: SQLite does not count a partial index's
-- WHERE column as covered, so without it every candidate row was read from the table to check
-- the flag (0006's covering index was not used as one). Keep in step with the other backend's 0007.
DROP INDEX meeting_copies_long;
CREATE INDEX meeting_copies_long ON meeting_copies (tenant_id, user_id, end_at, start_at, meeting_id, long_span) WHERE long_span;
DROP INDEX meeting_copies_range;
CREATE INDEX meeting_copies_range ON meeting_copies (tenant_id, user_id, start_at, end_at, meeting_id, long_span) WHERE NOT long_span;
