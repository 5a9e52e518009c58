-- History that can grow: messages and attempts partitioned by day, idempotency keys in a
-- table of their own (hashed), and a retention per workspace.
--
-- The partition key is the message id. Ids are UUIDv7: their first 48 bits are the
-- message's creation time in milliseconds, so a range of ids is a range of creation
-- times, and every look-up by id (claims, outcomes, GetMessage, attempts) reads one
-- partition. Attempts are partitioned by their message's id in the same daily ranges,
-- so a day's messages and their attempts are dropped together. Ids that are not
-- UUIDv7, or of a day without a partition, land in the DEFAULT partitions; retention
-- deletes their rows one by one.

-- The smallest UUIDv7 of a time: the lower bound of that time's partition.
CREATE FUNCTION hooksmith_uuid_floor(t timestamptz) RETURNS uuid
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT (lpad(to_hex(floor(extract(epoch FROM t) * 1000)::bigint), 12, '0')
            || '00000000000000000000')::uuid
$$;

-- The creation time a UUIDv7 carries (NULL for other versions).
CREATE FUNCTION hooksmith_uuid_time(u uuid) RETURNS timestamptz
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE WHEN substr(u::text, 15, 1) = '7' THEN
        to_timestamp(('x' || lpad(substr(replace(u::text, '-', ''), 1, 12), 16, '0'))::bit(64)
                     ::bigint / 1000.0)
    END
$$;

-- Daily partitions of messages and attempts for the UTC days first_day..last_day that
-- lack them; returns how many days were made. A day whose ids already sit in a
-- DEFAULT partition is left there (creating its partition would have to move them
-- under a lock on the whole table) and is not made.
CREATE FUNCTION hooksmith_ensure_partitions(first_day date, last_day date) RETURNS integer
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
                              WHERE message_id >= low AND message_id < high);
        EXECUTE format('CREATE TABLE %I PARTITION OF messages FOR VALUES FROM (%L) TO (%L)',
                       format('messages_p%s', to_char(day, 'YYYYMMDD')), low, high);
        EXECUTE format('CREATE TABLE %I PARTITION OF attempts FOR VALUES FROM (%L) TO (%L)',
                       format('attempts_p%s', to_char(day, 'YYYYMMDD')), low, high);
        made := made + 1;
    END LOOP;
    RETURN made;
END
$$;

-- Idempotency keys outlive their messages: a late repeat of a Send whose message
-- retention already removed gets the same id back and sends nothing. The key and the
-- user are kept only as sha256(length of the key as 4 bytes || key || user id).
CREATE TABLE idempotency_keys (
    workspace_id uuid NOT NULL,
    webhook_id   uuid NOT NULL,
    key_hash     bytea NOT NULL,
    message_id   uuid NOT NULL,
    create_time  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, webhook_id, key_hash)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (create_time);

INSERT INTO idempotency_keys (workspace_id, webhook_id, key_hash, message_id, create_time)
SELECT workspace_id, webhook_id,
       sha256(int4send(octet_length(idempotency_key)) || convert_to(idempotency_key, 'UTF8')
              || convert_to(user_id, 'UTF8')),
       id, create_time
FROM messages
WHERE idempotency_key IS NOT NULL;

-- A workspace's own retention; NULL means HOOKSMITH_HISTORY_RETENTION.
ALTER TABLE workspaces ADD COLUMN history_retention interval
    CHECK (history_retention > interval '0');

-- The partitioned tables take every column of the live ones (and their defaults and
-- checks), whichever migrations added them; then every index and foreign key of the
-- old tables is made again on the new ones, by name.
ALTER TABLE messages RENAME TO messages_unpartitioned;
ALTER TABLE attempts RENAME TO attempts_unpartitioned;

CREATE TABLE messages (
    LIKE messages_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING GENERATED
        INCLUDING STORAGE INCLUDING COMMENTS
) PARTITION BY RANGE (id);
CREATE TABLE messages_default PARTITION OF messages DEFAULT;

CREATE TABLE attempts (
    LIKE attempts_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING GENERATED
        INCLUDING STORAGE INCLUDING COMMENTS
) PARTITION BY RANGE (message_id);
CREATE TABLE attempts_default PARTITION OF attempts DEFAULT;

-- A partition for each day that has messages, and for today and the days ahead,
-- before the rows move. (Ids of other UUID versions go to the DEFAULT partitions.)
SELECT hooksmith_ensure_partitions(day, day)
FROM (SELECT DISTINCT (hooksmith_uuid_time(id) AT TIME ZONE 'UTC')::date AS day
      FROM messages_unpartitioned) days
WHERE day <= (now() AT TIME ZONE 'UTC')::date + 3;
SELECT hooksmith_ensure_partitions((now() AT TIME ZONE 'UTC')::date,
                                   (now() AT TIME ZONE 'UTC')::date + 3);

INSERT INTO messages SELECT * FROM messages_unpartitioned;
INSERT INTO attempts SELECT * FROM attempts_unpartitioned;

DO $$
DECLARE
    old_table text;
    new_table text;
    definition record;
    indexes text[] := '{}';
    keys text[] := '{}';
    statement text;
BEGIN
    FOREACH old_table IN ARRAY ARRAY['messages_unpartitioned', 'attempts_unpartitioned'] LOOP
        new_table := replace(old_table, '_unpartitioned', '');
        -- Idempotency keys now live in their own table; a primary key is made below.
        FOR definition IN
            SELECT pg_get_indexdef(i.indexrelid) AS sql
            FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
            WHERE i.indrelid = old_table::regclass AND NOT i.indisprimary
              AND c.relname <> 'messages_idempotency'
        LOOP
            indexes := indexes || regexp_replace(definition.sql,
                ' ON (ONLY )?(\S+\.)?' || old_table || ' ', ' ON \2' || new_table || ' ');
        END LOOP;
        -- Attempts keep no foreign key to messages: a day of both is dropped at once, and
        -- retention deletes a message's attempts with it.
        FOR definition IN
            SELECT conname, pg_get_constraintdef(oid) AS sql
            FROM pg_constraint
            WHERE conrelid = old_table::regclass AND contype = 'f'
              AND confrelid <> 'messages_unpartitioned'::regclass
        LOOP
            keys := keys || format('ALTER TABLE %I ADD CONSTRAINT %I %s', new_table,
                                   definition.conname, definition.sql);
        END LOOP;
    END LOOP;
    DROP TABLE attempts_unpartitioned;
    DROP TABLE messages_unpartitioned;
    FOREACH statement IN ARRAY indexes LOOP
        EXECUTE statement;
    END LOOP;
    FOREACH statement IN ARRAY keys LOOP
        EXECUTE statement;
    END LOOP;
END
$$;

ALTER TABLE messages ADD PRIMARY KEY (id);
ALTER TABLE attempts ADD PRIMARY KEY (message_id, number);
ALTER TABLE messages DROP COLUMN idempotency_key;

-- Drop one day of messages and attempts if nothing in it is pending and every message
-- in it finished before `finished_before`; returns whether it was dropped. Checked first
-- without a lock (a day held by a pending message costs two index probes a sweep), then
-- again under the lock that the drop takes anyway, so a Retry in between cannot be lost.
CREATE FUNCTION hooksmith_drop_partition(day date, finished_before timestamptz)
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
            -- Dropping a partition locks its parent; both parents at once, in one order.
            LOCK TABLE messages, attempts IN ACCESS EXCLUSIVE MODE;
        END IF;
        EXECUTE format(
            'SELECT EXISTS (SELECT 1 FROM %1$I WHERE status = ''PENDING'')
                 OR EXISTS (SELECT 1 FROM %1$I WHERE status <> ''PENDING'' AND update_time >= $1)',
            part) INTO held USING finished_before;
        IF held THEN
            RETURN false;
        END IF;
    END LOOP;
    EXECUTE format('DROP TABLE %I', format('attempts_p%s', to_char(day, 'YYYYMMDD')));
    EXECUTE format('DROP TABLE %I', part);
    RETURN true;
END
$$;
