-- Issue 10: administration. Keep in step with the other backend's 0009.

-- The company-wide calendar integration switch (F-ADM-1) now counts: with it off nothing
-- syncs. Companies that were already syncing keep syncing.
UPDATE tenants SET calendar_integration = TRUE
 WHERE EXISTS (SELECT 1 FROM calendar_connections c WHERE c.tenant_id = tenants.id);

-- Who changed what in a company's administration, and when: the integration switched,
-- a calendar connected or disconnected for a user, … (read on the Configuration pages).
CREATE TABLE audit_log (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    -- Milliseconds since the epoch.
    at BIGINT NOT NULL,
    -- The administrator or user who did it; NULL: an operator on the command line.
    actor_user_id TEXT,
    -- Their name as it was then (the entry outlives renames and removed users).
    actor TEXT NOT NULL,
    -- What was done (domain::audit::Action, as JSON: its kind and its particulars).
    action TEXT NOT NULL
);
-- A company's log, newest first, a page at a time.
CREATE INDEX audit_log_by_tenant ON audit_log (tenant_id, at, id);

-- Office 365 is connected for the address the user entered (F-ADM-4): the authorisation
-- remembers it, and another account consenting is refused. Empty: whichever account consents.
ALTER TABLE oauth_flows ADD COLUMN mailbox TEXT NOT NULL DEFAULT '';
