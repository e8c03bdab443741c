-- Issue 9 (page speed): what the calendar shows of a meeting is kept on each of its copies, so
-- that a user's period is read from one contiguous index range. Before, each shown meeting
-- cost a lookup of its row by its text key (two B-trees, two pages scattered over the whole
-- table: meetings are stored in the order they arrived, not by time) — about two thirds of
-- the calendar query, and most of it when those pages were not in memory.
-- The columns are kept true by the triggers below, in the same transaction as any change to a
-- meeting, a copy or an attendee, whatever code makes it. Subject and location are cut to the
-- editor's limit (sync::meetings::MAX_SUBJECT, MAX_LOCATION: 255 characters); the editor reads
-- the meeting itself. Keep in step with the other backend's 0008.
ALTER TABLE meeting_copies ADD COLUMN subject TEXT NOT NULL DEFAULT '';
ALTER TABLE meeting_copies ADD COLUMN location TEXT NOT NULL DEFAULT '';
ALTER TABLE meeting_copies ADD COLUMN all_day BIGINT NOT NULL DEFAULT FALSE;
ALTER TABLE meeting_copies ADD COLUMN is_private BIGINT NOT NULL DEFAULT FALSE;
ALTER TABLE meeting_copies ADD COLUMN organiser_user_id TEXT;
ALTER TABLE meeting_copies ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE meeting_copies ADD COLUMN occurrence BIGINT NOT NULL DEFAULT FALSE;  -- one of a series
ALTER TABLE meeting_copies ADD COLUMN has_notice BIGINT NOT NULL DEFAULT FALSE;  -- meetings.sync_notice <> ''
ALTER TABLE meeting_copies ADD COLUMN hidden BIGINT NOT NULL DEFAULT FALSE;      -- cancelled or deleted
ALTER TABLE meeting_copies ADD COLUMN response TEXT;  -- the copy's user's answer; NULL: not an attendee

-- What the calendar shows of a meeting: defined once, here.
CREATE VIEW meetings_shown AS
    SELECT id, substr(subject, 1, 255) AS subject, substr(location, 1, 255) AS location, all_day, is_private, organiser_user_id,
           version, original_start_at IS NOT NULL AS occurrence, sync_notice <> '' AS has_notice,
           status = 'cancelled' OR deleted_at IS NOT NULL AS hidden
    FROM meetings;

CREATE TRIGGER meeting_copies_shown_on_insert AFTER INSERT ON meeting_copies BEGIN
    UPDATE meeting_copies SET
        (subject, location, all_day, is_private, organiser_user_id, version, occurrence, has_notice, hidden) =
            (SELECT subject, location, all_day, is_private, organiser_user_id, version, occurrence, has_notice, hidden
             FROM meetings_shown WHERE id = NEW.meeting_id),
        response = (SELECT a.response FROM meeting_attendees a WHERE a.meeting_id = NEW.meeting_id AND a.user_id = NEW.user_id LIMIT 1)
    WHERE id = NEW.id;
END;

-- A copy moved to another meeting (duplicates merged) or user.
CREATE TRIGGER meeting_copies_shown_on_move AFTER UPDATE OF meeting_id, user_id ON meeting_copies BEGIN
    UPDATE meeting_copies SET
        (subject, location, all_day, is_private, organiser_user_id, version, occurrence, has_notice, hidden) =
            (SELECT subject, location, all_day, is_private, organiser_user_id, version, occurrence, has_notice, hidden
             FROM meetings_shown WHERE id = NEW.meeting_id),
        response = (SELECT a.response FROM meeting_attendees a WHERE a.meeting_id = NEW.meeting_id AND a.user_id = NEW.user_id LIMIT 1)
    WHERE id = NEW.id;
END;

CREATE TRIGGER meetings_shown_on_copies AFTER UPDATE OF subject, location, all_day, is_private, organiser_user_id, version,
        original_start_at, sync_notice, status, deleted_at ON meetings BEGIN
    UPDATE meeting_copies SET
        (subject, location, all_day, is_private, organiser_user_id, version, occurrence, has_notice, hidden) =
            (SELECT subject, location, all_day, is_private, organiser_user_id, version, occurrence, has_notice, hidden
             FROM meetings_shown WHERE id = NEW.id)
    WHERE meeting_id = NEW.id;
END;

CREATE TRIGGER meeting_attendees_response_on_insert AFTER INSERT ON meeting_attendees WHEN NEW.user_id IS NOT NULL BEGIN
    UPDATE meeting_copies SET response = (SELECT a.response FROM meeting_attendees a WHERE a.meeting_id = NEW.meeting_id AND a.user_id = NEW.user_id LIMIT 1)
    WHERE meeting_id = NEW.meeting_id AND user_id = NEW.user_id;
END;

CREATE TRIGGER meeting_attendees_response_on_update AFTER UPDATE OF response, user_id, meeting_id ON meeting_attendees BEGIN
    UPDATE meeting_copies SET response = (SELECT a.response FROM meeting_attendees a WHERE a.meeting_id = OLD.meeting_id AND a.user_id = OLD.user_id LIMIT 1)
    WHERE meeting_id = OLD.meeting_id AND user_id = OLD.user_id;
    UPDATE meeting_copies SET response = (SELECT a.response FROM meeting_attendees a WHERE a.meeting_id = NEW.meeting_id AND a.user_id = NEW.user_id LIMIT 1)
    WHERE meeting_id = NEW.meeting_id AND user_id = NEW.user_id;
END;

CREATE TRIGGER meeting_attendees_response_on_delete AFTER DELETE ON meeting_attendees WHEN OLD.user_id IS NOT NULL BEGIN
    UPDATE meeting_copies SET response = (SELECT a.response FROM meeting_attendees a WHERE a.meeting_id = OLD.meeting_id AND a.user_id = OLD.user_id LIMIT 1)
    WHERE meeting_id = OLD.meeting_id AND user_id = OLD.user_id;
END;

-- The copies there are.
UPDATE meeting_copies SET
    (subject, location, all_day, is_private, organiser_user_id, version, occurrence, has_notice, hidden) =
        (SELECT subject, location, all_day, is_private, organiser_user_id, version, occurrence, has_notice, hidden
         FROM meetings_shown s WHERE s.id = meeting_copies.meeting_id),
    response = (SELECT a.response FROM meeting_attendees a WHERE a.meeting_id = meeting_copies.meeting_id AND a.user_id = meeting_copies.user_id LIMIT 1);

-- Both calendar indexes hold everything the calendar query reads (SQLite has no INCLUDE: the
-- columns trail the key).
DROP INDEX meeting_copies_range;
CREATE INDEX meeting_copies_range ON meeting_copies (tenant_id, user_id, start_at, end_at, meeting_id, long_span, hidden,
    subject, location, all_day, is_private, organiser_user_id, version, occurrence, has_notice, response) WHERE NOT long_span;
DROP INDEX meeting_copies_long;
CREATE INDEX meeting_copies_long ON meeting_copies (tenant_id, user_id, end_at, start_at, meeting_id, long_span, hidden,
    subject, location, all_day, is_private, organiser_user_id, version, occurrence, has_notice, response) WHERE long_span;
