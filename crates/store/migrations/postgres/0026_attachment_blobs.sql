-- Attachment bytes, where every node of a cluster can reach them.
CREATE TABLE attachment_blobs (
    blob_key TEXT PRIMARY KEY,
    data BYTEA NOT NULL
);
