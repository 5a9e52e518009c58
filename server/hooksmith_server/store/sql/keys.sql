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
SELECT k.workspace_id, k.scope, w.name AS workspace_name
FROM api_keys k JOIN workspaces w ON w.id = k.workspace_id
WHERE k.key_hash = $1 AND k.revoke_time IS NULL;

-- name: count_keys
SELECT count(*) FROM api_keys WHERE revoke_time IS NULL;
