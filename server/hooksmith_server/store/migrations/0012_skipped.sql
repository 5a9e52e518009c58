-- A template can skip a recipient ({% skip "reason" %}): the message ends SKIPPED with
-- the reason in last_error, and no request is made. The check is made again with the
-- new status; on the partitioned table it reaches every partition.
ALTER TABLE messages DROP CONSTRAINT messages_status_check;
ALTER TABLE messages ADD CONSTRAINT messages_status_check
    CHECK (status IN ('PENDING', 'SUCCEEDED', 'FAILED', 'SKIPPED'));
