-- Messages (one delivery to one user), the queue they wait in, and their attempts.

CREATE TABLE messages (
    workspace_id      uuid NOT NULL REFERENCES workspaces (id),
    id                uuid NOT NULL,
    webhook_id        uuid NOT NULL,
    -- The version current at Send: history shows exactly what was sent.
    webhook_version   integer NOT NULL,
    kind              text NOT NULL CHECK (kind IN ('TEST', 'LIVE')),
    status            text NOT NULL CHECK (status IN ('PENDING', 'SUCCEEDED', 'FAILED')),
    user_id           text NOT NULL,
    recipient         jsonb NOT NULL,
    data              jsonb NOT NULL,
    labels            jsonb NOT NULL DEFAULT '{}',
    idempotency_key   text,
    attempt_count     integer NOT NULL DEFAULT 0,
    -- Failed scheduled attempts so far: the index into the retry schedule.
    failures          integer NOT NULL DEFAULT 0,
    -- The next attempt is a manual one (Retry) and is not retried on failure.
    manual            boolean NOT NULL DEFAULT false,
    -- When a pending message is due. A claim moves it to the end of the lease,
    -- so a message whose worker died becomes due again by itself.
    next_attempt_time timestamptz,
    -- A worker's lease: while in the future, the message is being attempted.
    locked_until      timestamptz,
    last_request      jsonb,
    last_response     jsonb,
    last_error        text,
    create_time       timestamptz NOT NULL,
    update_time       timestamptz NOT NULL,
    PRIMARY KEY (id),
    FOREIGN KEY (workspace_id, webhook_id) REFERENCES webhooks (workspace_id, id)
);

-- The queue: only pending messages, in due order.
CREATE INDEX messages_due ON messages (next_attempt_time) WHERE status = 'PENDING';

-- Idempotent Send: one message per (webhook, key, user).
CREATE UNIQUE INDEX messages_idempotency
    ON messages (workspace_id, webhook_id, idempotency_key, user_id)
    WHERE idempotency_key IS NOT NULL;

-- History listings, newest first, and retention.
CREATE INDEX messages_history ON messages (workspace_id, create_time DESC, id DESC);
CREATE INDEX messages_by_webhook ON messages (workspace_id, webhook_id, create_time DESC, id DESC);
CREATE INDEX messages_created ON messages (create_time);
CREATE INDEX messages_labels ON messages USING gin (labels jsonb_path_ops);

CREATE TABLE attempts (
    workspace_id uuid NOT NULL,
    message_id  uuid NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    number      integer NOT NULL,
    trigger     text NOT NULL CHECK (trigger IN ('SCHEDULED', 'MANUAL')),
    start_time  timestamptz NOT NULL,
    -- NULL until the outcome is recorded; stays NULL if the worker died mid-attempt.
    duration    interval,
    request     jsonb,
    response    jsonb,
    error       text,
    PRIMARY KEY (message_id, number)
);
