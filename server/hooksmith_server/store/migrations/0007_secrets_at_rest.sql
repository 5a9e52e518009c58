-- Secrets at rest: signing secrets and header values marked secret are stored sealed
-- (AES-256-GCM envelopes `v1:<key id>:<base64>`, see store/crypto.py) instead of in
-- plain text. Signing secrets keep their column; a secret header keeps its name and
-- `secret` flag in the spec, and its value moves from `value` to `sealed`.

-- Every key that has sealed a value still stored, with a known text sealed under it.
-- A process refuses to start when the database lists a key it lacks or when its key's
-- check does not open; `secrets rotate-key` removes a key once nothing is sealed with it.
-- A transaction that seals holds its key's row FOR SHARE, so a key is never removed
-- while a value sealed with it is being written.
CREATE TABLE secret_keys (
    key_id      text PRIMARY KEY,
    key_check   text NOT NULL,
    create_time timestamptz NOT NULL DEFAULT now()
);

-- One row: whether values written before this migration may still be in plain text.
-- The first process to start after the upgrade seals them and clears the flag.
CREATE TABLE secret_sealing (
    only_row       boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    plaintext_left boolean NOT NULL
);

INSERT INTO secret_sealing (plaintext_left) VALUES (true);
