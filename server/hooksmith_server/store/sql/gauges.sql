-- name: queue_stats
-- The queue gauges of /metrics, read at each scrape: pending messages due now and
-- waiting for later (each count stops at $1, so a huge backlog costs a bounded scan
-- of the lanes index), the age of the oldest due message (the first entry of each of
-- at most $2 lanes), and the destinations whose breaker is open.
SELECT
    (SELECT count(*) FROM (
        SELECT 1 FROM messages m
        WHERE m.status = 'PENDING' AND m.next_attempt_time <= now() LIMIT $1) d) AS due,
    (SELECT count(*) FROM (
        SELECT 1 FROM messages m
        WHERE m.status = 'PENDING' AND m.next_attempt_time > now() LIMIT $1) w) AS waiting,
    (SELECT greatest(0, extract(epoch FROM now() - min(first.next_attempt_time)))::float8
     FROM hooksmith_pending_lanes($2) l CROSS JOIN LATERAL (
         SELECT m.next_attempt_time FROM messages m
         WHERE m.status = 'PENDING' AND m.workspace_id = l.workspace_id
           AND m.destination = l.destination
         ORDER BY m.workspace_id, m.destination, m.next_attempt_time
         LIMIT 1
     ) first) AS oldest_due_age,
    (SELECT count(*) FROM destinations WHERE paused_until > now()) AS paused;
