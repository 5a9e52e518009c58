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
-- The request id's row, made by the first call with its window [$4, $5) and no cursor;
-- a concurrent first call waits here until this one commits, then finds it.
INSERT INTO retry_requests (workspace_id, webhook_id, request_hash, retried_messages,
                            create_time, window_start, window_end, cursor_id, done)
VALUES ($1, $2, $3, 0, now(), $4, $5, NULL, false)
ON CONFLICT DO NOTHING;

-- name: lock_request
-- Taken by each chunk: calls with the same id go chunk by chunk, one at a time, each
-- from where the last one left the cursor. Rows of the previous version have no window
-- or cursor and are done.
SELECT retried_messages, done, window_start, window_end, cursor_id FROM retry_requests
WHERE workspace_id = $1 AND webhook_id = $2 AND request_hash = $3
FOR UPDATE;

-- name: advance_request
UPDATE retry_requests
SET retried_messages = retried_messages + $4, cursor_id = coalesce($5, cursor_id), done = $6
WHERE workspace_id = $1 AND webhook_id = $2 AND request_hash = $3
RETURNING retried_messages;

-- name: retry_chunk
-- A manual attempt, as Retry makes one, of the next $8 FAILED live unpurged messages of
-- webhook $2 created in [$3, $4), in id order after $7. Ids are UUIDv7 (their creation
-- time first), so the id range ($5, $6: the window widened by a minute each side, as an
-- id is made a moment before its row's create_time) reads only the window's partitions,
-- each an index range of messages_retryable from the cursor. The rows are locked, not
-- skipped: a row another transaction holds is waited for, then rechecked, so none is
-- passed over. Returns how many were re-queued and the last id.
WITH picked AS (
    SELECT m.id FROM messages m
    WHERE m.workspace_id = $1 AND m.webhook_id = $2
      AND m.id >= hooksmith_uuid_floor($5) AND m.id < hooksmith_uuid_floor($6) AND m.id > $7
      AND m.create_time >= $3 AND m.create_time < $4
      AND m.status = 'FAILED' AND m.kind = 'LIVE' AND m.purge_time IS NULL
    ORDER BY m.id
    LIMIT $8
    FOR UPDATE
), retried AS (
    UPDATE messages m
    SET status = 'PENDING', manual = true, next_attempt_time = now(), locked_until = NULL,
        update_time = now()
    FROM picked
    WHERE m.id = picked.id
      AND m.id >= hooksmith_uuid_floor($5) AND m.id < hooksmith_uuid_floor($6)
    RETURNING m.id
)
SELECT (SELECT count(*) FROM retried) AS retried,
       (SELECT id FROM retried ORDER BY id DESC LIMIT 1) AS last;

-- name: notify
SELECT pg_notify('hooksmith_queue', '');
