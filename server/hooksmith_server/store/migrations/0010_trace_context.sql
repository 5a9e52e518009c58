-- The W3C trace context (`traceparent`) of the Send that made a message: each attempt's
-- span continues that trace, in whichever process makes it. NULL when the caller sent none.
ALTER TABLE messages ADD COLUMN traceparent text;
