-- Messages that reach people (SQLite). Keep in lockstep with migrations/postgres.
--
-- The outbox: one row per message to one recipient on one channel. Rows are
-- written either in the transaction of the decision itself (the
-- acknowledgement of a new report) or derived from the audit log, whose
-- events are written in the decision's transaction; the fan-out advances
-- `notify_cursors` in the same transaction as the rows it writes, and
-- `dedupe_key` is unique for ever, so no event is lost and none is told twice.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    dedupe_key      TEXT    NOT NULL UNIQUE,
    channel         TEXT    NOT NULL CHECK (channel IN ('email', 'xmpp')),
    recipient       TEXT    NOT NULL,
    template        TEXT    NOT NULL,
    report_id       INTEGER REFERENCES reports (id),
    case_id         INTEGER REFERENCES cases (id),
    event_seq       INTEGER,
    context         TEXT    NOT NULL,
    -- Secret parts (a tracking link), sealed by the desk's key; never plain.
    sealed          BLOB,
    state           TEXT    NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER,
    last_error      TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    sent_at         INTEGER
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);

CREATE TABLE notify_cursors (
    name     TEXT    PRIMARY KEY,
    last_seq INTEGER NOT NULL
);

-- How a member is reached besides the account's e-mail address.
CREATE TABLE member_contacts (
    user_id     INTEGER PRIMARY KEY REFERENCES users (id),
    jid         TEXT    NOT NULL,
    openpgp_key TEXT    NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- A member's choice per kind of event; no row means the default.
CREATE TABLE notification_prefs (
    user_id    INTEGER NOT NULL REFERENCES users (id),
    event      TEXT    NOT NULL,
    email      INTEGER NOT NULL CHECK (email IN (0, 1)),
    xmpp       INTEGER NOT NULL CHECK (xmpp IN (0, 1)),
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, event)
);

-- Inbound mail filed on the desk, by Message-ID, so a redelivery is not filed twice.
CREATE TABLE inbound_mail (
    message_id_hash TEXT    PRIMARY KEY,
    report_id       INTEGER NOT NULL REFERENCES reports (id),
    received_at     INTEGER NOT NULL
);

-- Mail that could not be filed: kept whole for an admin to inspect.
CREATE TABLE mail_quarantine (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    reason      TEXT    NOT NULL,
    mail_from   TEXT    NOT NULL,
    rcpt_to     TEXT    NOT NULL,
    size        INTEGER NOT NULL,
    raw         BLOB    NOT NULL,
    received_at INTEGER NOT NULL,
    released_at INTEGER
);
