-- name: ensure_partitions
-- Daily partitions of messages and attempts for the UTC days $1..$2 that lack them.
SELECT hooksmith_ensure_partitions($1::date, $2::date);

-- name: partition_days
-- The days that have a partition of messages, oldest first.
SELECT to_date(substr(c.relname, 11), 'YYYYMMDD') AS day
FROM pg_inherits i
JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'messages'::regclass AND c.relname ~ '^messages_p[0-9]{8}$'
ORDER BY day;

-- name: drop_partition
-- Drop day $1 if nothing in it is pending and all of it finished before $2.
SELECT hooksmith_drop_partition($1::date, $2::timestamptz);

-- name: longest_retention
-- The longest retention of any workspace, at least the default ($1).
SELECT greatest($1::interval, max(history_retention)) FROM workspaces;

-- name: delete_expired
-- Up to $3 finished messages past their workspace's retention (the default is $2) at
-- time $1, with their attempts and outcomes. Per workspace, read from messages_history:
-- a message that finished before the cut-off was created before it too.
WITH expired AS (
    SELECT x.id
    FROM workspaces w
    CROSS JOIN LATERAL (
        SELECT m.id FROM messages m
        WHERE m.workspace_id = w.id
          AND m.create_time < $1::timestamptz - coalesce(w.history_retention, $2::interval)
          AND m.update_time < $1::timestamptz - coalesce(w.history_retention, $2::interval)
          AND m.status <> 'PENDING'
        LIMIT $3
    ) x
    LIMIT $3
), gone AS (
    DELETE FROM messages m USING expired WHERE m.id = expired.id
    RETURNING m.id
), gone_attempts AS (
    DELETE FROM attempts a USING gone WHERE a.message_id = gone.id
), gone_outcomes AS (
    DELETE FROM outcomes o USING gone WHERE o.message_id = gone.id
)
SELECT count(*) FROM gone;

-- name: delete_expired_keys
-- Up to $2 idempotency keys made before $1.
DELETE FROM idempotency_keys k
USING (
    SELECT workspace_id, webhook_id, key_hash FROM idempotency_keys
    WHERE create_time < $1
    LIMIT $2
) old
WHERE k.workspace_id = old.workspace_id AND k.webhook_id = old.webhook_id
  AND k.key_hash = old.key_hash;

-- name: set_workspace_retention
-- A workspace's own retention ($2; NULL returns it to the default). Its id, or no row.
UPDATE workspaces SET history_retention = $2 WHERE name = $1 RETURNING id;

-- name: delete_finished_alerts
-- Up to $2 events sent or given up on before $1.
DELETE FROM alert_events e
USING (SELECT id FROM alert_events WHERE finish_time < $1 LIMIT $2) old
WHERE e.id = old.id;

-- name: delete_old_retry_requests
-- Up to $2 RetryFailed request ids first seen before $1.
DELETE FROM retry_requests r
USING (SELECT workspace_id, webhook_id, request_hash FROM retry_requests
       WHERE create_time < $1 LIMIT $2) old
WHERE r.workspace_id = old.workspace_id AND r.webhook_id = old.webhook_id
  AND r.request_hash = old.request_hash;
