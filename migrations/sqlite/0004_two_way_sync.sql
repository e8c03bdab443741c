-- Issue 4: two-way sync. Keep in step with the other backend's 0004 (only flag types differ).
-- calendar_connections.last_synced_at (unused before) and syncing_since are unix milliseconds.

-- A meeting deleted in the CRM stays (hidden) until the provider has deleted it too; what the
-- user must know about its last sync (the provider won a conflict, refused a change) is kept.
ALTER TABLE meetings ADD COLUMN deleted_at BIGINT;
ALTER TABLE meetings ADD COLUMN sync_notice TEXT NOT NULL DEFAULT '';

-- Per calendar copy: the series it belongs to at the provider, and the provider-owned fields as
-- last agreed with the provider (JSON; the base of three-way merges). NULL: not on the provider
-- yet (a CRM meeting whose create is pending, or a CRM-only copy).
ALTER TABLE meeting_copies ADD COLUMN provider_series_id TEXT;
ALTER TABLE meeting_copies ADD COLUMN synced TEXT;
-- The fields of a write to the provider in flight (set before the call, cleared when its
-- answer is recorded): when the answer is lost, this tells our own write apart from a change
-- made at the provider.
ALTER TABLE meeting_copies ADD COLUMN writing TEXT;
-- False for a copy the CRM created at the provider and no sync has reported yet: if it is
-- deleted there before the next sync, some providers' cursors never mention it (EWS, Graph:
-- "created and deleted between two syncs"), so the engine asks for it by id.
ALTER TABLE meeting_copies ADD COLUMN confirmed BIGINT NOT NULL DEFAULT TRUE;
-- The meeting version last written to this calendar with invitations: a job that runs again
-- after its write (a crash before the job was marked done) does not mail the attendees twice.
ALTER TABLE meeting_copies ADD COLUMN sent_version BIGINT;
CREATE INDEX meeting_copies_unconfirmed ON meeting_copies (user_id) WHERE NOT confirmed;
CREATE INDEX meeting_copies_series ON meeting_copies (user_id, provider_series_id) WHERE provider_series_id IS NOT NULL;

-- The window the current sync cursor covers, a running sync, and the push subscription
-- (its id in the clear to route notifications; the whole subscription, secret included, sealed).
ALTER TABLE calendar_connections ADD COLUMN cursor_from BIGINT;
ALTER TABLE calendar_connections ADD COLUMN cursor_to BIGINT;
ALTER TABLE calendar_connections ADD COLUMN syncing_since BIGINT;
ALTER TABLE calendar_connections ADD COLUMN push_id TEXT;
ALTER TABLE calendar_connections ADD COLUMN push_sealed TEXT;
ALTER TABLE calendar_connections ADD COLUMN push_expires_at BIGINT;
ALTER TABLE calendar_connections ADD COLUMN push_error TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX calendar_connections_push ON calendar_connections (push_id) WHERE push_id IS NOT NULL;

-- Bits OR-ed together when jobs coalesce (e.g. "send invitations": one Save-and-send among
-- several saves still sends).
ALTER TABLE sync_jobs ADD COLUMN flags BIGINT NOT NULL DEFAULT 0;

-- What each job run did: who ran it, how it ended, how many changes and provider calls. Kept a
-- week (housekeeping); operators read it, and it proves no job ran twice at once.
CREATE TABLE sync_runs (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    connection_id TEXT,
    job_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    worker TEXT NOT NULL,
    started_at BIGINT NOT NULL,                -- unix ms
    finished_at BIGINT NOT NULL,               -- unix ms
    outcome TEXT NOT NULL,                     -- ok | retry | failed
    message TEXT NOT NULL DEFAULT '',
    changes BIGINT NOT NULL DEFAULT 0,
    provider_calls BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX sync_runs_connection ON sync_runs (connection_id, started_at);
CREATE INDEX sync_runs_started ON sync_runs (started_at);

-- OAuth authorisations in flight: state -> who started it (bound to their session) and the
-- PKCE verifier (sealed). Used once, valid for minutes.
CREATE TABLE oauth_flows (
    state TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    session_hash TEXT NOT NULL,
    provider TEXT NOT NULL CHECK (provider IN ('google', 'graph')),
    verifier_sealed TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Attendees arriving from providers are matched to CRM users and persons by e-mail.
CREATE INDEX persons_email ON persons (tenant_id, lower(email)) WHERE email <> '';
