-- Any stored timer may want to hear of the customer's messages (an idle session resets on them;
-- a flow waiting for the customer resumes on them); the contact carries whether one does, so a
-- message costs nothing extra when none does.
ALTER TABLE timers ADD COLUMN wants_messages BIGINT NOT NULL DEFAULT 0;
UPDATE timers SET wants_messages = 1 WHERE name = 'participants';
ALTER TABLE contacts RENAME COLUMN participant_timers TO watches_messages;
