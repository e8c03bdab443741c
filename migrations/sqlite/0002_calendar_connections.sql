-- Issue 4: each user's connection to their provider calendar (one per user).
CREATE TABLE calendar_connections (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    provider TEXT NOT NULL CHECK (provider IN ('google', 'graph', 'ews')),
    auth_kind TEXT NOT NULL CHECK (auth_kind IN ('oauth', 'basic', 'impersonation', 'bearer')),
    mailbox TEXT NOT NULL,                     -- the calendar's e-mail address
    account TEXT NOT NULL DEFAULT '',          -- who signs in (EWS user or service account)
    ews_url TEXT NOT NULL DEFAULT '',
    secret TEXT NOT NULL,                      -- sealed with AES-256-GCM (sync::secrets); never plain
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'needs_reconnect', 'failing')),
    status_reason TEXT NOT NULL DEFAULT '',
    sync_cursor TEXT,
    last_synced_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX calendar_connections_user ON calendar_connections (tenant_id, user_id);
