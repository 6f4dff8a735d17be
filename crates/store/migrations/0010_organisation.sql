-- The organisation an agent workspace needs: hours of operation, queues with their hours and
-- status, routing profiles and the queues they serve, security profiles, agent statuses, and
-- users with a password hash and their current status. Names are unique per instance, so the
-- Create operations answer DuplicateResourceException and the defaults seeded by several
-- cluster nodes at once are created once. Documents Connect passes through (hours, media
-- concurrencies, identity info, phone config, tags, id lists) are JSON TEXT.

CREATE TABLE hours_of_operation (
    id TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances (id),
    name TEXT NOT NULL,
    description TEXT,
    time_zone TEXT NOT NULL,
    config TEXT NOT NULL,
    tags TEXT NOT NULL,
    modified_ms BIGINT NOT NULL
);
CREATE UNIQUE INDEX hours_of_operation_by_instance_name ON hours_of_operation (instance_id, name);

-- The existing queues table gains what CreateQueue sets. A queue from before hours existed
-- (BasicQueue) has none until the next start gives it the default hours.
ALTER TABLE queues ADD COLUMN queue_type TEXT NOT NULL DEFAULT 'STANDARD';
ALTER TABLE queues ADD COLUMN hours_of_operation_id TEXT REFERENCES hours_of_operation (id);
ALTER TABLE queues ADD COLUMN max_contacts BIGINT;
ALTER TABLE queues ADD COLUMN status TEXT NOT NULL DEFAULT 'ENABLED';
ALTER TABLE queues ADD COLUMN outbound_caller_config TEXT;
ALTER TABLE queues ADD COLUMN tags TEXT NOT NULL DEFAULT '{}';
ALTER TABLE queues ADD COLUMN modified_ms BIGINT NOT NULL DEFAULT 0;
UPDATE queues SET modified_ms = created_ms;
CREATE UNIQUE INDEX queues_by_instance_name ON queues (instance_id, name);

CREATE TABLE routing_profiles (
    id TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances (id),
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    default_outbound_queue_id TEXT NOT NULL REFERENCES queues (id),
    media_concurrencies TEXT NOT NULL,
    agent_availability_timer TEXT,
    is_default BIGINT NOT NULL,
    tags TEXT NOT NULL,
    modified_ms BIGINT NOT NULL
);
CREATE UNIQUE INDEX routing_profiles_by_instance_name ON routing_profiles (instance_id, name);

-- Which queues a routing profile serves, per channel; routing looks them up by queue as well.
CREATE TABLE routing_profile_queues (
    routing_profile_id TEXT NOT NULL REFERENCES routing_profiles (id),
    queue_id TEXT NOT NULL REFERENCES queues (id),
    channel TEXT NOT NULL,
    priority BIGINT NOT NULL,
    delay BIGINT NOT NULL,
    PRIMARY KEY (routing_profile_id, queue_id, channel)
);
CREATE INDEX routing_profile_queues_by_queue ON routing_profile_queues (queue_id);

CREATE TABLE security_profiles (
    id TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances (id),
    name TEXT NOT NULL,
    description TEXT,
    modified_ms BIGINT NOT NULL
);
CREATE UNIQUE INDEX security_profiles_by_instance_name ON security_profiles (instance_id, name);

CREATE TABLE agent_statuses (
    id TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances (id),
    name TEXT NOT NULL,
    description TEXT,
    status_type TEXT NOT NULL,
    state TEXT NOT NULL,
    display_order BIGINT,
    tags TEXT NOT NULL,
    modified_ms BIGINT NOT NULL
);
CREATE UNIQUE INDEX agent_statuses_by_instance_name ON agent_statuses (instance_id, name);

-- Users; `password_hash` is an Argon2id PHC string. `agent_status_id` and `status_since_ms` are
-- the user's current status (PutUserStatus), NULL until first set.
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances (id),
    username TEXT NOT NULL,
    password_hash TEXT,
    identity_info TEXT NOT NULL,
    phone_config TEXT,
    security_profile_ids TEXT NOT NULL,
    routing_profile_id TEXT NOT NULL REFERENCES routing_profiles (id),
    tags TEXT NOT NULL,
    modified_ms BIGINT NOT NULL,
    agent_status_id TEXT REFERENCES agent_statuses (id),
    status_since_ms BIGINT
);
CREATE UNIQUE INDEX users_by_instance_username ON users (instance_id, username);
CREATE INDEX users_by_routing_profile ON users (routing_profile_id);
