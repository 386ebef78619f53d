-- CVE IDs, approvals and the job outbox (SQLite). Keep in lockstep with migrations/postgres.

-- Every CVE ID the organization holds, as CVE Services last reported it.
CREATE TABLE cve_ids (
    cve_id             TEXT    PRIMARY KEY,
    case_id            INTEGER REFERENCES cases (id),
    state              TEXT    NOT NULL CHECK (state IN ('reserved', 'published', 'rejected')),
    reserved_at        INTEGER NOT NULL,
    reserved_by        TEXT    NOT NULL,
    disclosed_at       INTEGER,
    published_at       INTEGER,
    published_version  INTEGER,
    published_document TEXT,
    rejected_reason    TEXT    NOT NULL DEFAULT '',
    updated_at         INTEGER NOT NULL
);
CREATE INDEX cve_ids_case ON cve_ids (case_id);

-- A second member's approval of one exact record version. Immutable.
CREATE TABLE record_approvals (
    case_id     INTEGER NOT NULL,
    version     INTEGER NOT NULL,
    approver_id INTEGER NOT NULL REFERENCES users (id),
    sha256      TEXT    NOT NULL,
    approved_at INTEGER NOT NULL,
    PRIMARY KEY (case_id, version, approver_id),
    FOREIGN KEY (case_id, version) REFERENCES record_versions (case_id, version)
);

CREATE TRIGGER record_approvals_no_update BEFORE UPDATE ON record_approvals
BEGIN
    SELECT RAISE(ABORT, 'approvals are immutable');
END;

CREATE TRIGGER record_approvals_no_delete BEFORE DELETE ON record_approvals
BEGIN
    SELECT RAISE(ABORT, 'approvals are immutable');
END;

-- Side effects outside the database, written with the decision that caused
-- them and carried out by the worker (transactional outbox).
CREATE TABLE jobs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT    NOT NULL,
    case_id         INTEGER REFERENCES cases (id),
    subject         TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER,
    last_error      TEXT    NOT NULL DEFAULT '',
    result          TEXT,
    requested_by    TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
-- One unfinished job per subject: two publications of one ID cannot be in flight.
CREATE UNIQUE INDEX jobs_one_open_per_subject ON jobs (subject) WHERE state IN ('queued', 'running');
CREATE INDEX jobs_due ON jobs (state, next_attempt_at);
CREATE INDEX jobs_case ON jobs (case_id);
