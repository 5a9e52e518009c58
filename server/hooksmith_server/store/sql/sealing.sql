-- name: key_rows
SELECT key_id, key_check FROM secret_keys ORDER BY create_time, key_id;

-- name: register_key
INSERT INTO secret_keys (key_id, key_check) VALUES ($1, $2)
ON CONFLICT (key_id) DO NOTHING;

-- name: hold_key
-- In a transaction that seals with key $1: `rotate-key` cannot remove the key until it ends.
SELECT 1 FROM secret_keys WHERE key_id = $1 FOR SHARE;

-- name: lock_key
-- Waits for every transaction still sealing with key $1, and keeps new ones out.
SELECT 1 FROM secret_keys WHERE key_id = $1 FOR UPDATE;

-- name: delete_key
DELETE FROM secret_keys WHERE key_id = $1;

-- name: count_sealed_with
-- Values sealed with the key whose envelopes start with $1.
SELECT (SELECT count(*) FROM signing_secrets WHERE starts_with(secret, $1))
     + (SELECT count(*) FROM alert_settings WHERE starts_with(signing_secret, $1))
     + (SELECT count(*)
          FROM webhook_versions v,
               jsonb_array_elements(coalesce(v.spec -> 'headers', '[]'::jsonb)) h
         WHERE starts_with(h ->> 'sealed', $1))
     + (SELECT count(*) FROM webhook_versions
         WHERE starts_with(spec -> 'auth' ->> 'sealed', $1)) AS n;

-- name: plaintext_left
SELECT plaintext_left FROM secret_sealing;

-- name: plaintext_sealed
UPDATE secret_sealing SET plaintext_left = false;

-- name: secrets_to_seal
-- Signing secrets whose value does not start with $1, in key order after ($2, $3, $4).
SELECT workspace_id, webhook_id, create_time, secret FROM signing_secrets
WHERE NOT starts_with(secret, $1)
  AND ($2::uuid IS NULL
       OR (workspace_id, webhook_id, create_time) > ($2::uuid, $3::uuid, $4::timestamptz))
ORDER BY workspace_id, webhook_id, create_time
LIMIT $5
FOR UPDATE;

-- name: update_secret
UPDATE signing_secrets SET secret = $4
WHERE workspace_id = $1 AND webhook_id = $2 AND create_time = $3;

-- name: versions_to_seal
-- Versions with a secret header value or an auth secret not sealed with an envelope
-- starting with $1, in key order after ($2, $3, $4).
SELECT workspace_id, webhook_id, version, spec FROM webhook_versions v
WHERE ($2::uuid IS NULL
       OR (workspace_id, webhook_id, version) > ($2::uuid, $3::uuid, $4::integer))
  AND (EXISTS (
      SELECT 1 FROM jsonb_array_elements(coalesce(v.spec -> 'headers', '[]'::jsonb)) h
      WHERE coalesce((h ->> 'secret')::boolean, false)
        AND NOT starts_with(coalesce(h ->> 'sealed', ''), $1))
       OR (jsonb_typeof(v.spec -> 'auth') = 'object'
           AND NOT starts_with(coalesce(v.spec -> 'auth' ->> 'sealed', ''), $1)))
ORDER BY workspace_id, webhook_id, version
LIMIT $5
FOR UPDATE;

-- name: update_spec
UPDATE webhook_versions SET spec = $4
WHERE workspace_id = $1 AND webhook_id = $2 AND version = $3;

-- name: alert_secrets_to_seal
-- Alert signing secrets whose value does not start with $1, in workspace order after $2.
SELECT workspace_id, signing_secret FROM alert_settings
WHERE NOT starts_with(signing_secret, $1)
  AND ($2::uuid IS NULL OR workspace_id > $2::uuid)
ORDER BY workspace_id
LIMIT $3
FOR UPDATE;

-- name: update_alert_secret
UPDATE alert_settings SET signing_secret = $2 WHERE workspace_id = $1;
