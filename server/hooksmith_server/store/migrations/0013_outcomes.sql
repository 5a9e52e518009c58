-- Outcomes for journeys: the values a webhook's 2xx JSON response named in its spec's
-- `capture` (kept on the message), and the outcomes table WatchOutcomes reads.

-- The captured values of the message's last attempt: a JSON object of strings, NULL
-- when nothing was captured. PurgeUser erases it.
ALTER TABLE messages ADD COLUMN captured jsonb;

-- One row each time a message leaves PENDING (SUCCEEDED, FAILED or SKIPPED; a message
-- retried and finished again has a row per finish), written by a trigger on messages,
-- so that every path that finishes a message (the recorder, SendTest, archived and
-- disabled webhooks, give_up, PurgeUser) is seen, in the transaction that finishes it.
--
-- Readers follow the table by (xid, seq): `xid` is the writing transaction's id, and a
-- reader only returns rows whose xid is below the xmin of its snapshot, when every
-- transaction that could still add a row before that point has ended. Transactions
-- commit out of the order of their ids; reading only below the horizon is what keeps a
-- cursor exactly-once: nothing can appear later behind a position already returned.
--
-- Partitioned by message id in the same daily ranges as messages, so retention drops a
-- day's outcomes with its messages (and deletes them with a message it deletes alone).
CREATE TABLE outcomes (
    workspace_id uuid NOT NULL,
    message_id   uuid NOT NULL,
    seq          bigserial,
    xid          xid8 NOT NULL DEFAULT pg_current_xact_id(),
    webhook_id   uuid NOT NULL,
    user_id      text NOT NULL,
    labels       jsonb NOT NULL,
    kind         text NOT NULL,
    status       text NOT NULL,
    -- The last response's status code; 0 when none arrived.
    status_code  integer NOT NULL,
    error        text,
    captured     jsonb,
    finish_time  timestamptz NOT NULL,
    PRIMARY KEY (message_id, seq)
) PARTITION BY RANGE (message_id);
CREATE TABLE outcomes_default PARTITION OF outcomes DEFAULT;

-- The one index readers need: a workspace's outcomes in stream order.
CREATE INDEX outcomes_stream ON outcomes (workspace_id, xid, seq);

-- An outcome partition beside each daily partition of messages, with the same bounds.
DO $$
DECLARE
    part record;
BEGIN
    FOR part IN
        SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) AS bound
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'messages'::regclass AND c.relname ~ '^messages_p[0-9]{8}$'
    LOOP
        EXECUTE format('CREATE TABLE %I PARTITION OF outcomes %s',
                       replace(part.relname, 'messages_', 'outcomes_'), part.bound);
    END LOOP;
END
$$;

CREATE FUNCTION hooksmith_record_outcome() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO outcomes (workspace_id, message_id, webhook_id, user_id, labels, kind, status,
                          status_code, error, captured, finish_time)
    VALUES (NEW.workspace_id, NEW.id, NEW.webhook_id, NEW.user_id, NEW.labels, NEW.kind,
            NEW.status, coalesce((NEW.last_response ->> 'status_code')::integer, 0),
            NEW.last_error, NEW.captured, NEW.update_time);
    -- One notice a workspace a transaction: PostgreSQL folds identical ones together.
    PERFORM pg_notify('hooksmith_outcomes', NEW.workspace_id::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER messages_finished AFTER UPDATE ON messages
    FOR EACH ROW WHEN (NEW.status <> 'PENDING' AND OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION hooksmith_record_outcome();
CREATE TRIGGER messages_inserted_finished AFTER INSERT ON messages
    FOR EACH ROW WHEN (NEW.status <> 'PENDING')
    EXECUTE FUNCTION hooksmith_record_outcome();

-- Daily partitions of messages, attempts and outcomes (as migration 0011 made them for the
-- first two), for the UTC days first_day..last_day that lack them.
CREATE OR REPLACE FUNCTION hooksmith_ensure_partitions(first_day date, last_day date)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    day  date;
    low  uuid;
    high uuid;
    made integer := 0;
BEGIN
    -- One maker at a time: processes starting together would race for the same names.
    PERFORM pg_advisory_xact_lock(hashtext('hooksmith_partitions'));
    FOR day IN SELECT generate_series(first_day, last_day, interval '1 day')::date LOOP
        CONTINUE WHEN to_regclass(format('messages_p%s', to_char(day, 'YYYYMMDD'))) IS NOT NULL;
        low := hooksmith_uuid_floor(day::timestamp AT TIME ZONE 'UTC');
        high := hooksmith_uuid_floor((day + 1)::timestamp AT TIME ZONE 'UTC');
        CONTINUE WHEN EXISTS (SELECT 1 FROM messages_default WHERE id >= low AND id < high)
                   OR EXISTS (SELECT 1 FROM attempts_default
                              WHERE message_id >= low AND message_id < high)
                   OR EXISTS (SELECT 1 FROM outcomes_default
                              WHERE message_id >= low AND message_id < high);
        EXECUTE format('CREATE TABLE %I PARTITION OF messages FOR VALUES FROM (%L) TO (%L)',
                       format('messages_p%s', to_char(day, 'YYYYMMDD')), low, high);
        EXECUTE format('CREATE TABLE %I PARTITION OF attempts FOR VALUES FROM (%L) TO (%L)',
                       format('attempts_p%s', to_char(day, 'YYYYMMDD')), low, high);
        EXECUTE format('CREATE TABLE %I PARTITION OF outcomes FOR VALUES FROM (%L) TO (%L)',
                       format('outcomes_p%s', to_char(day, 'YYYYMMDD')), low, high);
        made := made + 1;
    END LOOP;
    RETURN made;
END
$$;

-- As in migration 0011, and the day's outcomes go with its messages and attempts.
CREATE OR REPLACE FUNCTION hooksmith_drop_partition(day date, finished_before timestamptz)
RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    part text := format('messages_p%s', to_char(day, 'YYYYMMDD'));
    held boolean;
    attempt integer;
BEGIN
    IF to_regclass(part) IS NULL THEN
        RETURN false;
    END IF;
    FOR attempt IN 1..2 LOOP
        IF attempt = 2 THEN
            -- Dropping a partition locks its parent; every parent at once, in one order.
            LOCK TABLE messages, attempts, outcomes IN ACCESS EXCLUSIVE MODE;
        END IF;
        EXECUTE format(
            'SELECT EXISTS (SELECT 1 FROM %1$I WHERE status = ''PENDING'')
                 OR EXISTS (SELECT 1 FROM %1$I WHERE status <> ''PENDING'' AND update_time >= $1)',
            part) INTO held USING finished_before;
        IF held THEN
            RETURN false;
        END IF;
    END LOOP;
    EXECUTE format('DROP TABLE IF EXISTS %I', format('outcomes_p%s', to_char(day, 'YYYYMMDD')));
    EXECUTE format('DROP TABLE %I', format('attempts_p%s', to_char(day, 'YYYYMMDD')));
    EXECUTE format('DROP TABLE %I', part);
    RETURN true;
END
$$;
