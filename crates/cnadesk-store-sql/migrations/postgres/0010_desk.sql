-- The desk's own facts: the fingerprint of the secret key its data was
-- created with (a node with another key refuses to start), and the probe row
-- that readiness checks write to prove the database takes writes.
CREATE TABLE desk_meta (
    name          TEXT   PRIMARY KEY,
    value         TEXT   NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
