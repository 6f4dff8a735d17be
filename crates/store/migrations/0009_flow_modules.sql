-- Flow modules (CreateContactFlowModule): names are their own namespace, unique per instance.
CREATE TABLE flow_modules (
    id TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances (id),
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    content TEXT NOT NULL,
    settings TEXT NOT NULL,
    state TEXT NOT NULL,
    status TEXT NOT NULL,
    modified_ms BIGINT NOT NULL
);
CREATE UNIQUE INDEX flow_modules_by_instance_name ON flow_modules (instance_id, name);
