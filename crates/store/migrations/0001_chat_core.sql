-- Liaison chat core schema, the same on SQLite and PostgreSQL. Ids are TEXT (they are strings
-- on the wire), times are BIGINT epoch milliseconds, JSON documents are TEXT.

CREATE TABLE instances (
    id TEXT PRIMARY KEY,
    alias TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);

CREATE TABLE flows (
    id TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances (id),
    name TEXT NOT NULL,
    flow_type TEXT NOT NULL,
    state TEXT NOT NULL,
    status TEXT NOT NULL,
    description TEXT NOT NULL,
    content TEXT NOT NULL,
    modified_ms BIGINT NOT NULL
);
CREATE INDEX flows_by_instance ON flows (instance_id, name);

CREATE TABLE queues (
    id TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances (id),
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);

CREATE TABLE contacts (
    id TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances (id),
    initial_contact_id TEXT NOT NULL,
    related_contact_id TEXT,
    flow_id TEXT NOT NULL,
    state TEXT NOT NULL,
    attributes TEXT NOT NULL,
    segment_attributes TEXT,
    customer_id TEXT,
    supported_content_types TEXT NOT NULL,
    initiated_ms BIGINT NOT NULL,
    ended_ms BIGINT,
    expires_ms BIGINT NOT NULL,
    last_seq BIGINT NOT NULL
);
CREATE INDEX contacts_open_by_expiry ON contacts (state, expires_ms);

CREATE TABLE participants (
    id TEXT PRIMARY KEY,
    contact_id TEXT NOT NULL REFERENCES contacts (id),
    role TEXT NOT NULL,
    display_name TEXT NOT NULL,
    joined_ms BIGINT NOT NULL,
    left_ms BIGINT
);
CREATE INDEX participants_by_contact ON participants (contact_id);

CREATE TABLE tokens (
    hash TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    participant_id TEXT NOT NULL REFERENCES participants (id),
    contact_id TEXT NOT NULL REFERENCES contacts (id),
    expires_ms BIGINT
);

-- The per-contact event log: every pushed item is written here first.
CREATE TABLE items (
    contact_id TEXT NOT NULL REFERENCES contacts (id),
    seq BIGINT NOT NULL,
    id TEXT NOT NULL,
    item_type TEXT NOT NULL,
    content_type TEXT,
    content TEXT,
    participant_id TEXT,
    display_name TEXT,
    role TEXT,
    absolute_ms BIGINT NOT NULL,
    extra TEXT,
    in_transcript BIGINT NOT NULL,
    PRIMARY KEY (contact_id, seq)
);
CREATE UNIQUE INDEX items_by_id ON items (id);
CREATE INDEX items_by_time ON items (contact_id, absolute_ms);

-- Idempotency: what a (scope, ClientToken) pair already produced.
CREATE TABLE client_tokens (
    scope TEXT NOT NULL,
    token TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    result TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (scope, token)
);
