-- Workspaces, API keys and versioned webhooks.

CREATE TABLE workspaces (
    id          uuid PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    create_time timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    id           uuid PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces (id),
    -- sha256 of the whole key; keys are 256-bit random so a fast hash is enough.
    key_hash     bytea NOT NULL UNIQUE,
    -- The first characters of the key, to tell keys apart in listings.
    prefix       text NOT NULL,
    scope        text NOT NULL CHECK (scope IN ('console', 'journey')),
    create_time  timestamptz NOT NULL DEFAULT now(),
    revoke_time  timestamptz
);

CREATE TABLE webhooks (
    workspace_id   uuid NOT NULL REFERENCES workspaces (id),
    id             uuid NOT NULL,
    latest_version integer NOT NULL,
    state          text NOT NULL CHECK (state IN ('ACTIVE', 'ARCHIVED')),
    create_time    timestamptz NOT NULL,
    update_time    timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, id)
);

CREATE INDEX webhooks_listing ON webhooks (workspace_id, create_time DESC, id DESC);

CREATE TABLE webhook_versions (
    workspace_id uuid NOT NULL,
    webhook_id   uuid NOT NULL,
    version      integer NOT NULL CHECK (version > 0),
    spec         jsonb NOT NULL,
    data_fields  text[] NOT NULL,
    create_time  timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, webhook_id, version),
    FOREIGN KEY (workspace_id, webhook_id) REFERENCES webhooks (workspace_id, id)
);

-- Standard Webhooks secrets. The newest is current; an older one signs too
-- until its expire_time (set when a newer one is added).
CREATE TABLE signing_secrets (
    workspace_id uuid NOT NULL,
    webhook_id   uuid NOT NULL,
    secret       text NOT NULL,
    create_time  timestamptz NOT NULL,
    expire_time  timestamptz,
    PRIMARY KEY (workspace_id, webhook_id, create_time),
    FOREIGN KEY (workspace_id, webhook_id) REFERENCES webhooks (workspace_id, id)
);
