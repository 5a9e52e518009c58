-- API key lifecycle: when a key was last used, and which key saved each webhook version.

-- Written at most once a minute per key (see keys.sql `find_key`), never on every call.
ALTER TABLE api_keys ADD COLUMN last_use_time timestamptz;

-- The key that saved the version; NULL for versions saved before keys were recorded.
ALTER TABLE webhook_versions ADD COLUMN created_by_key uuid REFERENCES api_keys (id);

-- `keys revoke PREFIX` and `keys list` find keys by prefix.
CREATE INDEX api_keys_prefix ON api_keys (prefix);
