-- The outcome stream (WatchOutcomes): the outcomes table of migration 0013, read in
-- (xid, seq) order and only below the horizon, the xmin of the reading statement's own
-- snapshot: every transaction with a smaller id has ended, so no row can still appear
-- behind a position once it is returned.

-- name: horizon
-- Where a stream that starts now begins: outcomes of transactions from the horizon on.
SELECT pg_snapshot_xmin(pg_current_snapshot())::text;

-- name: read
-- Up to $4 outcomes of workspace $1 after position ($2, $3), in stream order, each
-- saying whether the stream's filters want it: webhooks $5 (empty: all), labels $6 (all
-- must match), test messages when $7. Filtered in this select rather than the WHERE
-- clause, so a stream that wants little still moves past what it skips. The horizon of
-- this statement's snapshot comes first, on a row of its own when there is no outcome.
WITH h AS (
    SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin
)
SELECT h.xmin::text AS horizon, o.xid::text AS xid, o.seq, o.message_id, o.webhook_id,
       o.user_id, o.labels, o.kind, o.status, o.status_code, o.error, o.captured,
       o.finish_time,
       (cardinality($5::uuid[]) = 0 OR o.webhook_id = ANY($5::uuid[]))
       AND o.labels @> $6::jsonb AND ($7::boolean OR o.kind = 'LIVE') AS wanted
FROM h
LEFT JOIN LATERAL (
    SELECT * FROM outcomes
    WHERE workspace_id = $1
      AND (xid, seq) > ($2::text::xid8, $3::bigint)
      AND xid < h.xmin
    ORDER BY xid, seq
    LIMIT $4
) o ON true
ORDER BY o.xid, o.seq;
