-- The team's annotations of ecosystem products, and scope decisions (SQLite).
-- Keep in lockstep with migrations/postgres.

-- One row per annotated (or member-added) product; the annotation is JSON in
-- the registry's shape. Every change is in the audit log with before and after.
CREATE TABLE product_annotations (
    product_key TEXT    PRIMARY KEY,
    annotation  TEXT    NOT NULL,
    updated_at  INTEGER NOT NULL,
    updated_by  INTEGER REFERENCES users (id)
);

-- Scope decisions: what the engine proposed, what the member decided, under
-- which rule and policy version. Append-only: a new decision is a new row.
CREATE TABLE scope_decisions (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    report_id      INTEGER NOT NULL REFERENCES reports (id),
    decision       TEXT    NOT NULL CHECK (decision IN ('in_scope', 'refer', 'out_of_scope')),
    rule_id        TEXT,
    policy_version TEXT    NOT NULL,
    product_key    TEXT,
    referral_cna   TEXT,
    overridden     INTEGER NOT NULL,
    reason         TEXT    NOT NULL,
    input          TEXT    NOT NULL,
    proposal       TEXT    NOT NULL,
    decided_by     INTEGER NOT NULL REFERENCES users (id),
    decided_at     INTEGER NOT NULL
);
CREATE INDEX scope_decisions_report ON scope_decisions (report_id, id);

CREATE TRIGGER scope_decisions_no_update BEFORE UPDATE ON scope_decisions
BEGIN
    SELECT RAISE(ABORT, 'scope decisions are immutable');
END;

CREATE TRIGGER scope_decisions_no_delete BEFORE DELETE ON scope_decisions
BEGIN
    SELECT RAISE(ABORT, 'scope decisions are immutable');
END;

-- Every version of the scope policy the desk has run under, with its text, so a
-- decision's version can always be read as it was. A version's text never changes.
CREATE TABLE scope_policies (
    version     TEXT    PRIMARY KEY,
    effective   TEXT    NOT NULL,
    sha256      TEXT    NOT NULL,
    document    TEXT    NOT NULL,
    adopted_at  INTEGER NOT NULL
);
