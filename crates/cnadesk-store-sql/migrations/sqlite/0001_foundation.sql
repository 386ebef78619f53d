-- cnadesk foundation schema (SQLite). Keep in lockstep with migrations/postgres.
-- Timestamps are milliseconds since the Unix epoch (UTC); flags are 0/1.

CREATE TABLE users (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    username        TEXT    NOT NULL UNIQUE,
    display_name    TEXT    NOT NULL,
    email           TEXT    NOT NULL,
    role            TEXT    NOT NULL CHECK (role IN ('admin', 'member')),
    password_hash   TEXT    NOT NULL,
    totp_secret_enc BLOB,
    totp_last_step  INTEGER,
    active          INTEGER NOT NULL DEFAULT 1,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);

CREATE TABLE setup_tokens (
    token_hash TEXT    PRIMARY KEY,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);

CREATE TABLE sessions (
    id_hash     TEXT    PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    mfa_pending INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE reports (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    title           TEXT    NOT NULL,
    reporter_name   TEXT,
    reporter_email  TEXT,
    anonymous       INTEGER NOT NULL,
    product         TEXT    NOT NULL,
    versions        TEXT,
    description     TEXT    NOT NULL,
    impact          TEXT,
    reproduction    TEXT,
    already_public  INTEGER NOT NULL,
    public_where    TEXT,
    asked_other_cna INTEGER NOT NULL,
    other_cna       TEXT,
    credit          TEXT,
    pgp_key         TEXT,
    state           TEXT    NOT NULL,
    close_reason    TEXT,
    duplicate_of    INTEGER REFERENCES reports (id),
    close_detail    TEXT,
    channel         TEXT    NOT NULL,
    tracking_hash   TEXT    NOT NULL UNIQUE,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX reports_state ON reports (state);

CREATE TABLE attachments (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    report_id    INTEGER NOT NULL REFERENCES reports (id),
    filename     TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    size         INTEGER NOT NULL,
    sha256       TEXT    NOT NULL,
    data         BLOB    NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX attachments_report ON attachments (report_id);

CREATE TABLE messages (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    report_id      INTEGER NOT NULL REFERENCES reports (id),
    author_kind    TEXT    NOT NULL CHECK (author_kind IN ('member', 'reporter')),
    author_user_id INTEGER REFERENCES users (id),
    author_name    TEXT    NOT NULL,
    visibility     TEXT    NOT NULL CHECK (visibility IN ('reporter', 'internal')),
    body           TEXT    NOT NULL,
    created_at     INTEGER NOT NULL
);
CREATE INDEX messages_report ON messages (report_id);

CREATE TABLE cases (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    report_id         INTEGER NOT NULL UNIQUE REFERENCES reports (id),
    title             TEXT    NOT NULL,
    state             TEXT    NOT NULL,
    assignee_id       INTEGER REFERENCES users (id),
    assignment_reason TEXT,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE INDEX cases_assignee ON cases (assignee_id);

CREATE TABLE audit_events (
    seq         INTEGER PRIMARY KEY,
    occurred_at INTEGER NOT NULL,
    actor       TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    case_id     INTEGER,
    report_id   INTEGER,
    payload     TEXT    NOT NULL,
    prev_hash   TEXT    NOT NULL,
    hash        TEXT    NOT NULL
);
CREATE INDEX audit_events_report ON audit_events (report_id);
CREATE INDEX audit_events_case ON audit_events (case_id);

-- The head of the audit chain: one row, updated in every transaction that
-- appends an event, which serializes appends.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT    NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
