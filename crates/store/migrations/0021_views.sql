-- Customer-managed views (CreateView): names unique per instance. AWS-managed views are not
-- rows; the server knows them. `actions` and `tags` are JSON documents.
CREATE TABLE views (
    id TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances (id),
    name TEXT NOT NULL,
    description TEXT,
    status TEXT NOT NULL,
    template TEXT NOT NULL,
    actions TEXT NOT NULL,
    tags TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    modified_ms BIGINT NOT NULL
);
CREATE UNIQUE INDEX views_by_instance_name ON views (instance_id, name);
