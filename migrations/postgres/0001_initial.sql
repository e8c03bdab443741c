-- CRM Calendar schema, PostgreSQL flavour. Keep in step with migrations/sqlite/0001_initial.sql:
-- the same tables, columns and indexes. Only types differ: flags are BOOLEAN here, BIGINT 0/1 in SQLite.

CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    calendar_integration BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    email TEXT NOT NULL,                       -- stored lower-case; sign-in name
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,               -- argon2id PHC string
    role TEXT NOT NULL CHECK (role IN ('administrator', 'user')),
    time_zone TEXT NOT NULL,                   -- IANA name
    week_start BIGINT NOT NULL DEFAULT 0,      -- 0 = Monday ... 6 = Sunday
    locale TEXT NOT NULL DEFAULT 'en',
    show_weekends BOOLEAN NOT NULL DEFAULT TRUE,
    calendar_prefs TEXT NOT NULL DEFAULT '{}', -- JSON: shown users and colours (F-CAL-7)
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_email ON users (email);
CREATE INDEX users_tenant ON users (tenant_id, display_name);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,               -- SHA-256 of the cookie value; the value itself is never stored
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE login_failures (
    key TEXT NOT NULL,                         -- 'ip:<addr>' or 'email:<addr>'
    at BIGINT NOT NULL
);
CREATE INDEX login_failures_key ON login_failures (key, at);

CREATE TABLE organisations (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX organisations_tenant ON organisations (tenant_id, name);

CREATE TABLE persons (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    organisation_id TEXT REFERENCES organisations(id) ON DELETE SET NULL,
    name TEXT NOT NULL,
    email TEXT NOT NULL DEFAULT '',
    phone TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX persons_tenant ON persons (tenant_id, organisation_id, name);

CREATE TABLE meetings (
    id TEXT PRIMARY KEY,                       -- the CRM id, also stored on provider events
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    subject TEXT NOT NULL,
    location TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    start_at BIGINT NOT NULL,                  -- UTC; all-day: the first date at 00:00 UTC
    end_at BIGINT NOT NULL,                    -- exclusive; all-day: the day after the last date
    all_day BOOLEAN NOT NULL DEFAULT FALSE,
    time_zone TEXT NOT NULL,                   -- IANA zone the meeting was entered in
    is_private BOOLEAN NOT NULL DEFAULT FALSE,
    organiser_user_id TEXT REFERENCES users(id) ON DELETE SET NULL,
    organiser_email TEXT NOT NULL DEFAULT '',
    ical_uid TEXT,                             -- dedup key across calendars (F-X-3)
    series_master_id TEXT REFERENCES meetings(id) ON DELETE CASCADE,
    recurrence TEXT,                           -- RRULE/EXDATE lines of a series master
    original_start_at BIGINT,                  -- an occurrence's slot in its series
    is_exception BOOLEAN NOT NULL DEFAULT FALSE,
    status TEXT NOT NULL DEFAULT 'confirmed' CHECK (status IN ('confirmed', 'tentative', 'cancelled')),
    custom_fields TEXT NOT NULL DEFAULT '{}',  -- JSON, CRM-only (F-EDIT-10)
    version BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CHECK (end_at >= start_at)
);
CREATE UNIQUE INDEX meetings_ical_uid ON meetings (tenant_id, ical_uid, COALESCE(original_start_at, 0))
    WHERE ical_uid IS NOT NULL;
CREATE INDEX meetings_series ON meetings (series_master_id) WHERE series_master_id IS NOT NULL;

-- The meeting as it sits in one user's calendar. start_at/end_at/long_span repeat the meeting's
-- so that "meetings of users U overlapping [from, to)" is one index range scan per user
-- (see store::meetings::calendar_entries); they are written only together with the meeting's.
CREATE TABLE meeting_copies (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    meeting_id TEXT NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    provider_event_id TEXT,
    etag TEXT,                                 -- Google etag / Graph changeKey / EWS ChangeKey
    start_at BIGINT NOT NULL,
    end_at BIGINT NOT NULL,
    long_span BOOLEAN NOT NULL,                -- lasts longer than store::LONG_SPAN_SECS
    UNIQUE (meeting_id, user_id)
);
CREATE INDEX meeting_copies_range ON meeting_copies (tenant_id, user_id, start_at) WHERE NOT long_span;
CREATE INDEX meeting_copies_long ON meeting_copies (tenant_id, user_id, start_at) WHERE long_span;
CREATE UNIQUE INDEX meeting_copies_provider ON meeting_copies (user_id, provider_event_id)
    WHERE provider_event_id IS NOT NULL;

CREATE TABLE meeting_attendees (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    meeting_id TEXT NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('user', 'person', 'external')),
    user_id TEXT REFERENCES users(id) ON DELETE SET NULL,
    person_id TEXT REFERENCES persons(id) ON DELETE SET NULL,
    email TEXT NOT NULL DEFAULT '',
    display_name TEXT NOT NULL DEFAULT '',
    response TEXT NOT NULL DEFAULT 'needsAction'
        CHECK (response IN ('needsAction', 'accepted', 'declined', 'tentative')),
    is_organiser BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX meeting_attendees_meeting ON meeting_attendees (meeting_id);
CREATE INDEX meeting_attendees_person ON meeting_attendees (tenant_id, person_id) WHERE person_id IS NOT NULL;

CREATE TABLE meeting_organisations (
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    meeting_id TEXT NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
    organisation_id TEXT NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
    PRIMARY KEY (meeting_id, organisation_id)
);
CREATE INDEX meeting_organisations_org ON meeting_organisations (tenant_id, organisation_id);
