-- Recovery and alerts: webhooks disabled after failing for too long, RetryFailed's
-- answers kept for a repeated call, each workspace's alert URL and signing secret, and
-- the outbox of alert events.

-- A webhook whose every attempt failed for its policy's disable_after is DISABLED, and
-- state_reason says why. failing_since is when its current run of failed attempts
-- began (NULL after a success), written by the recorder in its record transaction.
ALTER TABLE webhooks DROP CONSTRAINT webhooks_state_check;
ALTER TABLE webhooks ADD CONSTRAINT webhooks_state_check
    CHECK (state IN ('ACTIVE', 'ARCHIVED', 'DISABLED'));
ALTER TABLE webhooks ADD COLUMN state_reason text;
ALTER TABLE webhooks ADD COLUMN failing_since timestamptz;

-- RetryFailed with a request id: the sha256 of the id and the first call's answer, for
-- a day (the retention sweep deletes older rows).
CREATE TABLE retry_requests (
    workspace_id     uuid NOT NULL REFERENCES workspaces (id),
    webhook_id       uuid NOT NULL,
    request_hash     bytea NOT NULL,
    retried_messages bigint NOT NULL,
    create_time      timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, webhook_id, request_hash)
);
CREATE INDEX retry_requests_created ON retry_requests (create_time);

-- Where a workspace's operator alerts go; the signing secret is sealed like webhooks'
-- signing secrets (store/sealing.py). No row: no alerts are recorded.
CREATE TABLE alert_settings (
    workspace_id   uuid PRIMARY KEY REFERENCES workspaces (id),
    url            text NOT NULL,
    signing_secret text NOT NULL,
    update_time    timestamptz NOT NULL
);

-- The outbox: events written in the transaction of what caused them, sent by the
-- delivery workers. `id` is the event's webhook-id. An open webhook.messages_failed
-- event (not yet taken for sending) gathers every failure of its webhook until it is
-- due at the end of its window; the partial unique index keeps one open per webhook.
CREATE TABLE alert_events (
    id                uuid PRIMARY KEY,
    workspace_id      uuid NOT NULL REFERENCES workspaces (id),
    type              text NOT NULL,
    webhook_id        uuid,
    data              jsonb NOT NULL,
    failed_count      bigint NOT NULL DEFAULT 0,
    window_start      timestamptz,
    window_end        timestamptz,
    sample_error      text,
    sample_message_id uuid,
    open              boolean NOT NULL DEFAULT false,
    create_time       timestamptz NOT NULL,
    -- NULL once sent, or given up on.
    next_attempt_time timestamptz,
    locked_until      timestamptz,
    attempts          integer NOT NULL DEFAULT 0,
    last_error        text,
    finish_time       timestamptz
);
CREATE UNIQUE INDEX alert_events_open ON alert_events (workspace_id, webhook_id)
    WHERE open;
CREATE INDEX alert_events_due ON alert_events (next_attempt_time)
    WHERE next_attempt_time IS NOT NULL;
CREATE INDEX alert_events_finished ON alert_events (finish_time)
    WHERE finish_time IS NOT NULL;
