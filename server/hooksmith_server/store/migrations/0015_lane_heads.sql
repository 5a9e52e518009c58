-- Each pending lane with its first entry, in one walk of the lanes index.
--
-- hooksmith_pending_lanes (0004) walks the lanes (a loose index scan: one probe per lane),
-- and every caller then probed each lane again for its first next_attempt_time. With
-- history partitioned by day each probe is one index descent per partition, so a claim
-- cost lanes × partitions twice. Ordered by the whole index key, the probe that finds
-- the next lane finds its first entry too: the same walk, half the descents.
CREATE FUNCTION hooksmith_lane_heads(max_lanes integer)
RETURNS TABLE (workspace_id uuid, destination text, next_attempt_time timestamptz)
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE lanes AS (
        (SELECT m.workspace_id, m.destination, m.next_attempt_time, 1 AS n FROM messages m
         WHERE m.status = 'PENDING'
         ORDER BY m.workspace_id, m.destination, m.next_attempt_time LIMIT 1)
        UNION ALL
        SELECT next.workspace_id, next.destination, next.next_attempt_time, l.n + 1
        FROM lanes l CROSS JOIN LATERAL (
            SELECT m.workspace_id, m.destination, m.next_attempt_time FROM messages m
            WHERE m.status = 'PENDING'
              AND (m.workspace_id, m.destination) > (l.workspace_id, l.destination)
            ORDER BY m.workspace_id, m.destination, m.next_attempt_time LIMIT 1
        ) next
        WHERE l.n < max_lanes
    )
    SELECT lanes.workspace_id, lanes.destination, lanes.next_attempt_time FROM lanes
$$;

-- hooksmith_pending_lanes stays while processes of the previous version may still run
-- beside this one (a rolling upgrade); nothing of this version calls it.
