-- CVE records (PostgreSQL). Keep in lockstep with migrations/sqlite.

ALTER TABLE cases ADD COLUMN cve_id TEXT;
-- One case per CVE ID (NULLs do not collide).
CREATE UNIQUE INDEX cases_cve_id ON cases (cve_id);

-- Every saved version of a case's record. Versions are immutable: the
-- triggers below refuse any change or deletion, whoever asks.
CREATE TABLE record_versions (
    case_id       BIGINT  NOT NULL REFERENCES cases (id),
    version       BIGINT  NOT NULL CHECK (version > 0),
    cve_id        TEXT    NOT NULL,
    document      TEXT    NOT NULL,
    sha256        TEXT    NOT NULL,
    schema_errors BIGINT  NOT NULL,
    lint_errors   BIGINT  NOT NULL,
    lint_warnings BIGINT  NOT NULL,
    note          TEXT    NOT NULL,
    author_id     BIGINT  NOT NULL REFERENCES users (id),
    created_at    BIGINT  NOT NULL,
    PRIMARY KEY (case_id, version)
);

CREATE FUNCTION record_versions_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'record versions are immutable';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER record_versions_no_change BEFORE UPDATE OR DELETE ON record_versions
FOR EACH ROW EXECUTE FUNCTION record_versions_immutable();
