-- name: get_settings
SELECT url, signing_secret FROM alert_settings WHERE workspace_id = $1;

-- name: set_settings
-- The URL ($2); the sealed secret ($3) is kept only by the first set: a later one keeps
-- the secret receivers already verify with.
INSERT INTO alert_settings (workspace_id, url, signing_secret, update_time)
VALUES ($1, $2, $3, now())
ON CONFLICT (workspace_id) DO UPDATE SET url = EXCLUDED.url, update_time = now()
RETURNING url, signing_secret;

-- name: clear_settings
DELETE FROM alert_settings WHERE workspace_id = $1;

-- name: drop_unsent
-- Alerts not sent yet when the workspace's URL is cleared are not sent at all.
DELETE FROM alert_events WHERE workspace_id = $1 AND next_attempt_time IS NOT NULL;

-- name: add_events
-- Events ($1) of workspaces that have an alert URL, due at once; the others record
-- nothing.
INSERT INTO alert_events (id, workspace_id, type, webhook_id, data, create_time,
                          next_attempt_time)
SELECT r.id, r.workspace_id, r.type, r.webhook_id, r.data, now(), now()
FROM jsonb_to_recordset($1::jsonb) AS r (id uuid, workspace_id uuid, type text,
     webhook_id uuid, data jsonb)
JOIN alert_settings a ON a.workspace_id = r.workspace_id;

-- name: add_failures
-- Messages that failed for good ($1: a count per webhook, with a sample). Each webhook
-- has at most one open webhook.messages_failed event: the first failure opens it, due
-- $2 seconds later (its window), and every failure until the alert worker takes it is
-- counted in it. Only workspaces with an alert URL record one.
INSERT INTO alert_events AS e (id, workspace_id, type, webhook_id, data, failed_count,
                               window_start, window_end, sample_error, sample_message_id,
                               open, create_time, next_attempt_time)
SELECT r.id, r.workspace_id, 'webhook.messages_failed', r.webhook_id, '{}'::jsonb, r.count,
       now(), now() + make_interval(secs => $2), r.sample_error, r.sample_message_id,
       true, now(), now() + make_interval(secs => $2)
FROM jsonb_to_recordset($1::jsonb) AS r (id uuid, workspace_id uuid, webhook_id uuid,
     count bigint, sample_error text, sample_message_id uuid)
JOIN alert_settings a ON a.workspace_id = r.workspace_id
-- One order for every recorder, so two processes' batches never deadlock.
ORDER BY r.workspace_id, r.webhook_id
ON CONFLICT (workspace_id, webhook_id) WHERE open
DO UPDATE SET failed_count = e.failed_count + EXCLUDED.failed_count,
              sample_error = EXCLUDED.sample_error,
              sample_message_id = EXCLUDED.sample_message_id;

-- name: claim
-- Up to $1 due events, each leased for $2 seconds (due again then, should this process
-- stop before its outcome is written), with where to send it and the secret to sign
-- with. An open event taken here is closed: later failures open a new one.
WITH due AS (
    SELECT id FROM alert_events
    WHERE next_attempt_time <= now()
    ORDER BY next_attempt_time
    LIMIT $1
    FOR UPDATE SKIP LOCKED
)
UPDATE alert_events e
SET open = false, attempts = e.attempts + 1,
    locked_until = now() + make_interval(secs => $2),
    next_attempt_time = now() + make_interval(secs => $2)
FROM due
WHERE e.id = due.id
RETURNING e.id, e.workspace_id, e.type, e.webhook_id, e.data, e.failed_count,
          e.window_start, e.window_end, e.sample_error, e.sample_message_id,
          e.create_time, e.attempts,
          (SELECT s.url FROM alert_settings s WHERE s.workspace_id = e.workspace_id) AS url,
          (SELECT s.signing_secret FROM alert_settings s
            WHERE s.workspace_id = e.workspace_id) AS signing_secret,
          (SELECT v.spec ->> 'name' FROM webhooks w
             JOIN webhook_versions v ON v.workspace_id = w.workspace_id
              AND v.webhook_id = w.id AND v.version = w.latest_version
            WHERE w.workspace_id = e.workspace_id AND w.id = e.webhook_id) AS webhook_name;

-- name: delivered
-- Attempt $2 of event $1 succeeded. Only while that attempt still holds the event: once
-- its lease ended and another attempt took it, that one's result decides.
UPDATE alert_events
SET next_attempt_time = NULL, locked_until = NULL, last_error = NULL, finish_time = now()
WHERE id = $1 AND attempts = $2;

-- name: failed
-- Attempt $2 of event $1 failed with $3: attempted again at $4; NULL gives up.
UPDATE alert_events
SET next_attempt_time = $4, locked_until = NULL, last_error = $3,
    finish_time = CASE WHEN $4::timestamptz IS NULL THEN now() END
WHERE id = $1 AND attempts = $2;
