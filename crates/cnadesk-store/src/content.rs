//! The content audit events commit to: digests of stored reports, messages
//! and record versions, and the check that they still match the chain.

use std::collections::BTreeMap;

use cnadesk_core::audit::{
    self, CaseMessageContent, ChainError, ContentClaim, ContentSubject, DigestScheme,
    MessageContent, RecordVersionContent,
};
use cnadesk_core::{CaseId, ReportId};

use crate::{Author, CaseMessage, Message, RecordVersion, Report, Store, VerifyError};

impl Report {
    /// The digest of what the reporter submitted ([`audit::report_digest`]).
    pub fn content_digest(&self) -> String {
        audit::report_digest(self.id, &self.fields)
    }
}

impl Message {
    /// The digest of the message ([`audit::message_digest`]).
    pub fn content_digest(&self) -> String {
        let author = match &self.author {
            Author::Member { id, name } => Some((id.0, name.as_str())),
            Author::Reporter => None,
        };
        audit::message_digest(&MessageContent {
            id: self.id.0,
            report_id: self.report_id.0,
            author,
            visibility: self.visibility.as_str(),
            body: &self.body,
            created_at_ms: self.created_at_ms,
        })
    }
}

impl CaseMessage {
    /// The digest of the message ([`audit::case_message_digest`]).
    pub fn content_digest(&self) -> String {
        audit::case_message_digest(&CaseMessageContent {
            id: self.id,
            case_id: self.case_id.0,
            participant_id: self.participant_id,
            author: &self.author,
            actor: &self.actor,
            body: &self.body,
            created_at_ms: self.created_at_ms,
        })
    }
}

impl RecordVersion {
    /// The digest of the version ([`audit::record_version_digest`]).
    pub fn content_digest(&self) -> String {
        audit::record_version_digest(&RecordVersionContent {
            case_id: self.case_id.0,
            version: self.version,
            cve_id: self.cve_id.as_str(),
            document: &self.document,
            sha256: &self.sha256,
            counts: (self.schema_errors, self.lint_errors, self.lint_warnings),
            note: &self.note,
            author_id: self.author.0,
            created_at_ms: self.created_at_ms,
        })
    }
}

/// The digest of `text` content under a claim's scheme.
fn digest_as(claim: &ContentClaim, canonical: impl FnOnce() -> String, text: &str) -> String {
    match claim.scheme {
        DigestScheme::Canonical => canonical(),
        DigestScheme::TextSha256 => audit::text_sha256(text),
    }
}

/// Re-reads every content the chain commits to (the latest claim per
/// content) and recomputes its digest. Fails with the earliest event whose
/// content changed ([`VerifyError::Broken`]), or with the store's error when
/// it cannot be read ([`VerifyError::Store`]). Threads and record histories
/// are read once per report or case.
pub(crate) async fn check_claims(
    store: &dyn Store,
    claims: Vec<ContentClaim>,
) -> Result<(), VerifyError> {
    let mut failures: Vec<ChainError> = Vec::new();
    let mut messages: BTreeMap<Option<i64>, Vec<(i64, ContentClaim)>> = BTreeMap::new();
    let mut case_messages: BTreeMap<Option<i64>, Vec<(i64, ContentClaim)>> = BTreeMap::new();
    let mut versions: BTreeMap<i64, Vec<(i64, ContentClaim)>> = BTreeMap::new();
    for claim in claims {
        match claim.subject {
            ContentSubject::Report(id) => {
                let found = store.report(ReportId(id)).await?;
                // Reports have no text-only legacy digest.
                let found = found.map(|r| r.content_digest());
                if let Err(e) = claim.check(found.as_deref()) {
                    failures.push(e);
                }
            }
            ContentSubject::Message(id) => {
                messages
                    .entry(claim.report_id)
                    .or_default()
                    .push((id, claim));
            }
            ContentSubject::CaseMessage(id) => {
                case_messages
                    .entry(claim.case_id)
                    .or_default()
                    .push((id, claim));
            }
            ContentSubject::RecordVersion { case, version } => {
                versions.entry(case).or_default().push((version, claim));
            }
        }
    }
    for (report, claims) in messages {
        let thread = match report {
            Some(report) => store.messages(ReportId(report), true).await?,
            None => Vec::new(),
        };
        let by_id: BTreeMap<i64, &Message> = thread.iter().map(|m| (m.id.0, m)).collect();
        for (id, claim) in claims {
            let found = by_id
                .get(&id)
                .map(|m| digest_as(&claim, || m.content_digest(), &m.body));
            if let Err(e) = claim.check(found.as_deref()) {
                failures.push(e);
            }
        }
    }
    for (case, claims) in case_messages {
        let thread = match case {
            Some(case) => store.case_messages(CaseId(case), None).await?,
            None => Vec::new(),
        };
        let by_id: BTreeMap<i64, &CaseMessage> = thread.iter().map(|m| (m.id, m)).collect();
        for (id, claim) in claims {
            let found = by_id
                .get(&id)
                .map(|m| digest_as(&claim, || m.content_digest(), &m.body));
            if let Err(e) = claim.check(found.as_deref()) {
                failures.push(e);
            }
        }
    }
    for (case, claims) in versions {
        let history = store.record_versions(CaseId(case)).await?;
        let by_version: BTreeMap<i64, &RecordVersion> =
            history.iter().map(|v| (v.version, v)).collect();
        for (version, claim) in claims {
            let found = by_version
                .get(&version)
                .map(|v| digest_as(&claim, || v.content_digest(), &v.document));
            if let Err(e) = claim.check(found.as_deref()) {
                failures.push(e);
            }
        }
    }
    match failures.into_iter().min_by_key(ChainError::seq) {
        Some(first) => Err(VerifyError::Broken(first)),
        None => Ok(()),
    }
}
