-- Custom participants (CUSTOM_BOT) are added first and connect later; chat timers
-- (UpdateParticipantRoleConfig) are configured per contact; deadlines live in `timers`, where
-- any node of a cluster can claim the due ones.
ALTER TABLE participants ADD COLUMN connected_ms BIGINT;
UPDATE participants SET connected_ms = joined_ms WHERE role <> 'CUSTOM_BOT';
ALTER TABLE contacts ADD COLUMN timer_config TEXT NOT NULL DEFAULT '{}';
ALTER TABLE contacts ADD COLUMN participant_timers BIGINT NOT NULL DEFAULT 0;

-- One row per running timer of a contact. `data` is the timer's own state (JSON); `due_ms` is
-- when it next needs attention (NULL: never, until something changes it); `leased_until` keeps
-- other nodes away while one node works on a claimed timer.
CREATE TABLE timers (
    contact_id TEXT NOT NULL REFERENCES contacts (id),
    name TEXT NOT NULL,
    due_ms BIGINT,
    leased_until BIGINT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (contact_id, name)
);
CREATE INDEX timers_by_due ON timers (due_ms);
