-- PurgeUser: when a message's request, response and recipient data were erased at the
-- request of its user. The message and its status stay; NULL means never purged.
ALTER TABLE messages ADD COLUMN purge_time timestamptz;

-- A user's messages in a workspace, for PurgeUser (and ListHistory's user filter).
CREATE INDEX messages_by_user ON messages (workspace_id, user_id);
