//! Decoding rows into store types.

use cnadesk_core::audit::AuditEvent;
use cnadesk_core::{AttachmentId, CaseId, MessageId, ReportId, UserId, ValidReport};
use cnadesk_store::{
    Approval, AttachmentMeta, Author, Case, Channel, CveIdEntry, Job, Message, RecordVersion,
    Report, StoreError, User, Visibility,
};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::health::db_err;

/// Runs a checking PRAGMA (`quick_check(N)`, `integrity_check(N)`) and
/// returns what it found wrong: empty when it passes (its only line is
/// `ok`). Works on a pool or a connection of any driver.
pub(crate) async fn check_pragma<'e, DB, E>(
    executor: E,
    pragma: &str,
) -> Result<Vec<String>, sqlx::Error>
where
    DB: sqlx::Database,
    E: sqlx::Executor<'e, Database = DB>,
    for<'q> <DB as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'r> String: sqlx::Decode<'r, DB> + sqlx::Type<DB>,
    usize: sqlx::ColumnIndex<DB::Row>,
{
    let sql = format!("PRAGMA {pragma}");
    let rows = sqlx::query::<DB>(&sql).fetch_all(executor).await?;
    let lines: Vec<String> = rows
        .iter()
        .filter_map(|r| r.try_get::<String, _>(0).ok())
        .collect();
    Ok(if lines == ["ok"] { Vec::new() } else { lines })
}

/// The directory of a file (`.` for a bare file name): where SQLite keeps
/// its journal, and whose filesystem's free space counts.
pub(crate) fn dir_of(path: &std::path::Path) -> &std::path::Path {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."))
}

pub(crate) fn get<'r, T>(row: &'r AnyRow, col: &str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(col).map_err(db_err)
}

/// A text column parsed into `T`; a value this binary cannot read is a database error naming the column.
pub(crate) fn parsed<T: std::str::FromStr>(row: &AnyRow, col: &str) -> Result<T, StoreError>
where
    T::Err: std::fmt::Display,
{
    let s: String = get(row, col)?;
    s.parse()
        .map_err(|e: T::Err| StoreError::Database(format!("{col}: {e}")))
}

/// A 0/1 column as a flag.
pub(crate) fn flag(row: &AnyRow, col: &str) -> Result<bool, StoreError> {
    Ok(get::<i64>(row, col)? != 0)
}

pub(crate) const USER_COLUMNS: &str =
    "id, username, display_name, email, role, active, totp_secret_enc, created_at";

pub(crate) fn user(row: &AnyRow) -> Result<User, StoreError> {
    Ok(User {
        id: UserId(get(row, "id")?),
        username: get(row, "username")?,
        display_name: get(row, "display_name")?,
        email: get(row, "email")?,
        role: parsed(row, "role")?,
        active: flag(row, "active")?,
        totp_enabled: get::<Option<Vec<u8>>>(row, "totp_secret_enc")?.is_some(),
        created_at_ms: get(row, "created_at")?,
    })
}

pub(crate) const REPORT_COLUMNS: &str = "id, title, reporter_name, reporter_email, anonymous, \
     product, versions, description, impact, reproduction, already_public, public_where, \
     asked_other_cna, other_cna, credit, pgp_key, state, close_reason, duplicate_of, \
     close_detail, channel, created_at, updated_at, fixed_version, cwe, cvss_vector";

pub(crate) fn report(row: &AnyRow) -> Result<Report, StoreError> {
    let close_reason: Option<String> = get(row, "close_reason")?;
    let channel: String = get(row, "channel")?;
    Ok(Report {
        id: ReportId(get(row, "id")?),
        fields: ValidReport {
            title: get(row, "title")?,
            reporter_name: get(row, "reporter_name")?,
            reporter_email: get(row, "reporter_email")?,
            anonymous: flag(row, "anonymous")?,
            product: get(row, "product")?,
            versions: get(row, "versions")?,
            fixed_version: get(row, "fixed_version")?,
            cwe: get(row, "cwe")?,
            cvss_vector: get(row, "cvss_vector")?,
            description: get(row, "description")?,
            impact: get(row, "impact")?,
            reproduction: get(row, "reproduction")?,
            already_public: flag(row, "already_public")?,
            public_where: get(row, "public_where")?,
            asked_other_cna: flag(row, "asked_other_cna")?,
            other_cna: get(row, "other_cna")?,
            credit: get(row, "credit")?,
            pgp_key: get(row, "pgp_key")?,
        },
        state: parsed(row, "state")?,
        close_reason: close_reason
            .map(|s| s.parse().map_err(StoreError::Database))
            .transpose()?,
        duplicate_of: get::<Option<i64>>(row, "duplicate_of")?.map(ReportId),
        close_detail: get(row, "close_detail")?,
        channel: Channel::parse(&channel)
            .ok_or_else(|| StoreError::Database(format!("unknown channel {channel}")))?,
        created_at_ms: get(row, "created_at")?,
        updated_at_ms: get(row, "updated_at")?,
    })
}

pub(crate) const ATTACHMENT_COLUMNS: &str = "id, report_id, filename, content_type, size, sha256";

pub(crate) fn attachment_meta(row: &AnyRow) -> Result<AttachmentMeta, StoreError> {
    Ok(AttachmentMeta {
        id: AttachmentId(get(row, "id")?),
        report_id: ReportId(get(row, "report_id")?),
        filename: get(row, "filename")?,
        content_type: get(row, "content_type")?,
        size: get(row, "size")?,
        sha256: get(row, "sha256")?,
    })
}

pub(crate) const MESSAGE_COLUMNS: &str =
    "id, report_id, author_kind, author_user_id, author_name, visibility, body, created_at";

pub(crate) fn message(row: &AnyRow) -> Result<Message, StoreError> {
    let kind: String = get(row, "author_kind")?;
    let author = match kind.as_str() {
        "member" => Author::Member {
            id: UserId(
                get::<Option<i64>>(row, "author_user_id")?
                    .ok_or_else(|| StoreError::Database("member message without user".into()))?,
            ),
            name: get(row, "author_name")?,
        },
        _ => Author::Reporter,
    };
    let visibility: String = get(row, "visibility")?;
    Ok(Message {
        id: MessageId(get(row, "id")?),
        report_id: ReportId(get(row, "report_id")?),
        author,
        visibility: Visibility::parse(&visibility)
            .ok_or_else(|| StoreError::Database(format!("unknown visibility {visibility}")))?,
        body: get(row, "body")?,
        created_at_ms: get(row, "created_at")?,
    })
}

pub(crate) const CASE_COLUMNS: &str =
    "id, report_id, title, state, assignee_id, assignment_reason, cve_id, created_at, updated_at";

pub(crate) fn case(row: &AnyRow) -> Result<Case, StoreError> {
    Ok(Case {
        id: CaseId(get(row, "id")?),
        report_id: ReportId(get(row, "report_id")?),
        title: get(row, "title")?,
        state: parsed(row, "state")?,
        assignee: get::<Option<i64>>(row, "assignee_id")?.map(UserId),
        assignment_reason: get(row, "assignment_reason")?,
        cve_id: get::<Option<String>>(row, "cve_id")?
            .map(|s| s.parse())
            .transpose()
            .map_err(StoreError::Database)?,
        created_at_ms: get(row, "created_at")?,
        updated_at_ms: get(row, "updated_at")?,
    })
}

pub(crate) const AUDIT_COLUMNS: &str =
    "seq, occurred_at, actor, action, case_id, report_id, payload, prev_hash, hash";

pub(crate) fn audit_event(row: &AnyRow) -> Result<AuditEvent, StoreError> {
    let payload: String = get(row, "payload")?;
    Ok(AuditEvent {
        seq: get(row, "seq")?,
        occurred_at_ms: get(row, "occurred_at")?,
        actor: get(row, "actor")?,
        action: get(row, "action")?,
        case_id: get(row, "case_id")?,
        report_id: get(row, "report_id")?,
        // An unparseable payload is kept as a string so that verification
        // reports a content mismatch instead of failing to read the chain.
        payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::String(payload)),
        prev_hash: get(row, "prev_hash")?,
        hash: get(row, "hash")?,
    })
}

pub(crate) const RECORD_COLUMNS: &str = "case_id, version, cve_id, document, sha256, \
     schema_errors, lint_errors, lint_warnings, note, author_id, created_at";

pub(crate) fn record_version(row: &AnyRow) -> Result<RecordVersion, StoreError> {
    Ok(RecordVersion {
        case_id: CaseId(get(row, "case_id")?),
        version: get(row, "version")?,
        cve_id: parsed(row, "cve_id")?,
        document: get(row, "document")?,
        sha256: get(row, "sha256")?,
        schema_errors: get(row, "schema_errors")?,
        lint_errors: get(row, "lint_errors")?,
        lint_warnings: get(row, "lint_warnings")?,
        note: get(row, "note")?,
        author: UserId(get(row, "author_id")?),
        created_at_ms: get(row, "created_at")?,
    })
}

pub(crate) const CVE_ID_COLUMNS: &str = "cve_id, case_id, state, reserved_at, reserved_by, \
     disclosed_at, published_at, published_version, published_document, rejected_reason, updated_at";

pub(crate) fn cve_id_entry(row: &AnyRow) -> Result<CveIdEntry, StoreError> {
    Ok(CveIdEntry {
        cve_id: parsed(row, "cve_id")?,
        case_id: get::<Option<i64>>(row, "case_id")?.map(CaseId),
        state: parsed(row, "state")?,
        reserved_at_ms: get(row, "reserved_at")?,
        reserved_by: get(row, "reserved_by")?,
        disclosed_at_ms: get(row, "disclosed_at")?,
        published_at_ms: get(row, "published_at")?,
        published_version: get(row, "published_version")?,
        published_document: get(row, "published_document")?,
        rejected_reason: get(row, "rejected_reason")?,
        updated_at_ms: get(row, "updated_at")?,
    })
}

pub(crate) const APPROVAL_COLUMNS: &str = "case_id, version, approver_id, sha256, approved_at";

pub(crate) fn approval(row: &AnyRow) -> Result<Approval, StoreError> {
    Ok(Approval {
        case_id: CaseId(get(row, "case_id")?),
        version: get(row, "version")?,
        approver: UserId(get(row, "approver_id")?),
        sha256: get(row, "sha256")?,
        approved_at_ms: get(row, "approved_at")?,
    })
}

pub(crate) const JOB_COLUMNS: &str = "id, kind, case_id, subject, payload, state, attempts, \
     next_attempt_at, lease_until, last_error, result, requested_by, created_at, updated_at";

/// A JSON text column, read as `T`.
pub(crate) fn json_column<T: serde::de::DeserializeOwned>(
    row: &AnyRow,
    col: &str,
) -> Result<T, StoreError> {
    let text: String = get(row, col)?;
    serde_json::from_str(&text).map_err(|e| StoreError::Database(format!("{col}: {e}")))
}

pub(crate) fn job(row: &AnyRow) -> Result<Job, StoreError> {
    Ok(Job {
        id: get(row, "id")?,
        kind: parsed(row, "kind")?,
        case_id: get::<Option<i64>>(row, "case_id")?.map(CaseId),
        subject: get(row, "subject")?,
        payload: json_column(row, "payload")?,
        state: parsed(row, "state")?,
        attempts: get(row, "attempts")?,
        next_attempt_at_ms: get(row, "next_attempt_at")?,
        lease_until_ms: get(row, "lease_until")?,
        last_error: get(row, "last_error")?,
        result: match get::<Option<String>>(row, "result")? {
            Some(_) => Some(json_column(row, "result")?),
            None => None,
        },
        requested_by: get(row, "requested_by")?,
        created_at_ms: get(row, "created_at")?,
        updated_at_ms: get(row, "updated_at")?,
    })
}

pub(crate) const ANNOTATION_COLUMNS: &str = "product_key, annotation, updated_at, updated_by";

pub(crate) fn product_annotation(
    row: &AnyRow,
) -> Result<cnadesk_store::ProductAnnotation, StoreError> {
    Ok(cnadesk_store::ProductAnnotation {
        key: get(row, "product_key")?,
        annotation: json_column(row, "annotation")?,
        updated_at_ms: get(row, "updated_at")?,
        updated_by: get::<Option<i64>>(row, "updated_by")?.map(UserId),
    })
}

pub(crate) const SCOPE_COLUMNS: &str = "id, report_id, decision, rule_id, policy_version, \
     product_key, referral_cna, overridden, reason, input, proposal, decided_by, decided_at";

pub(crate) fn scope_decision(row: &AnyRow) -> Result<cnadesk_store::ScopeDecision, StoreError> {
    Ok(cnadesk_store::ScopeDecision {
        id: get(row, "id")?,
        report: ReportId(get(row, "report_id")?),
        decision: parsed(row, "decision")?,
        rule: get(row, "rule_id")?,
        policy_version: get(row, "policy_version")?,
        product_key: get(row, "product_key")?,
        referral_cna: get(row, "referral_cna")?,
        overridden: flag(row, "overridden")?,
        reason: get(row, "reason")?,
        input: json_column(row, "input")?,
        proposal: json_column(row, "proposal")?,
        decided_by: UserId(get(row, "decided_by")?),
        decided_at_ms: get(row, "decided_at")?,
    })
}

/// SHA-256 as lowercase hex (message bodies, files and documents in audit payloads).
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}
