-- Fair lanes. A message's destination is the host its webhook's URL names (or the
-- webhook itself when the host is templated); claims share a worker's capacity across
-- the (workspace, destination) lanes that have due messages, so one slow receiver or
-- one huge campaign cannot hold back the others.
ALTER TABLE messages ADD COLUMN destination text;
UPDATE messages SET destination = 'webhook:' || webhook_id::text;
ALTER TABLE messages ALTER COLUMN destination SET NOT NULL;

-- The queue, one ordered run per lane: claims walk the lanes (a loose index scan)
-- and take the oldest due messages of each, never sorting the whole backlog.
CREATE INDEX messages_lanes ON messages (workspace_id, destination, next_attempt_time)
    WHERE status = 'PENDING';
-- A planner that could also order due messages across all lanes would pick it for
-- a claim and walk the backlog; the lanes index answers next_due as well.
DROP INDEX messages_due;
-- Leased messages (attempts in flight, or ended without an outcome): few at any time.
CREATE INDEX messages_leased ON messages (next_attempt_time)
    WHERE status = 'PENDING' AND locked_until IS NOT NULL;

-- The lanes that have pending messages, at most `max_lanes` of them: one index probe
-- per lane (a loose index scan), however long each lane's backlog is.
CREATE FUNCTION hooksmith_pending_lanes(max_lanes integer)
RETURNS TABLE (workspace_id uuid, destination text)
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE lanes AS (
        (SELECT m.workspace_id, m.destination, 1 AS n FROM messages m
         WHERE m.status = 'PENDING'
         ORDER BY m.workspace_id, m.destination LIMIT 1)
        UNION ALL
        SELECT next.workspace_id, next.destination, l.n + 1
        FROM lanes l CROSS JOIN LATERAL (
            SELECT m.workspace_id, m.destination FROM messages m
            WHERE m.status = 'PENDING'
              AND (m.workspace_id, m.destination) > (l.workspace_id, l.destination)
            ORDER BY m.workspace_id, m.destination LIMIT 1
        ) next
        WHERE l.n < max_lanes
    )
    SELECT lanes.workspace_id, lanes.destination FROM lanes
$$;
