-- Flow logs: one JSON record per block a flow ran, in the order written. The id orders them
-- (an identity column is written differently by each backend).
CREATE TABLE flow_logs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    contact_id TEXT NOT NULL REFERENCES contacts (id),
    at_ms BIGINT NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX flow_logs_by_contact ON flow_logs (contact_id, id);
