-- PurgeUser: erase a user's personal data from a workspace's history. Plain UPDATEs by
-- workspace and user (index messages_by_user), so they work on partitioned tables too.

-- name: purge_attempts
-- Every attempt's request, response and error (errors may quote rendered values). An
-- attempt still in flight keeps no outcome either: `record` skips purged messages.
UPDATE attempts a
SET request = NULL, response = NULL, error = NULL
FROM messages m
WHERE m.workspace_id = $1 AND m.user_id = $2 AND m.purge_time IS NULL
  AND a.workspace_id = m.workspace_id AND a.message_id = m.id;

-- name: purge_messages
-- The message's last request, response and error, its recipient (tags, entry event) and
-- data. The message and its status stay; a pending one is failed with reason $3 and not
-- sent, since its request would carry the data just erased.
UPDATE messages
SET last_request = NULL, last_response = NULL,
    last_error = CASE WHEN status = 'PENDING' THEN $3 END,
    recipient = jsonb_build_object('user_id', user_id, 'tags', '{}'::jsonb,
                                   'entry_event', '{}'::jsonb),
    data = '{}'::jsonb,
    update_time = CASE WHEN status = 'PENDING' THEN now() ELSE update_time END,
    status = CASE WHEN status = 'PENDING' THEN 'FAILED' ELSE status END,
    next_attempt_time = NULL, locked_until = NULL, manual = false,
    purge_time = now()
WHERE workspace_id = $1 AND user_id = $2 AND purge_time IS NULL;
