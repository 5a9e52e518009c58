-- name: track_runs
-- Each webhook's run of failed attempts, from a batch of outcomes ($1): `answered` when
-- an attempt succeeded, `failing_from` when the failures after the last success began
-- (NULL if none). A success ends the run; a failure starts one if none is going on.
-- Only rows that change are written (and locked, in one order for every recorder).
WITH r AS (
    SELECT * FROM jsonb_to_recordset($1::jsonb) AS r (workspace_id uuid, webhook_id uuid,
        answered bool, failing_from timestamptz)
), changed AS (
    SELECT w.workspace_id, w.id
    FROM webhooks w
    JOIN r ON r.workspace_id = w.workspace_id AND r.webhook_id = w.id
    WHERE (r.answered AND w.failing_since IS DISTINCT FROM r.failing_from)
       OR (NOT r.answered AND w.failing_since IS NULL)
    ORDER BY w.workspace_id, w.id
    FOR UPDATE OF w
)
UPDATE webhooks w
SET failing_since = CASE WHEN r.answered THEN r.failing_from
                         ELSE coalesce(w.failing_since, r.failing_from) END
FROM changed c
JOIN r ON r.workspace_id = c.workspace_id AND r.webhook_id = c.id
WHERE w.workspace_id = c.workspace_id AND w.id = c.id;

-- name: due_to_disable
-- Active webhooks among $1 (workspace and webhook ids) whose policy has disable_after
-- and whose run of failures began at least that long ago.
SELECT w.workspace_id, w.id, w.failing_since,
       (v.spec -> 'policy' ->> 'disable_after')::float8 AS disable_after
FROM webhooks w
JOIN jsonb_to_recordset($1::jsonb) AS r (workspace_id uuid, webhook_id uuid)
  ON r.workspace_id = w.workspace_id AND r.webhook_id = w.id
JOIN webhook_versions v
  ON v.workspace_id = w.workspace_id AND v.webhook_id = w.id AND v.version = w.latest_version
WHERE w.state = 'ACTIVE' AND w.failing_since IS NOT NULL
  AND v.spec -> 'policy' ->> 'disable_after' IS NOT NULL
  AND w.failing_since
      <= now() - make_interval(secs => (v.spec -> 'policy' ->> 'disable_after')::float8)
ORDER BY w.workspace_id, w.id
FOR UPDATE OF w;

-- name: disable
UPDATE webhooks w SET state = 'DISABLED', state_reason = r.reason
FROM jsonb_to_recordset($1::jsonb) AS r (workspace_id uuid, webhook_id uuid, reason text)
WHERE w.workspace_id = r.workspace_id AND w.id = r.webhook_id AND w.state = 'ACTIVE';
