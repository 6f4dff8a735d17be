-- Routing's facts, kept in the store so any node can take routing over from them: contacts
-- waiting in queues with their open offers and the agents who rejected them, the contacts agents
-- accepted, which agents missed an offer, the lease of the node that routes, and the sessions of
-- signed-in agent workspaces.

-- A contact waiting in a queue. `offered_to` and `offer_deadline_ms` are its open offer, both
-- NULL while it has none.
CREATE TABLE queued_contacts (
    contact_id TEXT PRIMARY KEY REFERENCES contacts (id),
    instance_id TEXT NOT NULL REFERENCES instances (id),
    queue_id TEXT NOT NULL REFERENCES queues (id),
    enqueued_ms BIGINT NOT NULL,
    offered_to TEXT,
    offer_deadline_ms BIGINT
);
CREATE INDEX queued_contacts_by_instance ON queued_contacts (instance_id, enqueued_ms);
CREATE INDEX queued_contacts_by_offer ON queued_contacts (offered_to, offer_deadline_ms);

-- Agents who rejected a queued contact: not offered it again until their status changes or the
-- contact leaves or changes its queue.
CREATE TABLE routing_rejections (
    contact_id TEXT NOT NULL REFERENCES contacts (id),
    user_id TEXT NOT NULL,
    PRIMARY KEY (contact_id, user_id)
);
CREATE INDEX routing_rejections_by_user ON routing_rejections (user_id);

-- Contacts agents accepted: CONNECTED, then AFTER_CONTACT_WORK, then CLEARED. Cleared rows stay,
-- as their `cleared_ms` is when the agent last became idle.
CREATE TABLE agent_contacts (
    contact_id TEXT NOT NULL REFERENCES contacts (id),
    user_id TEXT NOT NULL,
    instance_id TEXT NOT NULL REFERENCES instances (id),
    participant_id TEXT NOT NULL,
    queue_id TEXT NOT NULL REFERENCES queues (id),
    state TEXT NOT NULL,
    accepted_ms BIGINT NOT NULL,
    ended_ms BIGINT,
    cleared_ms BIGINT,
    -- The flow that guides the agent's after-contact work (the contact's DisconnectAgentUI hook
    -- when the agent took it), and the guide running it: a contact related to this one.
    after_contact_flow_id TEXT,
    guide_contact_id TEXT,
    PRIMARY KEY (contact_id, user_id)
);
CREATE INDEX agent_contacts_by_user ON agent_contacts (user_id, state);

-- When an offer to the user timed out (its deadline); NULL again once their status changes.
ALTER TABLE users ADD COLUMN missed_ms BIGINT;

-- Jobs one node of a cluster does at a time, and which node holds each until when.
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until_ms BIGINT NOT NULL
);

-- Signed-in agent workspaces, by the hash of their bearer token.
CREATE TABLE agent_sessions (
    token_hash TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances (id),
    user_id TEXT NOT NULL,
    expires_ms BIGINT NOT NULL
);
CREATE INDEX agent_sessions_by_user ON agent_sessions (user_id);
