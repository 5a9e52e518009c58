-- name: ensure_workspace
WITH inserted AS (
    INSERT INTO workspaces (id, name) VALUES ($1, $2)
    ON CONFLICT (name) DO NOTHING
    RETURNING id
)
SELECT id FROM inserted
UNION ALL
SELECT id FROM workspaces WHERE name = $2
LIMIT 1;

-- name: insert_key
INSERT INTO api_keys (id, workspace_id, key_hash, prefix, scope)
VALUES ($1, $2, $3, $4, $5);

-- name: find_key
-- An active key by its hash, with the hash as stored (compared again in constant time).
-- Its last use is written only when the one recorded is a minute old or more, so a busy
-- key costs one write a minute, not one per call.
WITH found AS (
    SELECT k.id, k.workspace_id, k.scope, k.prefix, k.key_hash, k.last_use_time,
           w.name AS workspace_name
    FROM api_keys k JOIN workspaces w ON w.id = k.workspace_id
    WHERE k.key_hash = $1 AND k.revoke_time IS NULL
), touched AS (
    UPDATE api_keys k SET last_use_time = now()
    FROM found f
    WHERE k.id = f.id
      AND (f.last_use_time IS NULL OR f.last_use_time < now() - interval '1 minute')
)
SELECT id, workspace_id, scope, prefix, key_hash, workspace_name FROM found;

-- name: count_keys
SELECT count(*) FROM api_keys WHERE revoke_time IS NULL;

-- name: list_keys
-- $1: also revoked keys.
SELECT k.id, w.name AS workspace_name, k.scope, k.prefix, k.create_time, k.last_use_time,
       k.revoke_time
FROM api_keys k JOIN workspaces w ON w.id = k.workspace_id
WHERE $1 OR k.revoke_time IS NULL
ORDER BY w.name, k.create_time, k.id;

-- name: keys_by_prefix
-- Active keys whose prefix is $1, or the one whose hash is $2 (a whole key was given).
SELECT k.id, w.name AS workspace_name, k.prefix
FROM api_keys k JOIN workspaces w ON w.id = k.workspace_id
WHERE k.revoke_time IS NULL AND (k.prefix = $1 OR k.key_hash = $2)
FOR UPDATE OF k;

-- name: revoke_key
UPDATE api_keys SET revoke_time = now() WHERE id = $1 AND revoke_time IS NULL;

-- name: notify_revoked
-- Every serving process drops the key from its cache when this commits.
SELECT pg_notify('hooksmith_key_revoked', $1::text);
