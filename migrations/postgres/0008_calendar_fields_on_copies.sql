-- Issue 9 (page speed): what the calendar shows of a meeting is kept on each of its copies, so
-- that a user's period is read from one index range (an index-only scan), not by looking up
-- each shown meeting's row by its key in a heap stored in arrival order, not by time.
-- The columns are kept true by the triggers below, in the same transaction as any change to a
-- meeting, a copy or an attendee, whatever code makes it. Subject and location are cut to the
-- editor's limit (sync::meetings::MAX_SUBJECT, MAX_LOCATION: 255 characters), which also keeps
-- an index row well under PostgreSQL's limit; the editor reads the meeting itself. Keep in step
-- with the other backend's 0008.
ALTER TABLE meeting_copies
    ADD COLUMN subject TEXT NOT NULL DEFAULT '',
    ADD COLUMN location TEXT NOT NULL DEFAULT '',
    ADD COLUMN all_day BOOLEAN NOT NULL DEFAULT FALSE,
    ADD COLUMN is_private BOOLEAN NOT NULL DEFAULT FALSE,
    ADD COLUMN organiser_user_id TEXT,
    ADD COLUMN version BIGINT NOT NULL DEFAULT 1,
    ADD COLUMN occurrence BOOLEAN NOT NULL DEFAULT FALSE,  -- one of a series
    ADD COLUMN has_notice BOOLEAN NOT NULL DEFAULT FALSE,  -- meetings.sync_notice <> ''
    ADD COLUMN hidden BOOLEAN NOT NULL DEFAULT FALSE,      -- cancelled or deleted
    ADD COLUMN response TEXT;  -- the copy's user's answer; NULL: not an attendee

-- What the calendar shows of a meeting: defined once, here.
CREATE VIEW meetings_shown AS
    SELECT id, left(subject, 255) AS subject, left(location, 255) AS location, all_day, is_private, organiser_user_id,
           version, original_start_at IS NOT NULL AS occurrence, sync_notice <> '' AS has_notice,
           status = 'cancelled' OR deleted_at IS NOT NULL AS hidden
    FROM meetings;

-- A new copy, or one moved to another meeting (duplicates merged) or user.
CREATE FUNCTION meeting_copy_fill_shown() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT s.subject, s.location, s.all_day, s.is_private, s.organiser_user_id, s.version, s.occurrence, s.has_notice, s.hidden
      INTO NEW.subject, NEW.location, NEW.all_day, NEW.is_private, NEW.organiser_user_id, NEW.version,
           NEW.occurrence, NEW.has_notice, NEW.hidden
      FROM meetings_shown s WHERE s.id = NEW.meeting_id;
    NEW.response := (SELECT a.response FROM meeting_attendees a WHERE a.meeting_id = NEW.meeting_id AND a.user_id = NEW.user_id LIMIT 1);
    RETURN NEW;
END $$;
CREATE TRIGGER meeting_copies_shown BEFORE INSERT OR UPDATE OF meeting_id, user_id ON meeting_copies
    FOR EACH ROW EXECUTE FUNCTION meeting_copy_fill_shown();

CREATE FUNCTION meeting_copies_follow_meeting() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE meeting_copies c SET subject = s.subject, location = s.location, all_day = s.all_day, is_private = s.is_private,
        organiser_user_id = s.organiser_user_id, version = s.version, occurrence = s.occurrence, has_notice = s.has_notice, hidden = s.hidden
    FROM meetings_shown s WHERE s.id = NEW.id AND c.meeting_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER meetings_shown_on_copies AFTER UPDATE OF subject, location, all_day, is_private, organiser_user_id, version,
        original_start_at, sync_notice, status, deleted_at ON meetings
    FOR EACH ROW EXECUTE FUNCTION meeting_copies_follow_meeting();

CREATE FUNCTION meeting_copies_follow_response() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.user_id IS NOT NULL THEN
        UPDATE meeting_copies SET response = (SELECT a.response FROM meeting_attendees a WHERE a.meeting_id = OLD.meeting_id AND a.user_id = OLD.user_id LIMIT 1)
        WHERE meeting_id = OLD.meeting_id AND user_id = OLD.user_id;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.user_id IS NOT NULL THEN
        UPDATE meeting_copies SET response = (SELECT a.response FROM meeting_attendees a WHERE a.meeting_id = NEW.meeting_id AND a.user_id = NEW.user_id LIMIT 1)
        WHERE meeting_id = NEW.meeting_id AND user_id = NEW.user_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER meeting_attendees_response AFTER INSERT OR DELETE OR UPDATE OF response, user_id, meeting_id ON meeting_attendees
    FOR EACH ROW EXECUTE FUNCTION meeting_copies_follow_response();

-- The copies there are.
UPDATE meeting_copies c SET subject = s.subject, location = s.location, all_day = s.all_day, is_private = s.is_private,
    organiser_user_id = s.organiser_user_id, version = s.version, occurrence = s.occurrence, has_notice = s.has_notice, hidden = s.hidden,
    response = (SELECT a.response FROM meeting_attendees a WHERE a.meeting_id = c.meeting_id AND a.user_id = c.user_id LIMIT 1)
FROM meetings_shown s WHERE s.id = c.meeting_id;

DROP INDEX meeting_copies_range;
CREATE INDEX meeting_copies_range ON meeting_copies (tenant_id, user_id, start_at) INCLUDE (end_at, meeting_id, hidden,
    subject, location, all_day, is_private, organiser_user_id, version, occurrence, has_notice, response) WHERE NOT long_span;
DROP INDEX meeting_copies_long;
CREATE INDEX meeting_copies_long ON meeting_copies (tenant_id, user_id, end_at) INCLUDE (start_at, meeting_id, hidden,
    subject, location, all_day, is_private, organiser_user_id, version, occurrence, has_notice, response) WHERE long_span;
