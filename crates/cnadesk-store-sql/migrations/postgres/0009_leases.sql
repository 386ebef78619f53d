-- Leases: which node runs a periodic job while several `serve` processes
-- share one database. Taken and renewed with one conditional upsert (held by
-- nobody, by the asker, or expired), released by setting expires_at to 0.
CREATE TABLE leases (
    name        TEXT   PRIMARY KEY,
    holder      TEXT   NOT NULL,
    expires_at  BIGINT NOT NULL,
    taken_at    BIGINT NOT NULL
);
