-- Attempts that ended without a recorded outcome (the worker died or its lease
-- expired): after a few, a message is failed instead of tried forever.
ALTER TABLE messages ADD COLUMN interrupted_attempts integer NOT NULL DEFAULT 0;

-- Retention counts from when a message finished, not from when it was created.
DROP INDEX messages_created;
CREATE INDEX messages_finished ON messages (update_time) WHERE status <> 'PENDING';
