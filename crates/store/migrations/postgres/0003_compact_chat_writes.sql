-- Every chat message writes an item; every item query names its contact, so the primary key
-- (contact_id, seq) serves them and the secondary indexes only cost writes.
DROP INDEX items_by_id;
DROP INDEX items_by_time;
