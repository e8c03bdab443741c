-- Issue 11: the meeting editor's people and time. Keep in step with the other backend's 0010.

-- Finding people and organisations by name, e-mail and organisation (F-EDIT-1): one row per
-- folded word of a record (domain::search::words), so a word prefix is one range of an index
-- whatever the number of records. A substring LIKE could use no index, and SQLite's lower()
-- does not fold æ/ø/å. Filled by the store when records are written (and, for records from
-- before this migration, when the store opens).
CREATE TABLE search_words (
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('person', 'organisation', 'user')),
    record_id TEXT NOT NULL,
    word TEXT NOT NULL,
    PRIMARY KEY (tenant_id, kind, word, record_id)
) WITHOUT ROWID;
CREATE INDEX search_words_record ON search_words (record_id, word);

-- An organisation's e-mail domain: an unknown attendee address of that domain links an
-- incoming meeting to it (F-X-13). Lower-case; '' = none.
ALTER TABLE organisations ADD COLUMN domain TEXT NOT NULL DEFAULT '';
CREATE INDEX organisations_domain ON organisations (tenant_id, domain) WHERE domain <> '';

-- Links the CRM made itself (an attendee's organisation), shown as "linked automatically".
ALTER TABLE meeting_organisations ADD COLUMN auto BIGINT NOT NULL DEFAULT FALSE;

-- Who booked a meeting into a colleague's calendar on their behalf (F-EDIT-2); NULL: the
-- organiser themselves, or a meeting from a provider.
ALTER TABLE meetings ADD COLUMN booked_by_user_id TEXT REFERENCES users(id) ON DELETE SET NULL;
