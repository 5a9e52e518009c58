-- name: insert_live
-- The messages of one or more Sends ($2: one object per Send, numbered by `send`),
-- one row per recipient ($1). A recipient with an idempotency key ($1's `key_hash`:
-- sha256 of the key and the user) claims the key in idempotency_keys first; a key
-- already held (by an earlier Send, even one whose message retention has removed) gets
-- no new message, and find_idempotent looks up the id it holds.
WITH r AS (
    SELECT s.workspace_id, r.id, s.webhook_id, s.webhook_version, r.user_id, r.recipient,
           s.data, s.labels, s.destination, s.traceparent, decode(r.key_hash, 'hex') AS key_hash
    FROM jsonb_to_recordset($1::jsonb) AS r (send int, id uuid, user_id text, recipient jsonb,
         key_hash text)
    JOIN jsonb_to_recordset($2::jsonb) AS s (send int, workspace_id uuid, webhook_id uuid,
         webhook_version int, data jsonb, labels jsonb, destination text, traceparent text)
      ON s.send = r.send
), keys AS (
    INSERT INTO idempotency_keys (workspace_id, webhook_id, key_hash, message_id, create_time)
    SELECT workspace_id, webhook_id, key_hash, id, now() FROM r
    WHERE key_hash IS NOT NULL
    -- One order for every caller, so concurrent Sends sharing keys cannot deadlock.
    ORDER BY workspace_id, webhook_id, key_hash
    ON CONFLICT (workspace_id, webhook_id, key_hash) DO NOTHING
    RETURNING message_id
)
INSERT INTO messages (workspace_id, id, webhook_id, webhook_version, kind, status, user_id,
                      recipient, data, labels, destination, next_attempt_time,
                      create_time, update_time, traceparent)
SELECT r.workspace_id, r.id, r.webhook_id, r.webhook_version, 'LIVE', 'PENDING', r.user_id,
       r.recipient, r.data, r.labels, r.destination, now(), now(), now(), r.traceparent
FROM r
WHERE r.key_hash IS NULL OR r.id IN (SELECT message_id FROM keys);

-- name: insert_live_and_notify
-- insert_live and notify in one statement, its own transaction: for Sends without an
-- idempotency key, whose rows never conflict. One round trip instead of four.
WITH inserted AS (
    INSERT INTO messages (workspace_id, id, webhook_id, webhook_version, kind, status, user_id,
                          recipient, data, labels, destination,
                          next_attempt_time, create_time, update_time, traceparent)
    SELECT s.workspace_id, r.id, s.webhook_id, s.webhook_version, 'LIVE', 'PENDING',
           r.user_id, r.recipient, s.data, s.labels, s.destination, now(), now(), now(),
           s.traceparent
    FROM jsonb_to_recordset($1::jsonb) AS r (send int, id uuid, user_id text, recipient jsonb)
    JOIN jsonb_to_recordset($2::jsonb) AS s (send int, workspace_id uuid, webhook_id uuid,
         webhook_version int, data jsonb, labels jsonb, destination text, traceparent text)
      ON s.send = r.send
    RETURNING 1
)
SELECT pg_notify('hooksmith_queue', '') FROM (SELECT count(*) FROM inserted) AS done;

-- name: find_idempotent
-- The message id each key holds, whether or not its message is still kept.
SELECT k.send, k.user_id, i.message_id AS id
FROM jsonb_to_recordset($1::jsonb) AS k (send int, workspace_id uuid, webhook_id uuid,
     key_hash text, user_id text)
JOIN idempotency_keys i
  ON i.workspace_id = k.workspace_id AND i.webhook_id = k.webhook_id
 AND i.key_hash = decode(k.key_hash, 'hex');

-- name: notify
SELECT pg_notify('hooksmith_queue', '');

-- name: insert_claimed_test
-- Test sends are attempted at once by the caller: inserted already claimed.
WITH inserted AS (
    INSERT INTO messages (workspace_id, id, webhook_id, webhook_version, kind, status, user_id,
                          recipient, data, labels, destination, attempt_count, next_attempt_time,
                          locked_until, create_time, update_time)
    SELECT $1, r.id, $2, $3, 'TEST', 'PENDING', r.user_id, r.recipient, $4, '{}', $7, 1,
           now() + $5::interval, now() + $5::interval, now(), now()
    FROM jsonb_to_recordset($6::jsonb) AS r(id uuid, user_id text, recipient jsonb)
    RETURNING workspace_id, id
)
INSERT INTO attempts (workspace_id, message_id, number, trigger, start_time)
SELECT workspace_id, id, 1, 'SCHEDULED', now() FROM inserted;

-- name: claim
-- Take up to $1 due messages, shared fairly: first across the workspaces that have due
-- messages, then across each workspace's lanes (destinations), oldest first within a
-- lane. $5/$6 give this worker's attempts in flight per lane (`<workspace> <destination>`)
-- and $7 the most one lane may have in flight, so a full lane takes no more; $8 bounds
-- the lanes looked at. A lane whose breaker is open is skipped; once its cool-down is
-- over, one claim (of any process) takes one message as the probe, marked in flight for
-- $10 seconds. The lease is the webhook's timeout plus a margin ($2 seconds); the claim
-- is committed before any HTTP so no row lock is held while a receiver answers, and an
-- attempt row records that the attempt began. A lease still set means the previous
-- attempt ended without an outcome. Test sends are attempted by their caller only, and
-- messages interrupted $4 times are left to give_up. Messages of an archived webhook
-- are failed here with reason $9, those of a disabled one with $14 and its state_reason
-- (RetryFailed sends them once it is enabled again), and no request is made. A rate-limited webhook's lane
-- takes only what fits in its slots before now + $11 seconds: each message gets its
-- slot (`send_at`, 1/rate apart, after the webhook's `next_slot`) and the slot moves on.
WITH due_lanes AS (
    -- Each lane with its first entry in messages_lanes, one index probe per lane (and
    -- partition): never a join the planner could turn into a read of every pending message.
    SELECT l.workspace_id, l.destination
    FROM hooksmith_lane_heads($8) l
    WHERE l.next_attempt_time <= now()
), probes AS (
    -- SKIP LOCKED: a destination another claim is probing, or a recorder is updating,
    -- is left alone rather than waited for.
    UPDATE destinations d
    SET probing_until = now() + make_interval(secs => $10)
    FROM (
        SELECT d.workspace_id, d.destination
        FROM destinations d
        JOIN due_lanes l ON l.workspace_id = d.workspace_id AND l.destination = d.destination
        WHERE d.paused_until <= now()
          AND (d.probing_until IS NULL OR d.probing_until <= now())
        FOR UPDATE OF d SKIP LOCKED
    ) half_open
    WHERE d.workspace_id = half_open.workspace_id AND d.destination = half_open.destination
    RETURNING d.workspace_id, d.destination
), open AS (
    SELECT l.workspace_id, l.destination,
           CASE WHEN p.destination IS NOT NULL THEN 1 ELSE $7 - coalesce(busy.n, 0) END AS room,
           pace.rate, pace.next_slot
    FROM due_lanes l
    LEFT JOIN destinations d
        ON d.workspace_id = l.workspace_id AND d.destination = l.destination
    LEFT JOIN probes p ON p.workspace_id = l.workspace_id AND p.destination = l.destination
    LEFT JOIN unnest($5::text[], $6::int[]) AS busy (lane, n)
        ON busy.lane = l.workspace_id::text || ' ' || l.destination
    -- A rate-limited webhook is a lane of its own, named `webhook:<id>`.
    LEFT JOIN LATERAL (
        -- Paced a little under the limit ($13): a request that leaves late then still
        -- does not share a receiver's one-second window with one more than allowed.
        SELECT (v.spec -> 'policy' ->> 'rate_limit')::float8 * $13 AS rate, r.next_slot
        FROM webhooks w
        JOIN webhook_versions v
            ON v.workspace_id = w.workspace_id AND v.webhook_id = w.id
           AND v.version = w.latest_version
        LEFT JOIN rate_limits r ON r.workspace_id = w.workspace_id AND r.webhook_id = w.id
        WHERE w.workspace_id = l.workspace_id
          AND w.id = CASE WHEN l.destination LIKE 'webhook:%'
                          THEN substr(l.destination, 9)::uuid END
    ) pace ON true
    WHERE (p.destination IS NOT NULL OR d.paused_until IS NULL)
      AND coalesce(busy.n, 0) < $7
    -- Probes first; past that, with more lanes than the batch holds, a new sample each time.
    ORDER BY p.destination IS NULL, random()
    LIMIT $1
), shares AS (
    SELECT workspace_id, destination, rate,
           least(room, ceil(ceil($1::float8 / (SELECT count(DISTINCT workspace_id) FROM open))
                            / count(*) OVER (PARTITION BY workspace_id)),
                 CASE
                     WHEN rate IS NULL OR rate <= 0 THEN room
                     WHEN coalesce(next_slot, now()) > now() + make_interval(secs => $11) THEN 0
                     ELSE greatest(1, floor(rate * ($11 - greatest(0, extract(epoch FROM
                              coalesce(next_slot, now()) - now())))))
                 END)::int AS take
    FROM open
), picked AS (
    SELECT due.id, s.rate,
           row_number() OVER (PARTITION BY s.workspace_id, s.destination
                              ORDER BY due.next_attempt_time) AS slot
    FROM shares s CROSS JOIN LATERAL (
        SELECT m.id, m.next_attempt_time FROM messages m
        WHERE m.status = 'PENDING' AND m.workspace_id = s.workspace_id
          AND m.destination = s.destination AND m.next_attempt_time <= now()
          AND NOT (m.kind = 'TEST' AND NOT m.manual)
          AND NOT (m.locked_until IS NOT NULL AND m.interrupted_attempts >= $4)
        -- In index order, so each lane is read from messages_lanes, never sorted.
        ORDER BY m.workspace_id, m.destination, m.next_attempt_time
        LIMIT s.take
        FOR UPDATE SKIP LOCKED
    ) due
    LIMIT $1
), archived AS (
    UPDATE messages m
    SET status = 'FAILED', next_attempt_time = NULL, locked_until = NULL, manual = false,
        last_error = CASE WHEN w.state = 'ARCHIVED' THEN $9
                          ELSE $14 || coalesce(w.state_reason, 'disabled') END,
        update_time = now()
    FROM picked p, webhooks w
    -- `= ANY` of the picked ids: each partition is read by its primary key, never scanned
    -- whole for a join (the planner may prefer that with a few partitions and a backlog).
    WHERE m.id = p.id AND m.id = ANY(ARRAY(SELECT id FROM picked))
      AND w.workspace_id = m.workspace_id AND w.id = m.webhook_id
      AND w.state IN ('ARCHIVED', 'DISABLED')
), claimed AS (
    UPDATE messages m
    SET attempt_count = m.attempt_count + 1,
        interrupted_attempts = m.interrupted_attempts + (m.locked_until IS NOT NULL)::int,
        locked_until = now() + make_interval(secs =>
            coalesce((v.spec -> 'policy' ->> 'timeout')::float8, $3) + $2
            + CASE WHEN p.rate > 0 THEN 2 * $11 ELSE 0 END),
        next_attempt_time = now() + make_interval(secs =>
            coalesce((v.spec -> 'policy' ->> 'timeout')::float8, $3) + $2
            + CASE WHEN p.rate > 0 THEN 2 * $11 ELSE 0 END),
        update_time = now()
    FROM picked p, webhooks w, webhook_versions v
    WHERE m.id = p.id AND m.id = ANY(ARRAY(SELECT id FROM picked))
      AND w.workspace_id = m.workspace_id AND w.id = m.webhook_id AND w.state = 'ACTIVE'
      AND v.workspace_id = m.workspace_id AND v.webhook_id = m.webhook_id
      AND v.version = m.webhook_version
    RETURNING m.workspace_id, m.id, m.webhook_id, m.webhook_version, m.kind, m.recipient, m.data,
              m.destination, m.attempt_count, m.failures, m.manual, m.traceparent
), started AS (
    INSERT INTO attempts (workspace_id, message_id, number, trigger, start_time)
    SELECT workspace_id, id, attempt_count,
           CASE WHEN manual THEN 'MANUAL' ELSE 'SCHEDULED' END, now()
    FROM claimed
), paced AS (
    -- Under the row lock, so claims of several processes hand out disjoint slots. The
    -- first slot is $12 seconds ahead of the clock, never behind it: a slot already
    -- past by the time the worker has its claim would go out at once, beside the next.
    INSERT INTO rate_limits AS r (workspace_id, webhook_id, next_slot)
    SELECT c.workspace_id, c.webhook_id,
           clock_timestamp() + make_interval(secs => $12 + count(*) / max(p.rate))
    FROM claimed c JOIN picked p ON p.id = c.id
    WHERE p.rate > 0
    GROUP BY c.workspace_id, c.webhook_id
    ON CONFLICT (workspace_id, webhook_id) DO UPDATE
    SET next_slot = greatest(r.next_slot, clock_timestamp() + make_interval(secs => $12))
                    + (EXCLUDED.next_slot - clock_timestamp() - make_interval(secs => $12))
    RETURNING r.workspace_id, r.webhook_id, r.next_slot
)
SELECT c.*,
       -- The k-th of n messages gets next_slot - (n - k + 1) / rate.
       pc.next_slot - make_interval(secs =>
           (count(*) OVER w - row_number() OVER (w ORDER BY p.slot) + 1) / p.rate) AS send_at
FROM claimed c
JOIN picked p ON p.id = c.id
LEFT JOIN paced pc ON pc.workspace_id = c.workspace_id AND pc.webhook_id = c.webhook_id
WINDOW w AS (PARTITION BY c.workspace_id, c.webhook_id);

-- name: next_due
-- The earliest next attempt over every lane: the first index entry of each.
SELECT min(l.next_attempt_time) FROM hooksmith_lane_heads($1) l;

-- name: give_up
-- Fail what must not be attempted again: test sends whose caller went away
-- mid-attempt, and messages whose attempts keep ending without an outcome.
UPDATE messages
SET status = 'FAILED', next_attempt_time = NULL, locked_until = NULL, update_time = now(),
    last_error = CASE WHEN kind = 'TEST' AND NOT manual THEN $2 ELSE $3 END
WHERE status = 'PENDING' AND next_attempt_time <= now() AND locked_until IS NOT NULL
  AND ((kind = 'TEST' AND NOT manual) OR interrupted_attempts >= $1);

-- name: interrupt
-- Attempts cut at shutdown ($1: workspace, message and attempt number): each attempt
-- keeps why ($2), and its message is due now instead of when the lease ends. The lease
-- stays set, so the next claim counts the attempt as interrupted.
WITH r AS (
    SELECT * FROM jsonb_to_recordset($1::jsonb) AS r (workspace_id uuid, message_id uuid,
                                                      number int)
), attempted AS (
    UPDATE attempts a
    SET duration = clock_timestamp() - a.start_time, error = $2
    FROM r
    WHERE a.workspace_id = r.workspace_id AND a.message_id = r.message_id
      AND a.number = r.number AND a.duration IS NULL
)
UPDATE messages m
SET next_attempt_time = now(), update_time = now()
FROM r
WHERE m.workspace_id = r.workspace_id AND m.id = r.message_id AND m.attempt_count = r.number
  AND m.status = 'PENDING' AND m.locked_until IS NOT NULL;

-- name: release
-- Claims given back before their attempt began ($1: workspace, message and attempt
-- number), at shutdown while they waited for their rate limit's turn: the attempt row
-- goes, and the message is due now with its attempt count and lease as before the claim,
-- so nothing counts it as tried or interrupted.
WITH r AS (
    SELECT * FROM jsonb_to_recordset($1::jsonb) AS r (workspace_id uuid, message_id uuid,
                                                      number int)
), released AS (
    UPDATE messages m
    SET attempt_count = m.attempt_count - 1, locked_until = NULL, next_attempt_time = now(),
        update_time = now()
    FROM r
    WHERE m.workspace_id = r.workspace_id AND m.id = r.message_id AND m.attempt_count = r.number
      AND m.status = 'PENDING' AND m.locked_until IS NOT NULL
    RETURNING m.workspace_id, m.id, r.number
)
DELETE FROM attempts a
USING released x
WHERE a.workspace_id = x.workspace_id AND a.message_id = x.id AND a.number = x.number
  AND a.duration IS NULL;

-- name: record
-- Each outcome ($1) completes its attempt row, and moves its message on. A stale
-- outcome (the lease expired and a newer attempt began) is kept as its attempt only:
-- the message follows its latest attempt. A message without a lease has its outcome
-- already, or was requeued by Retry since: a replayed write must not undo either (the
-- messages moved on are returned). The
-- message keeps the values its last attempt captured (NULL for none). A message leaving
-- PENDING is written to outcomes by the trigger of migration 0013.
WITH r AS (
    SELECT * FROM jsonb_to_recordset($1::jsonb) AS r (message_id uuid, number int,
        start_time timestamptz, duration float8, request jsonb, response jsonb, error text,
        status text, failures int, next_attempt_time timestamptz, captured jsonb)
), locked AS (
    -- Messages first, as PurgeUser locks them: a purge committing while this waits is
    -- seen here (a locked row is read as it is now, not as the statement began). The
    -- UPDATE below reads this, so the rows are locked before it changes them: a row this
    -- statement had changed already would be skipped by FOR UPDATE.
    -- In id order, as PurgeUser locks them, so the two never wait on each other. By
    -- `= ANY(ARRAY(...))`, as the claim does: a join could scan whole partitions.
    SELECT m.id, m.purge_time FROM messages m
    WHERE m.id = ANY(ARRAY(SELECT message_id FROM r))
    ORDER BY m.id
    FOR UPDATE OF m
), attempted AS (
    -- A message purged while this attempt was in flight keeps nothing of it.
    UPDATE attempts a
    SET start_time = r.start_time, duration = make_interval(secs => r.duration),
        request = r.request, response = r.response, error = r.error
    FROM r JOIN locked l ON l.id = r.message_id
    WHERE a.message_id = r.message_id AND a.number = r.number AND l.purge_time IS NULL
)
UPDATE messages m
SET status = r.status, failures = r.failures, next_attempt_time = r.next_attempt_time,
    locked_until = NULL, manual = false, last_request = r.request,
    last_response = r.response, last_error = r.error, captured = r.captured,
    update_time = now()
FROM r JOIN locked l ON l.id = r.message_id
WHERE m.id = r.message_id AND m.attempt_count = r.number AND m.locked_until IS NOT NULL
RETURNING m.id;

-- name: requeue
-- Retry: a new manual attempt of a finished message whose webhook is active (neither
-- archived nor disabled), and that was not purged: its recipient and data are gone.
UPDATE messages m
SET status = 'PENDING', manual = true, next_attempt_time = now(), locked_until = NULL,
    update_time = now()
FROM webhooks w
WHERE m.workspace_id = $1 AND m.id = $2 AND m.status <> 'PENDING' AND m.purge_time IS NULL
  AND w.workspace_id = m.workspace_id AND w.id = m.webhook_id AND w.state = 'ACTIVE'
RETURNING m.id;
