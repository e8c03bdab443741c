-- Issue 9 (page speed): meetings longer than store::LONG_SPAN_SECS (holidays, conferences) were
-- found by their start, so the calendar query read every one a user ever had that started
-- before the period's end — a list that grows with the years. By their end it reads only those
-- still running at the period's start (the past drops out), and with the start and the meeting
-- id in the index it never reads the copies table. Keep in step with the other backend's 0007.
DROP INDEX meeting_copies_long;
CREATE INDEX meeting_copies_long ON meeting_copies (tenant_id, user_id, end_at) INCLUDE (start_at, meeting_id) WHERE long_span;
