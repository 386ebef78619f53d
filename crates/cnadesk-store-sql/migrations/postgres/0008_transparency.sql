-- The public transparency log: decisions, hash-chained. The chain covers each
-- entry's commitment (a salted SHA-256 of its content), so an entry about an
-- embargoed case is served as its commitment alone until it is revealed.
CREATE TABLE transparency_log (
    seq          BIGINT PRIMARY KEY,
    time         TEXT    NOT NULL,
    commitment   TEXT    NOT NULL,
    prev_hash    TEXT    NOT NULL UNIQUE,
    hash         TEXT    NOT NULL UNIQUE,
    content      TEXT    NOT NULL,
    salt         TEXT    NOT NULL,
    case_id      BIGINT REFERENCES cases (id),
    report_id    BIGINT REFERENCES reports (id),
    audit_seq    BIGINT UNIQUE,
    sealed       BIGINT NOT NULL,
    revealed_at  TEXT
);
CREATE INDEX transparency_sealed ON transparency_log (sealed);
