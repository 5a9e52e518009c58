-- RetryFailed progress: each chunk moves its request's cursor (store/recovery.py).
--
-- RetryFailed re-queues a window in chunks, each its own short transaction, walking the
-- webhook's retryable messages in id order. A request id's row keeps the walk: the window
-- of its first call (a repeat continues that one), the last message id re-queued
-- (`cursor_id`), the count so far, and whether the walk is over. Rows of the previous
-- version (and rows it still writes during a rolling upgrade, in one transaction with their
-- count) read as done, by the default; this version writes `done = false` when it claims.
-- (A previous-version process repeating an id whose walk is unfinished answers with the
-- count so far.)
ALTER TABLE retry_requests ADD COLUMN window_start timestamptz;
ALTER TABLE retry_requests ADD COLUMN window_end timestamptz;
ALTER TABLE retry_requests ADD COLUMN cursor_id uuid;
ALTER TABLE retry_requests ADD COLUMN done boolean NOT NULL DEFAULT true;

-- What RetryFailed can re-queue, in the order it walks: a webhook's failed live
-- unpurged messages by id. A chunk reads its next rows from the cursor, one index range
-- per partition of the window, however many succeeded messages lie between them
-- (messages_by_webhook is ordered by create_time and holds every status). Failed
-- messages are few beside the rest; building it reads the table once, under the
-- migration's lock.
CREATE INDEX messages_retryable ON messages (workspace_id, webhook_id, id)
    WHERE status = 'FAILED' AND kind = 'LIVE' AND purge_time IS NULL;
