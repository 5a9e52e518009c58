-- name: webhook_state
-- Read, not locked: a long RetryFailed must not hold up the recorders. A webhook archived
-- or disabled meanwhile has the messages this call queued failed at their claim.
SELECT state FROM webhooks WHERE workspace_id = $1 AND id = $2;

-- name: forget_old_request
-- A request id first seen longer ago than $4 counts as new.
DELETE FROM retry_requests
WHERE workspace_id = $1 AND webhook_id = $2 AND request_hash = $3
  AND create_time < now() - $4::interval;

-- name: claim_request
-- The request id's row, made by the first call; NULL when an earlier call holds it (a
-- concurrent one waits here until that call commits).
INSERT INTO retry_requests (workspace_id, webhook_id, request_hash, retried_messages,
                            create_time)
VALUES ($1, $2, $3, 0, now())
ON CONFLICT DO NOTHING
RETURNING 1;

-- name: request_answer
SELECT retried_messages FROM retry_requests
WHERE workspace_id = $1 AND webhook_id = $2 AND request_hash = $3;

-- name: save_answer
UPDATE retry_requests SET retried_messages = $4
WHERE workspace_id = $1 AND webhook_id = $2 AND request_hash = $3;

-- name: retry_failed
-- A manual attempt of every FAILED live message of webhook $2 created in [$3, $4),
-- not purged, as Retry makes one, in one statement. Ids are UUIDv7 (their creation time
-- first), so the id range ($5, $6: the window widened by a minute each side, as an id is
-- made a moment before its row's create_time) reads only the window's partitions.
WITH retried AS (
    UPDATE messages m
    SET status = 'PENDING', manual = true, next_attempt_time = now(), locked_until = NULL,
        update_time = now()
    WHERE m.workspace_id = $1 AND m.webhook_id = $2
      AND m.id >= hooksmith_uuid_floor($5) AND m.id < hooksmith_uuid_floor($6)
      AND m.create_time >= $3 AND m.create_time < $4
      AND m.status = 'FAILED' AND m.kind = 'LIVE' AND m.purge_time IS NULL
    RETURNING 1
)
SELECT count(*) FROM retried;

-- name: notify
SELECT pg_notify('hooksmith_queue', '');
