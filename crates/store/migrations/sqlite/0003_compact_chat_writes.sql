-- Every chat message writes an item and usually a client token. Keeping both in their
-- primary-key b-trees only (WITHOUT ROWID) and dropping the secondary item indexes halves the
-- pages a message dirties; every item query names its contact, so the key prefix serves it.

CREATE TABLE items_compact (
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
) WITHOUT ROWID;
INSERT INTO items_compact SELECT contact_id, seq, id, item_type, content_type, content,
    participant_id, display_name, role, absolute_ms, extra, in_transcript FROM items;
DROP TABLE items;
ALTER TABLE items_compact RENAME TO items;

CREATE TABLE client_tokens_compact (
    scope TEXT NOT NULL,
    token TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    result TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (scope, token)
) WITHOUT ROWID;
INSERT INTO client_tokens_compact SELECT scope, token, request_hash, result, created_ms
    FROM client_tokens;
DROP TABLE client_tokens;
ALTER TABLE client_tokens_compact RENAME TO client_tokens;
