-- Issue 4: the durable job queue of the sync engine.
CREATE TABLE sync_jobs (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    connection_id TEXT REFERENCES calendar_connections(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,                        -- e.g. 'sync', 'write'
    coalesce_key TEXT,                         -- pending jobs with the same key are one job
    payload TEXT NOT NULL DEFAULT '{}',        -- JSON
    run_at BIGINT NOT NULL,                    -- not before (unix ms)
    attempts BIGINT NOT NULL DEFAULT 0,
    lease_owner TEXT,                          -- the worker running it, NULL while pending
    lease_until BIGINT,                        -- unix ms; an expired lease may be taken over
    last_error TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
-- At most one *pending* job per coalescing key; a running one may have a pending successor.
CREATE UNIQUE INDEX sync_jobs_coalesce ON sync_jobs (coalesce_key) WHERE coalesce_key IS NOT NULL AND lease_owner IS NULL;
CREATE INDEX sync_jobs_due ON sync_jobs (run_at);
CREATE INDEX sync_jobs_connection ON sync_jobs (connection_id);
