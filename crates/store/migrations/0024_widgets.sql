-- Chat widgets of an instance, with their configuration as one JSON document, and their
-- security keys (shared secrets the site signs widget tokens with; at most two at a time).
CREATE TABLE widgets (
    id TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances (id),
    name TEXT NOT NULL,
    config TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    modified_ms BIGINT NOT NULL
);
CREATE UNIQUE INDEX widgets_by_instance_name ON widgets (instance_id, name);

CREATE TABLE widget_keys (
    id TEXT PRIMARY KEY,
    widget_id TEXT NOT NULL REFERENCES widgets (id),
    secret TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE INDEX widget_keys_by_widget ON widget_keys (widget_id, created_ms);
