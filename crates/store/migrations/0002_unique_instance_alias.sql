-- One default instance per deployment, even when several cluster nodes start at once.
CREATE UNIQUE INDEX instances_by_alias ON instances (alias);
