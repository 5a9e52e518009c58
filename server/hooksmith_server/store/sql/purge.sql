-- PurgeUser: erase a user's personal data from a workspace's history. Plain UPDATEs by
-- workspace and user (index messages_by_user), so they work on partitioned tables too.
-- Messages are locked before their attempts, in the same order as `record` locks them.

-- name: lock_messages
-- The user's messages, locked in id order as `record` locks them, so a purge and a
-- record of two of them never wait on each other.
SELECT id FROM messages
WHERE workspace_id = $1 AND user_id = $2 AND purge_time IS NULL
ORDER BY id
FOR UPDATE;

-- name: purge_messages
-- The message's last request, response and error, its recipient (tags, entry event),
-- data and captured values. The message and its status stay; a pending one is failed with reason $3 and not
-- sent, since its request would carry the data just erased.
UPDATE messages
SET last_request = NULL, last_response = NULL,
    last_error = CASE WHEN status = 'PENDING' THEN $3 END,
    recipient = jsonb_build_object('user_id', user_id, 'tags', '{}'::jsonb,
                                   'entry_event', '{}'::jsonb),
    data = '{}'::jsonb, captured = NULL,
    update_time = CASE WHEN status = 'PENDING' THEN now() ELSE update_time END,
    status = CASE WHEN status = 'PENDING' THEN 'FAILED' ELSE status END,
    next_attempt_time = NULL, locked_until = NULL, manual = false,
    purge_time = now()
WHERE workspace_id = $1 AND user_id = $2 AND purge_time IS NULL
RETURNING id;

-- name: purge_attempts
-- Every attempt's request, response and error (errors may quote rendered values) of the
-- messages purge_messages just purged ($2). An attempt still in flight keeps no outcome
-- either: `record` locks the message first and skips a purged one.
UPDATE attempts
SET request = NULL, response = NULL, error = NULL
WHERE workspace_id = $1 AND message_id = ANY($2::uuid[]);

-- name: purge_outcomes
-- The captured values and errors of the purged messages' ($2) outcomes, as WatchOutcomes
-- streams them. The outcome this transaction's purge_messages just wrote (a pending
-- message failed) keeps its error: the reason it was purged.
UPDATE outcomes
SET captured = NULL, error = NULL
WHERE message_id = ANY($2::uuid[]) AND workspace_id = $1 AND xid <> pg_current_xact_id()
  AND (captured IS NOT NULL OR error IS NOT NULL);

-- name: purge_alert_samples
-- An operator alert that quotes a purged message's error as its sample keeps its count
-- but not the error (errors may quote rendered values).
UPDATE alert_events
SET sample_error = NULL
WHERE workspace_id = $1 AND sample_message_id = ANY($2::uuid[]) AND sample_error IS NOT NULL;
