-- name: insert_live
-- One row per recipient; with an idempotency key, a (webhook, key, user) that
-- already has a message is skipped and looked up by find_idempotent.
INSERT INTO messages (workspace_id, id, webhook_id, webhook_version, kind, status, user_id,
                      recipient, data, labels, idempotency_key, next_attempt_time,
                      create_time, update_time)
SELECT $1, r.id, $2, $3, 'LIVE', 'PENDING', r.user_id, r.recipient, $4, $5, $6, now(), now(), now()
FROM jsonb_to_recordset($7::jsonb) AS r(id uuid, user_id text, recipient jsonb)
-- One order for every caller, so concurrent Sends sharing users cannot deadlock.
ORDER BY r.user_id
ON CONFLICT (workspace_id, webhook_id, idempotency_key, user_id)
    WHERE idempotency_key IS NOT NULL
    DO NOTHING;

-- name: find_idempotent
SELECT user_id, id FROM messages
WHERE workspace_id = $1 AND webhook_id = $2 AND idempotency_key = $3 AND user_id = ANY($4::text[]);

-- name: notify
SELECT pg_notify('hooksmith_queue', '');

-- name: insert_claimed_test
-- Test sends are attempted at once by the caller: inserted already claimed.
WITH inserted AS (
    INSERT INTO messages (workspace_id, id, webhook_id, webhook_version, kind, status, user_id,
                          recipient, data, labels, attempt_count, next_attempt_time, locked_until,
                          create_time, update_time)
    SELECT $1, r.id, $2, $3, 'TEST', 'PENDING', r.user_id, r.recipient, $4, '{}', 1,
           now() + $5::interval, now() + $5::interval, now(), now()
    FROM jsonb_to_recordset($6::jsonb) AS r(id uuid, user_id text, recipient jsonb)
    RETURNING workspace_id, id
)
INSERT INTO attempts (workspace_id, message_id, number, trigger, start_time)
SELECT workspace_id, id, 1, 'SCHEDULED', now() FROM inserted;

-- name: claim
-- Take up to $1 due messages. The lease is the webhook's timeout plus a margin
-- ($2 seconds); the claim is committed before any HTTP so no row lock is held
-- while a receiver answers, and an attempt row records that the attempt began.
-- A lease still set means the previous attempt ended without an outcome. Test
-- sends are attempted by their caller only, and messages interrupted $4 times
-- are left to give_up.
WITH due AS (
    SELECT id FROM messages
    WHERE status = 'PENDING' AND next_attempt_time <= now()
      AND NOT (kind = 'TEST' AND NOT manual)
      AND NOT (locked_until IS NOT NULL AND interrupted_attempts >= $4)
    ORDER BY next_attempt_time
    LIMIT $1
    FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE messages m
    SET attempt_count = m.attempt_count + 1,
        interrupted_attempts = m.interrupted_attempts + (m.locked_until IS NOT NULL)::int,
        locked_until = now() + make_interval(secs =>
            coalesce((v.spec -> 'policy' ->> 'timeout')::float8, $3) + $2),
        next_attempt_time = now() + make_interval(secs =>
            coalesce((v.spec -> 'policy' ->> 'timeout')::float8, $3) + $2),
        update_time = now()
    FROM due, webhook_versions v
    WHERE m.id = due.id
      AND v.workspace_id = m.workspace_id AND v.webhook_id = m.webhook_id
      AND v.version = m.webhook_version
    RETURNING m.workspace_id, m.id, m.webhook_id, m.webhook_version, m.kind, m.recipient, m.data,
              m.attempt_count, m.failures, m.manual
), started AS (
    INSERT INTO attempts (workspace_id, message_id, number, trigger, start_time)
    SELECT workspace_id, id, attempt_count,
           CASE WHEN manual THEN 'MANUAL' ELSE 'SCHEDULED' END, now()
    FROM claimed
)
SELECT * FROM claimed;

-- name: next_due
SELECT min(next_attempt_time) FROM messages WHERE status = 'PENDING';

-- name: give_up
-- Fail what must not be attempted again: test sends whose caller went away
-- mid-attempt, and messages whose attempts keep ending without an outcome.
UPDATE messages
SET status = 'FAILED', next_attempt_time = NULL, locked_until = NULL, update_time = now(),
    last_error = CASE WHEN kind = 'TEST' AND NOT manual THEN $2 ELSE $3 END
WHERE status = 'PENDING' AND next_attempt_time <= now() AND locked_until IS NOT NULL
  AND ((kind = 'TEST' AND NOT manual) OR interrupted_attempts >= $1);

-- name: record_attempts
UPDATE attempts a
SET start_time = r.start_time, duration = make_interval(secs => r.duration),
    request = r.request, response = r.response, error = r.error
FROM jsonb_to_recordset($1::jsonb) AS r(message_id uuid, number int, start_time timestamptz,
     duration float8, request jsonb, response jsonb, error text)
WHERE a.message_id = r.message_id AND a.number = r.number;

-- name: record_messages
-- A stale outcome (the lease expired and a newer attempt began) is kept as
-- its attempt only: the message follows its latest attempt. A message without
-- a lease has its outcome already, or was requeued by Retry since: a replayed
-- write must not undo either.
UPDATE messages m
SET status = r.status, failures = r.failures, next_attempt_time = r.next_attempt_time,
    locked_until = NULL, manual = false, last_request = r.request,
    last_response = r.response, last_error = r.error, update_time = now()
FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, number int, status text, failures int,
     next_attempt_time timestamptz, request jsonb, response jsonb, error text)
WHERE m.id = r.id AND m.attempt_count = r.number AND m.locked_until IS NOT NULL;

-- name: requeue
-- Retry: a new manual attempt of a finished message.
UPDATE messages
SET status = 'PENDING', manual = true, next_attempt_time = now(), locked_until = NULL,
    update_time = now()
WHERE workspace_id = $1 AND id = $2 AND status <> 'PENDING'
RETURNING id;
