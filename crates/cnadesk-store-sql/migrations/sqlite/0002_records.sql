-- CVE records (SQLite). Keep in lockstep with migrations/postgres.

ALTER TABLE cases ADD COLUMN cve_id TEXT;
-- One case per CVE ID (NULLs do not collide).
CREATE UNIQUE INDEX cases_cve_id ON cases (cve_id);

-- Every saved version of a case's record. Versions are immutable: the
-- triggers below refuse any change or deletion, whoever asks.
CREATE TABLE record_versions (
    case_id       INTEGER NOT NULL REFERENCES cases (id),
    version       INTEGER NOT NULL CHECK (version > 0),
    cve_id        TEXT    NOT NULL,
    document      TEXT    NOT NULL,
    sha256        TEXT    NOT NULL,
    schema_errors INTEGER NOT NULL,
    lint_errors   INTEGER NOT NULL,
    lint_warnings INTEGER NOT NULL,
    note          TEXT    NOT NULL,
    author_id     INTEGER NOT NULL REFERENCES users (id),
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (case_id, version)
);

CREATE TRIGGER record_versions_no_update BEFORE UPDATE ON record_versions
BEGIN
    SELECT RAISE(ABORT, 'record versions are immutable');
END;

CREATE TRIGGER record_versions_no_delete BEFORE DELETE ON record_versions
BEGIN
    SELECT RAISE(ABORT, 'record versions are immutable');
END;
