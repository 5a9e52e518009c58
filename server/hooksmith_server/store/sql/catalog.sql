-- name: insert_webhook
INSERT INTO webhooks (workspace_id, id, latest_version, state, create_time, update_time)
VALUES ($1, $2, 1, 'ACTIVE', $3, $3);

-- name: insert_version
-- $7: the id of the API key that saved the version.
INSERT INTO webhook_versions
    (workspace_id, webhook_id, version, spec, data_fields, create_time, created_by_key)
VALUES ($1, $2, $3, $4, $5, $6, $7);

-- name: key_prefix
SELECT prefix FROM api_keys WHERE id = $1;

-- name: insert_secret
INSERT INTO signing_secrets (workspace_id, webhook_id, secret, create_time)
VALUES ($1, $2, $3, $4);

-- name: expire_secrets
-- Older secrets keep signing until $3 (the rotation grace period).
UPDATE signing_secrets SET expire_time = $3
WHERE workspace_id = $1 AND webhook_id = $2
  AND (expire_time IS NULL OR expire_time > $3);

-- name: lock_webhook
SELECT latest_version, state FROM webhooks
WHERE workspace_id = $1 AND id = $2
FOR UPDATE;

-- name: bump_version
UPDATE webhooks SET latest_version = $3, update_time = $4
WHERE workspace_id = $1 AND id = $2;

-- name: enable_webhook
-- Update of a DISABLED webhook makes it ACTIVE again, with a new run of failures.
UPDATE webhooks SET state = 'ACTIVE', state_reason = NULL, failing_since = NULL
WHERE workspace_id = $1 AND id = $2 AND state = 'DISABLED';

-- name: archive_webhook
UPDATE webhooks SET state = 'ARCHIVED', state_reason = NULL, update_time = $3
WHERE workspace_id = $1 AND id = $2;

-- name: get_webhook
-- $3 = 0 reads the latest version.
SELECT w.id, v.version, v.spec, v.data_fields, w.state, w.state_reason, w.create_time,
       CASE WHEN v.version = w.latest_version THEN w.update_time ELSE v.create_time END
           AS update_time,
       (SELECT k.prefix FROM api_keys k WHERE k.id = v.created_by_key) AS created_by_key,
       (SELECT s.secret FROM signing_secrets s
         WHERE s.workspace_id = w.workspace_id AND s.webhook_id = w.id
         ORDER BY s.create_time DESC LIMIT 1) AS signing_secret
FROM webhooks w
JOIN webhook_versions v
  ON v.workspace_id = w.workspace_id AND v.webhook_id = w.id
 AND v.version = CASE WHEN $3 = 0 THEN w.latest_version ELSE $3 END
WHERE w.workspace_id = $1 AND w.id = $2;

-- name: list_webhooks
-- Newest first; the cursor ($3, $4) is the (create_time, id) of the previous page's last row.
SELECT w.id, v.version, v.spec, v.data_fields, w.state, w.state_reason, w.create_time,
       w.update_time,
       (SELECT k.prefix FROM api_keys k WHERE k.id = v.created_by_key) AS created_by_key,
       (SELECT s.secret FROM signing_secrets s
         WHERE s.workspace_id = w.workspace_id AND s.webhook_id = w.id
         ORDER BY s.create_time DESC LIMIT 1) AS signing_secret
FROM webhooks w
JOIN webhook_versions v
  ON v.workspace_id = w.workspace_id AND v.webhook_id = w.id AND v.version = w.latest_version
WHERE w.workspace_id = $1
  AND ($2 OR w.state <> 'ARCHIVED')
  AND ($3::timestamptz IS NULL OR (w.create_time, w.id) < ($3, $4::uuid))
ORDER BY w.create_time DESC, w.id DESC
LIMIT $5;

-- name: active_secrets
-- Newest first: the secrets requests are signed with at time $3.
SELECT secret FROM signing_secrets
WHERE workspace_id = $1 AND webhook_id = $2 AND (expire_time IS NULL OR expire_time > $3)
ORDER BY create_time DESC;
