-- Whisper flow messages are for one side of the chat only: the role that sees them, or NULL
-- for everyone.
ALTER TABLE items ADD COLUMN visible_to TEXT;
