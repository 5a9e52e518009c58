-- Rate limits per webhook, shared by every process: the next free slot. A claim of a
-- rate-limited webhook's lane takes what fits before now + a horizon, gives each
-- message the next slot (1/rate apart) and moves next_slot past them.
CREATE TABLE rate_limits (
    workspace_id uuid NOT NULL,
    webhook_id   uuid NOT NULL,
    next_slot    timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, webhook_id),
    FOREIGN KEY (workspace_id, webhook_id) REFERENCES webhooks (workspace_id, id)
);
