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
    (SELECT greatest(0, extract(epoch FROM now() - min(l.next_attempt_time)))::float8
     FROM hooksmith_lane_heads($2) l) AS oldest_due_age,
    (SELECT count(*) FROM destinations WHERE paused_until > now()) AS paused;
