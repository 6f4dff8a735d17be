-- Files shared in chats: what the uploader declared, where the upload stands, and the hashed
-- bearer token of its upload URL. The bytes are kept apart, in the store's blob storage. Download
-- URLs carry tokens of their own, each with its expiry.
CREATE TABLE attachments (
    id TEXT PRIMARY KEY,
    contact_id TEXT NOT NULL REFERENCES contacts (id),
    participant_id TEXT NOT NULL,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    status TEXT NOT NULL,
    upload_token_hash TEXT NOT NULL,
    upload_expires_ms BIGINT NOT NULL,
    created_ms BIGINT NOT NULL,
    -- StartAttachmentUpload's ClientToken and a hash of the request it came with: a retry gets
    -- the same attachment.
    client_token TEXT,
    request_hash TEXT
);
CREATE INDEX attachments_by_contact ON attachments (contact_id);
CREATE UNIQUE INDEX attachments_by_client_token ON attachments (participant_id, client_token);

CREATE TABLE attachment_downloads (
    token_hash TEXT PRIMARY KEY,
    attachment_id TEXT NOT NULL REFERENCES attachments (id),
    expires_ms BIGINT NOT NULL
);
CREATE INDEX attachment_downloads_by_expiry ON attachment_downloads (expires_ms);
