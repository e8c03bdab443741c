-- Issue 9 (page speed): the calendar query reads a week of copies through this index and
-- checks each one's end; with the end and the meeting id in the index it never reads the
-- copies table (the scan reaches back store::LONG_SPAN_SECS, so about half of what it visits is
-- filtered out by the end). Keep in step with the other backend's 0006.
DROP INDEX meeting_copies_range;
CREATE INDEX meeting_copies_range ON meeting_copies (tenant_id, user_id, start_at, end_at, meeting_id) WHERE NOT long_span;
