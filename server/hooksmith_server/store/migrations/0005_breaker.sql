-- The circuit breaker of each destination (a lane), shared by every process.
CREATE TABLE destinations (
    workspace_id  uuid NOT NULL REFERENCES workspaces (id),
    destination   text NOT NULL,
    -- Attempts that failed in a row (connection errors, timeouts, 408, 429, 5xx).
    failures      integer NOT NULL DEFAULT 0,
    -- Times the breaker opened in a row: each doubles the cool-down.
    trips         integer NOT NULL DEFAULT 0,
    -- Open (paused) until then; NULL while closed; past it, half-open.
    paused_until  timestamptz,
    -- A probe was claimed and is in flight until then (half-open).
    probing_until timestamptz,
    last_error    text,
    update_time   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, destination)
);
