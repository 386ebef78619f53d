-- The team: profiles, absences, affiliations, recusals and the on-call rota
-- (SQLite). Keep in lockstep with migrations/postgres. Every change is in
-- the audit log.

CREATE TABLE member_profiles (
    user_id    INTEGER PRIMARY KEY REFERENCES users (id),
    time_zone  TEXT    NOT NULL,
    capacity   INTEGER NOT NULL CHECK (capacity >= 0),
    skills     TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Whole days, both ends included, as YYYY-MM-DD.
CREATE TABLE absences (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    kind       TEXT    NOT NULL CHECK (kind IN ('out_of_office', 'holiday')),
    starts_on  TEXT    NOT NULL,
    ends_on    TEXT    NOT NULL,
    note       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX absences_user ON absences (user_id);

CREATE TABLE affiliations (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER NOT NULL REFERENCES users (id),
    product_key  TEXT    NOT NULL,
    product_name TEXT    NOT NULL,
    relation     TEXT    NOT NULL CHECK (relation IN ('works_on', 'paid_by')),
    created_at   INTEGER NOT NULL,
    UNIQUE (user_id, product_key)
);

CREATE TABLE recusals (
    case_id    INTEGER NOT NULL REFERENCES cases (id),
    user_id    INTEGER NOT NULL REFERENCES users (id),
    reason     TEXT    NOT NULL,
    source     TEXT    NOT NULL CHECK (source IN ('affiliation', 'self')),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (case_id, user_id)
);

CREATE TABLE rota_shifts (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id        INTEGER NOT NULL REFERENCES users (id),
    starts_at      INTEGER NOT NULL,
    ends_at        INTEGER NOT NULL CHECK (ends_at > starts_at),
    handover_note  TEXT,
    handed_over_at INTEGER,
    created_at     INTEGER NOT NULL
);
CREATE INDEX rota_shifts_time ON rota_shifts (starts_at);

-- Clocks, offers and figures read the audit log by action.
CREATE INDEX audit_events_action ON audit_events (action, occurred_at);
