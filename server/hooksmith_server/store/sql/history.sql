-- name: webhook_state
SELECT w.state
FROM messages m JOIN webhooks w ON w.workspace_id = m.workspace_id AND w.id = m.webhook_id
WHERE m.workspace_id = $1 AND m.id = $2;

-- name: get_messages
-- A pending message of a paused destination says why it waits.
SELECT m.id, m.webhook_id, m.webhook_version, m.user_id, m.kind, m.status, m.attempt_count,
       m.last_request, m.last_response, m.last_error, m.labels, m.create_time, m.update_time,
       m.next_attempt_time, m.destination, m.purge_time, m.captured,
       CASE WHEN m.status = 'PENDING' THEN d.paused_until END AS paused_until,
       d.failures AS destination_failures, d.last_error AS destination_error
FROM messages m
LEFT JOIN destinations d ON d.workspace_id = m.workspace_id AND d.destination = m.destination
WHERE m.workspace_id = $1 AND m.id = ANY($2::uuid[]);

-- name: get_attempts
SELECT message_id, number, trigger, start_time, duration, request, response, error
FROM attempts
WHERE workspace_id = $1 AND message_id = ANY($2::uuid[])
ORDER BY message_id, number;

-- name: list_history
-- A pending message of a paused destination says why it waits.
SELECT m.id, m.webhook_id, m.webhook_version, m.user_id, m.kind, m.status, m.attempt_count,
       m.last_request, m.last_response, m.last_error, m.labels, m.create_time, m.update_time,
       m.next_attempt_time, m.destination, m.purge_time, m.captured,
       CASE WHEN m.status = 'PENDING' THEN d.paused_until END AS paused_until,
       d.failures AS destination_failures, d.last_error AS destination_error
FROM messages m
LEFT JOIN destinations d ON d.workspace_id = m.workspace_id AND d.destination = m.destination
WHERE m.workspace_id = $1
  AND ($2::uuid IS NULL OR m.webhook_id = $2)
  AND (cardinality($3::text[]) = 0 OR m.status = ANY($3::text[]))
  AND ($4::text IS NULL OR m.kind = $4)
  AND ($5::text IS NULL OR m.user_id = $5)
  AND ($6::timestamptz IS NULL OR m.create_time >= $6)
  AND ($7::timestamptz IS NULL OR m.create_time < $7)
  AND m.labels @> $8::jsonb
  AND ($9::timestamptz IS NULL OR (m.create_time, m.id) < ($9, $10::uuid))
ORDER BY m.create_time DESC, m.id DESC
LIMIT $11;

-- name: list_webhook_history
-- list_history for one webhook ($2), written so that one generic plan serves every call:
-- each bound is an index condition on messages_by_webhook in every partition, with
-- infinities where the caller gave none. $5 (the user) is not used.
SELECT m.id, m.webhook_id, m.webhook_version, m.user_id, m.kind, m.status, m.attempt_count,
       m.last_request, m.last_response, m.last_error, m.labels, m.create_time, m.update_time,
       m.next_attempt_time, m.destination, m.purge_time, m.captured,
       CASE WHEN m.status = 'PENDING' THEN d.paused_until END AS paused_until,
       d.failures AS destination_failures, d.last_error AS destination_error
FROM messages m
LEFT JOIN destinations d ON d.workspace_id = m.workspace_id AND d.destination = m.destination
WHERE m.workspace_id = $1
  AND m.webhook_id = $2
  AND (cardinality($3::text[]) = 0 OR m.status = ANY($3::text[]))
  AND ($4::text IS NULL OR m.kind = $4)
  AND $5::text IS NULL
  AND m.create_time >= coalesce($6::timestamptz, '-infinity')
  AND m.create_time < coalesce($7::timestamptz, 'infinity')
  AND m.labels @> $8::jsonb
  AND (m.create_time, m.id) < (coalesce($9::timestamptz, 'infinity'),
                                coalesce($10::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
ORDER BY m.create_time DESC, m.id DESC
LIMIT $11;

-- name: hourly_counts
-- Messages created in the $3 hours up to $2, by webhook, status and hour (0 = the last).
SELECT webhook_id, status,
       floor(extract(epoch FROM ($2::timestamptz - create_time)) / 3600)::int AS hours_ago,
       count(*)::int AS n
FROM messages
WHERE workspace_id = $1
  AND create_time > $2::timestamptz - make_interval(hours => $3::int)
  AND create_time <= $2::timestamptz
GROUP BY webhook_id, status, hours_ago;
