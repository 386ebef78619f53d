-- Coordinated disclosure (SQLite). Keep in lockstep with migrations/postgres.
--
-- A case holds vulnerabilities; each lists the products it concerns with the
-- vendor's answer. Vendor contacts are invited to a case by e-mail and sign
-- in with vendor accounts (never team accounts). The embargo, the
-- coordination threads, the files shared with vendors and the published
-- advisory belong to the case. Every change is in the audit log.

CREATE TABLE vulnerabilities (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id           INTEGER NOT NULL REFERENCES cases (id),
    title             TEXT    NOT NULL,
    summary           TEXT    NOT NULL,
    -- JSON arrays: XEP references and canonical RFC references.
    xeps              TEXT    NOT NULL,
    rfcs              TEXT    NOT NULL,
    -- CNA rule 4.2.14; NULL: not decided.
    secure_way_exists INTEGER CHECK (secure_way_exists IN (0, 1)),
    cve_count         INTEGER CHECK (cve_count >= 0),
    count_reason      TEXT,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE INDEX vulnerabilities_case ON vulnerabilities (case_id);

CREATE TABLE affected_products (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    vulnerability_id  INTEGER NOT NULL REFERENCES vulnerabilities (id),
    case_id           INTEGER NOT NULL REFERENCES cases (id),
    product_key       TEXT    NOT NULL,
    product_name      TEXT    NOT NULL,
    status            TEXT    NOT NULL CHECK (status IN ('unknown', 'under_investigation', 'affected', 'not_affected', 'fixed')),
    affected_versions TEXT    NOT NULL,
    fixed_versions    TEXT    NOT NULL,
    statement         TEXT    NOT NULL,
    fix_released      INTEGER NOT NULL CHECK (fix_released IN (0, 1)),
    shared            INTEGER NOT NULL CHECK (shared IN (0, 1)),
    status_at         INTEGER,
    versions_at       INTEGER,
    statement_at      INTEGER,
    updated_by        TEXT,
    UNIQUE (vulnerability_id, product_key)
);
CREATE INDEX affected_products_case ON affected_products (case_id);

-- Vendor contacts sign in with these; a vendor session never opens a team page.
CREATE TABLE vendor_accounts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Lower-cased.
    email         TEXT    NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    time_zone     TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
);

CREATE TABLE vendor_sessions (
    id_hash    TEXT    PRIMARY KEY,
    vendor_id  INTEGER NOT NULL REFERENCES vendor_accounts (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX vendor_sessions_vendor ON vendor_sessions (vendor_id);

-- One row per invited address and case. `token_hash` is the SHA-256 of the
-- invitation link; NULL once the link was used.
CREATE TABLE case_participants (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id               INTEGER NOT NULL REFERENCES cases (id),
    -- Lower-cased.
    email                 TEXT    NOT NULL,
    contact_name          TEXT    NOT NULL,
    -- JSON array of registry keys.
    products              TEXT    NOT NULL,
    token_hash            TEXT    UNIQUE,
    invitation_expires_at INTEGER NOT NULL,
    invited_at            INTEGER NOT NULL,
    invited_by            TEXT    NOT NULL,
    vendor_id             INTEGER REFERENCES vendor_accounts (id),
    accepted_at           INTEGER,
    acknowledged_at       INTEGER,
    consented_at          INTEGER,
    reminders_sent        INTEGER NOT NULL DEFAULT 0,
    last_reminded_at      INTEGER,
    UNIQUE (case_id, email)
);
CREATE INDEX case_participants_vendor ON case_participants (vendor_id);

-- At most one embargo per case; a change waiting for consent is `pending_*`.
CREATE TABLE embargoes (
    case_id               INTEGER PRIMARY KEY REFERENCES cases (id),
    ends_at               INTEGER NOT NULL,
    reason                TEXT    NOT NULL,
    set_at                INTEGER NOT NULL,
    set_by                TEXT    NOT NULL,
    pending_ends_at       INTEGER,
    pending_reason        TEXT,
    pending_by            TEXT,
    pending_at            INTEGER,
    lifted_at             INTEGER,
    broken_at             INTEGER,
    broken_note           TEXT,
    publication_queued_at INTEGER
);
CREATE INDEX embargoes_ends ON embargoes (ends_at);

-- Threads: participant_id NULL is the shared thread of the case.
CREATE TABLE case_messages (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id        INTEGER NOT NULL REFERENCES cases (id),
    participant_id INTEGER REFERENCES case_participants (id),
    author         TEXT    NOT NULL,
    actor          TEXT    NOT NULL,
    body           TEXT    NOT NULL,
    created_at     INTEGER NOT NULL
);
CREATE INDEX case_messages_case ON case_messages (case_id);

CREATE TABLE case_files (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id        INTEGER NOT NULL REFERENCES cases (id),
    participant_id INTEGER REFERENCES case_participants (id),
    filename       TEXT    NOT NULL,
    content_type   TEXT    NOT NULL,
    size           INTEGER NOT NULL,
    sha256         TEXT    NOT NULL,
    bytes          BLOB    NOT NULL,
    uploaded_by    TEXT    NOT NULL,
    created_at     INTEGER NOT NULL
);
CREATE INDEX case_files_case ON case_files (case_id);

-- The public side of a case, written when its embargo is lifted.
CREATE TABLE advisories (
    case_id      INTEGER PRIMARY KEY REFERENCES cases (id),
    published_at INTEGER NOT NULL
);
CREATE INDEX advisories_published ON advisories (published_at);
