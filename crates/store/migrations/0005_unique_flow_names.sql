-- Flow names are unique within an instance (CreateContactFlow answers DuplicateResourceException),
-- and built-in flows seeded by several cluster nodes at once are created once.
DROP INDEX flows_by_instance;
CREATE UNIQUE INDEX flows_by_instance_name ON flows (instance_id, name);
