-- name: ensure
-- A row for every destination of a batch, in one order for every caller.
INSERT INTO destinations (workspace_id, destination)
SELECT r.workspace_id, r.destination
FROM jsonb_to_recordset($1::jsonb) AS r (workspace_id uuid, destination text)
ORDER BY r.workspace_id, r.destination
ON CONFLICT DO NOTHING;

-- name: close
-- Destinations whose attempts in a batch ended in success: healthy again. Only rows
-- that were not healthy already are written; returns them, with what they were.
UPDATE destinations d
SET failures = 0, trips = 0, paused_until = NULL, probing_until = NULL, update_time = now()
FROM (
    SELECT d.workspace_id, d.destination, d.paused_until
    FROM destinations d
    JOIN jsonb_to_recordset($1::jsonb) AS r (workspace_id uuid, destination text)
      ON r.workspace_id = d.workspace_id AND r.destination = d.destination
    WHERE d.failures > 0 OR d.paused_until IS NOT NULL
    ORDER BY d.workspace_id, d.destination
    FOR UPDATE OF d
) old
WHERE d.workspace_id = old.workspace_id AND d.destination = old.destination
RETURNING d.workspace_id, d.destination, old.paused_until, d.last_error;

-- name: lock
SELECT d.workspace_id, d.destination, d.failures, d.trips, d.paused_until,
       d.probing_until IS NOT NULL AND d.probing_until > now() AS probing, d.last_error
FROM destinations d
JOIN jsonb_to_recordset($1::jsonb) AS r (workspace_id uuid, destination text)
  ON r.workspace_id = d.workspace_id AND r.destination = d.destination
ORDER BY d.workspace_id, d.destination
FOR UPDATE OF d;

-- name: save
UPDATE destinations d
SET failures = r.failures, trips = r.trips, paused_until = r.paused_until,
    probing_until = CASE WHEN r.probing THEN d.probing_until END,
    last_error = r.last_error, update_time = now()
FROM jsonb_to_recordset($1::jsonb) AS r (workspace_id uuid, destination text, failures int,
     trips int, paused_until timestamptz, probing bool, last_error text)
WHERE d.workspace_id = r.workspace_id AND d.destination = r.destination;

-- name: health
SELECT destination, failures, paused_until, last_error
FROM destinations
WHERE workspace_id = $1 AND destination = ANY($2::text[]);
