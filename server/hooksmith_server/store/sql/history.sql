-- name: webhook_state
SELECT w.state
FROM messages m JOIN webhooks w ON w.workspace_id = m.workspace_id AND w.id = m.webhook_id
WHERE m.workspace_id = $1 AND m.id = $2;

-- name: get_messages
SELECT id, webhook_id, webhook_version, user_id, kind, status, attempt_count, last_request,
       last_response, last_error, labels, create_time, update_time, next_attempt_time
FROM messages
WHERE workspace_id = $1 AND id = ANY($2::uuid[]);

-- name: get_attempts
SELECT message_id, number, trigger, start_time, duration, request, response, error
FROM attempts
WHERE workspace_id = $1 AND message_id = ANY($2::uuid[])
ORDER BY message_id, number;

-- name: list_history
SELECT id, webhook_id, webhook_version, user_id, kind, status, attempt_count, last_request,
       last_response, last_error, labels, create_time, update_time, next_attempt_time
FROM messages
WHERE workspace_id = $1
  AND ($2::uuid IS NULL OR webhook_id = $2)
  AND (cardinality($3::text[]) = 0 OR status = ANY($3::text[]))
  AND ($4::text IS NULL OR kind = $4)
  AND ($5::text IS NULL OR user_id = $5)
  AND ($6::timestamptz IS NULL OR create_time >= $6)
  AND ($7::timestamptz IS NULL OR create_time < $7)
  AND labels @> $8::jsonb
  AND ($9::timestamptz IS NULL OR (create_time, id) < ($9, $10::uuid))
ORDER BY create_time DESC, id DESC
LIMIT $11;

-- name: delete_expired
-- Retention, from when a message finished, in small batches so no long lock is taken.
DELETE FROM messages
WHERE id IN (
    SELECT id FROM messages
    WHERE update_time < $1 AND status <> 'PENDING'
    LIMIT $2
);
