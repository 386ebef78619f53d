//! Messages that reach people.
//!
//! - **Fan-out**: audit events (written in the transaction of each decision)
//!   are read after a cursor and turned into outbox messages, one per
//!   recipient and channel, by the rules in [`intents`]. The cursor moves in
//!   the same transaction as the messages, and every message has a key that
//!   is unique for ever, so each event is told once, even across crashes.
//! - **Delivery**: due outbox messages are rendered and sent by e-mail
//!   (encrypted and signed with OpenPGP when the recipient has a key) or
//!   XMPP, and retried with backoff.
//!
//! Received mail is filed in [`crate::inbound`].

use std::collections::BTreeMap;
use std::time::Duration;

use cnadesk_core::audit::{AuditAction, AuditEvent};
use cnadesk_core::sla_policy::TargetKey;
use cnadesk_core::{CaseId, ReportId, UserId};
use cnadesk_notify::mail::{Mailer, Outgoing, SendError};
use cnadesk_notify::openpgp::{PublicCert, SecretCert};
use cnadesk_notify::templates::Templates;
use cnadesk_notify::xmpp::{XmppNotifier, XmppTarget};
use cnadesk_store::{
    DeliveryOutcome, MemberContact, NewOutboxMessage, NotificationPref, OutboxChannel,
    OutboxMessage, StoreError, User,
};
use serde_json::{json, Value};

use crate::keys::sha256_hex;
use crate::App;

/// The kinds of event a member chooses channels for, with a label.
pub const EVENTS: [(&str, &str); 8] = [
    ("new_report", "A new report arrives"),
    ("assigned", "A case is assigned to me"),
    ("offered", "A case is offered to me"),
    (
        "clock_alert",
        "A response-time clock of mine is at risk or handed to me",
    ),
    (
        "approval_requested",
        "A record version waits for a second member's approval, or mine was approved",
    ),
    ("reporter_replied", "The reporter of my case writes"),
    ("published", "A CVE record of my case is published"),
    (
        "vendor_activity",
        "A vendor of my case answers, writes, or the embargo changes",
    ),
];

/// The fan-out's cursor name.
const CURSOR: &str = "notify";
/// Purpose of sealed outbox parts.
pub(crate) const SEAL_PURPOSE: &str = "outbox";
/// Purpose of reply tokens.
const REPLY_PURPOSE: &str = "reply-token";
/// Attempts before a message is given up.
const MAX_ATTEMPTS: i64 = 8;

/// How the desk reaches people; all parts optional.
#[derive(Default)]
pub struct NotifyDesk {
    templates: Templates,
    mailer: Option<Mailer>,
    xmpp: Option<XmppNotifier>,
    room: Option<String>,
    pub(crate) key: Option<SecretCert>,
    security_address: Option<(String, String)>,
    plaintext_details: bool,
}

impl std::fmt::Debug for NotifyDesk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotifyDesk")
            .field("mail", &self.mailer.is_some())
            .field("xmpp", &self.xmpp.is_some())
            .field("room", &self.room)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl NotifyDesk {
    /// A desk that sends nothing (no channel configured).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sends e-mail with `mailer`; the security address (the mailer's sender)
    /// receives replies with a `+token`.
    pub fn with_mail(mut self, mailer: Mailer) -> Self {
        let address = mailer.from().email.to_string();
        if let Some((local, domain)) = address.split_once('@') {
            let local = local.split_once('+').map_or(local, |(l, _)| l);
            self.security_address = Some((local.to_owned(), domain.to_owned()));
        }
        self.mailer = Some(mailer);
        self
    }

    /// Sends XMPP messages, to members and to the team's room.
    pub fn with_xmpp(mut self, notifier: XmppNotifier, room: Option<String>) -> Self {
        self.xmpp = Some(notifier);
        self.room = room;
        self
    }

    /// The CNA's OpenPGP key: signs encrypted mail and decrypts inbound mail.
    pub fn with_key(mut self, key: SecretCert) -> Self {
        self.key = Some(key);
        self
    }

    /// Allows details of unpublished vulnerabilities in unencrypted mail
    /// (off by default: such mail only says there is something to read).
    pub fn with_plaintext_details(mut self, allowed: bool) -> Self {
        self.plaintext_details = allowed;
        self
    }

    /// Whether e-mail is configured.
    pub fn mail_enabled(&self) -> bool {
        self.mailer.is_some()
    }

    /// Whether XMPP is configured.
    pub fn xmpp_enabled(&self) -> bool {
        self.xmpp.is_some()
    }

    /// Whether the XMPP connection is up.
    pub fn xmpp_connected(&self) -> bool {
        self.xmpp.as_ref().is_some_and(XmppNotifier::connected)
    }

    /// The security address (`security@xmpp.org`), when mail is configured.
    pub fn security_email(&self) -> Option<String> {
        self.security_address
            .as_ref()
            .map(|(local, domain)| format!("{local}@{domain}"))
    }

    /// The CNA key's public part, for the public key download.
    pub fn public_key(&self) -> Option<PublicCert> {
        self.key.as_ref().map(SecretCert::public)
    }

    /// Whether the policy allows details in unencrypted mail.
    pub fn plaintext_details(&self) -> bool {
        self.plaintext_details
    }

    /// The address replies about `report` go to (`security+r12.9f…@domain`).
    pub fn reply_address(&self, app: &App, report: ReportId) -> Option<String> {
        let (local, domain) = self.security_address.as_ref()?;
        Some(format!("{local}+{}@{domain}", reply_token(app, report)))
    }
}

/// The token that routes an answer to `report`: the report number and a
/// MAC over it, so it cannot be guessed for another report.
pub fn reply_token(app: &App, report: ReportId) -> String {
    let mac = app.key.sign(REPLY_PURPOSE, report.0.to_string().as_bytes());
    format!("r{}.{}", report.0, &mac[..24])
}

/// The report a reply token routes to, if it is genuine.
pub fn report_of_token(app: &App, token: &str) -> Option<ReportId> {
    let rest = token.strip_prefix('r')?;
    let (id, mac) = rest.split_once('.')?;
    let id: i64 = id.parse().ok()?;
    let expected = app.key.sign(REPLY_PURPOSE, id.to_string().as_bytes());
    // Constant time over the short tag.
    let same = mac.len() == 24
        && mac
            .bytes()
            .zip(expected[..24].bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    same.then_some(ReportId(id))
}

// ---- fan-out -------------------------------------------------------------------

/// Who a message is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Audience {
    /// One member, by their choices for `event`.
    Member {
        /// The member.
        user: UserId,
        /// The kind of event (for their choices).
        event: &'static str,
    },
    /// The reporter of the report, by e-mail.
    Reporter,
    /// The team's XMPP room (never details).
    Room,
    /// The vendor contacts of the case by e-mail (never details): every
    /// invited contact, or only participant `Some(p)`.
    Vendors(Option<i64>),
}

/// One thing to tell, before channels are chosen.
#[derive(Clone, Debug, PartialEq)]
pub struct Intent {
    /// Who.
    pub audience: Audience,
    /// Which template.
    pub template: &'static str,
    /// Its context (details under `details`).
    pub context: Value,
}

/// What the fan-out knows about the desk when it reads an event.
pub struct Facts {
    /// Active members.
    pub members: Vec<User>,
    /// The case's assignee, if the event concerns a case.
    pub assignee: Option<UserId>,
    /// Members recused from the case.
    pub recused: Vec<UserId>,
    /// The report's title and product (details).
    pub details: Option<Value>,
    /// The message the event is about (`message.shared`), with its author.
    pub message: Option<(String, String)>,
    /// The reporter's preferred credit.
    pub credit: Option<String>,
    /// The desk's base URL.
    pub desk_url: String,
    /// The case's CVE ID, if any.
    pub cve_id: Option<String>,
    /// Whether messages link CVE IDs to their records on cve.org (not on a
    /// demo desk, whose IDs are not real).
    pub cve_org: bool,
}

impl Facts {
    /// The record of `id` on cve.org, or null (a demo desk, or no CVE ID).
    fn cve_record_url(&self, id: &str) -> Value {
        if self.cve_org && id.starts_with("CVE-") {
            json!(format!("https://www.cve.org/CVERecord?id={id}"))
        } else {
            Value::Null
        }
    }
}

fn actor_member(actor: &str) -> Option<UserId> {
    match actor.parse() {
        Ok(cnadesk_core::Actor::Member { id, .. }) => Some(id),
        _ => None,
    }
}

/// Whether a vendor contact caused the event.
fn by_vendor(event: &AuditEvent) -> bool {
    matches!(event.actor.parse(), Ok(cnadesk_core::Actor::Vendor { .. }))
}

fn user_field(payload: &Value, key: &str) -> Option<UserId> {
    payload[key].as_i64().map(UserId)
}

/// The messages one audit event causes (pure: the rules in one place).
pub fn intents(event: &AuditEvent, facts: &Facts) -> Vec<Intent> {
    let report = event.report_id;
    let case = event.case_id;
    let url = &facts.desk_url;
    let report_link = report.map(|r| format!("{url}/desk/reports/{r}"));
    let case_link = case.map(|c| format!("{url}/desk/cases/{c}"));
    let link = case_link
        .clone()
        .or(report_link.clone())
        .unwrap_or_default();
    let by = actor_member(&event.actor);
    let member_event = |user: UserId, event_kind: &'static str, headline: String| Intent {
        audience: Audience::Member {
            user,
            event: event_kind,
        },
        template: "member_event",
        context: json!({
            "headline": headline,
            "link": link,
            "details": facts.details,
        }),
    };
    let room = |headline: String| Intent {
        audience: Audience::Room,
        template: "member_event",
        context: json!({ "headline": headline, "link": link, "member": "team" }),
    };
    let subject_ref = match (case, report) {
        (Some(c), _) => format!("case #{c}"),
        (None, Some(r)) => format!("report #{r}"),
        _ => String::new(),
    };
    let mut out = Vec::new();
    match event.kind() {
        Some(AuditAction::ReportCreated) => {
            let Some(r) = report else { return out };
            out.push(room(format!("New report #{r}")));
            for m in &facts.members {
                out.push(member_event(m.id, "new_report", format!("New report #{r}")));
            }
        }
        Some(AuditAction::CaseAssigned) => {
            if let (Some(to), Some(c)) = (user_field(&event.payload, "to"), case) {
                if by != Some(to) {
                    out.push(member_event(
                        to,
                        "assigned",
                        format!("Case #{c} assigned to you"),
                    ));
                }
            }
        }
        Some(AuditAction::CaseOffered) => {
            if let (Some(to), Some(c)) = (user_field(&event.payload, "offered_to"), case) {
                out.push(member_event(
                    to,
                    "offered",
                    format!("Case #{c} offered to you"),
                ));
            }
        }
        Some(AuditAction::SlaWarned | AuditAction::SlaEscalated | AuditAction::SlaBreached) => {
            let (level_title, level_text, to) = match event.kind() {
                Some(AuditAction::SlaWarned) => (
                    "Warning",
                    "A response-time commitment of yours is at risk.",
                    user_field(&event.payload, "to"),
                ),
                Some(AuditAction::SlaEscalated) => (
                    "Handed on to you",
                    "A response-time commitment is about to be missed and was handed on to you.",
                    user_field(&event.payload, "offered_to"),
                ),
                _ => ("Missed", "A response-time commitment was missed.", None),
            };
            let context = json!({
                "level_title": level_title,
                "level_text": level_text,
                "target": event.payload["target"],
                "subject_ref": subject_ref,
                "message": event.payload["message"],
                "link": link,
                "details": facts.details,
            });
            match to {
                Some(user) => out.push(Intent {
                    audience: Audience::Member {
                        user,
                        event: "clock_alert",
                    },
                    template: "sla_alert",
                    context,
                }),
                None => {
                    let mut context = context;
                    context["member"] = json!("team");
                    strip_details(&mut context);
                    out.push(Intent {
                        audience: Audience::Room,
                        template: "sla_alert",
                        context,
                    })
                }
            }
        }
        Some(AuditAction::RecordVersionSaved) => {
            let Some(c) = case else { return out };
            let version = event.payload["version"].as_i64().unwrap_or(0);
            for m in &facts.members {
                if Some(m.id) == by || facts.recused.contains(&m.id) {
                    continue;
                }
                out.push(member_event(
                    m.id,
                    "approval_requested",
                    format!("Record version {version} of case #{c} waits for your approval"),
                ));
            }
        }
        // The author hears back.
        Some(AuditAction::RecordApproved) => {
            let (Some(c), Some(author)) = (case, user_field(&event.payload, "author")) else {
                return out;
            };
            if by != Some(author) {
                let version = event.payload["version"].as_i64().unwrap_or(0);
                out.push(member_event(
                    author,
                    "approval_requested",
                    format!("Record version {version} of case #{c} was approved"),
                ));
            }
        }
        Some(AuditAction::MessageShared) => {
            let Some(r) = report else { return out };
            if by.is_some() {
                if let Some((author, body)) = &facts.message {
                    out.push(Intent {
                        audience: Audience::Reporter,
                        template: "team_message",
                        context: json!({
                            "report": r,
                            "details": {"author": author, "body": body},
                        }),
                    });
                }
            } else if matches!(
                event.actor.parse(),
                Ok(cnadesk_core::Actor::Reporter { .. })
            ) {
                let headline = format!("The reporter of report #{r} wrote");
                match facts.assignee {
                    Some(a) => out.push(member_event(a, "reporter_replied", headline)),
                    None => out.push(room(headline)),
                }
            }
        }
        Some(AuditAction::CaseOpened) => {
            if let Some(r) = report {
                out.push(reporter_stage(
                    r,
                    "accepted",
                    "we confirmed that what you reported is a vulnerability in our scope and opened a case for it. We tell you when a CVE ID is assigned and when it is published.",
                    None,
                ));
            }
        }
        Some(AuditAction::CaseStateChanged) if event.payload["to"] == "closed" => {
            if let Some(r) = report {
                out.push(reporter_stage(
                    r,
                    "closed",
                    "we closed the case of your report: nothing is left for us to do. Thank you for reporting it.",
                    facts.cve_id.clone(),
                ));
            }
        }
        // An ID reserved for the case becomes its CVE ID by itself.
        Some(AuditAction::CveReserved) => {
            let reserved = event.payload["ids"].as_array();
            if let (Some(r), Some(id)) = (report, facts.cve_id.as_deref()) {
                if reserved.is_some_and(|ids| ids.iter().any(|i| i.as_str() == Some(id))) {
                    out.push(Intent {
                        audience: Audience::Reporter,
                        template: "cve_assigned",
                        context: json!({ "report": r, "cve_id": id, "details": facts.details }),
                    });
                }
            }
        }
        Some(AuditAction::CaseCveIdSet) => {
            if let (Some(r), Some(id)) = (report, event.payload["cve_id"].as_str()) {
                out.push(Intent {
                    audience: Audience::Reporter,
                    template: "cve_assigned",
                    context: json!({ "report": r, "cve_id": id, "details": facts.details }),
                });
            }
        }
        Some(AuditAction::CvePublished) => {
            let Some(id) = event.payload["cve_id"].as_str() else {
                return out;
            };
            out.push(room(format!("{id} published")));
            if let Some(a) = facts.assignee {
                out.push(member_event(a, "published", format!("{id} published")));
            }
            if report.is_some() {
                out.push(Intent {
                    audience: Audience::Reporter,
                    template: "advisory_published",
                    context: json!({
                        "cve_id": id,
                        // The desk's own advisory page (stable per CVE ID).
                        "advisory_url": format!("{url}/advisories/{id}"),
                        "cve_record_url": facts.cve_record_url(id),
                        "credit": facts.credit,
                    }),
                });
            }
        }
        Some(AuditAction::EmbargoSet | AuditAction::EmbargoChanged) => {
            let Some(c) = case else { return out };
            let end = ms_text(&event.payload["end"]);
            let previous = ms_text(&event.payload["previous_end"]);
            out.push(room(format!("Case #{c}: the embargo now ends {end} UTC")));
            if let Some(a) = facts.assignee.filter(|a| by != Some(*a)) {
                out.push(member_event(
                    a,
                    "vendor_activity",
                    format!("Case #{c}: the embargo now ends {end} UTC"),
                ));
            }
            out.push(Intent {
                audience: Audience::Vendors(None),
                template: "embargo_changed",
                context: json!({
                    "case": c,
                    "previous_end": previous,
                    "embargo_end": end,
                    // No reason: it may name other vendors (the portal
                    // shows it after the terms).
                    "case_link": format!("{url}/vendor/cases/{c}"),
                }),
            });
        }
        Some(AuditAction::EmbargoProposed) => {
            let Some(c) = case else { return out };
            out.push(vendor_event(
                None,
                c,
                format!(
                    "The coordinator proposes a new embargo end, {} UTC, and asks for your consent",
                    ms_text(&event.payload["end"])
                ),
                url,
            ));
        }
        Some(AuditAction::EmbargoBroken) => {
            let Some(c) = case else { return out };
            let headline = format!("Case #{c}: the embargo was broken (public disclosure)");
            out.push(room(headline.clone()));
            if let Some(a) = facts.assignee {
                out.push(member_event(a, "vendor_activity", headline));
            }
            out.push(vendor_event(
                None,
                c,
                "The vulnerability became public before the embargo end; publication follows within 72 hours".into(),
                url,
            ));
        }
        Some(AuditAction::EmbargoLifted) => {
            let Some(c) = case else { return out };
            out.push(room(format!(
                "Case #{c}: embargo lifted, advisory published"
            )));
            let name = facts.cve_id.clone().unwrap_or_else(|| format!("Case #{c}"));
            let page = facts.cve_id.clone().unwrap_or_else(|| format!("CASE-{c}"));
            out.push(Intent {
                audience: Audience::Vendors(None),
                template: "advisory_published",
                context: json!({
                    "cve_id": name,
                    "advisory_url": format!("{url}/advisories/{page}"),
                    "cve_record_url": facts.cve_record_url(&name),
                    "credit": null,
                }),
            });
        }
        Some(AuditAction::EmbargoPublicationNotQueued) => {
            let Some(c) = case else { return out };
            let headline = format!(
                "Case #{c}: the embargo was lifted, but the record was not queued for publication ({})",
                event.payload["reason"].as_str().unwrap_or("no reason")
            );
            out.push(room(headline.clone()));
            if let Some(a) = facts.assignee {
                out.push(member_event(a, "published", headline));
            }
        }
        Some(AuditAction::CoordinationMessage) => {
            let Some(c) = case else { return out };
            if by.is_some() {
                out.push(vendor_event(
                    event.payload["participant"].as_i64(),
                    c,
                    "New message from the coordinator".into(),
                    url,
                ));
            } else if by_vendor(event) {
                let headline = format!("A vendor wrote on case #{c}");
                match facts.assignee {
                    Some(a) => out.push(member_event(a, "vendor_activity", headline)),
                    None => out.push(room(headline)),
                }
            }
        }
        Some(
            AuditAction::VendorAccepted
            | AuditAction::VendorAcknowledged
            | AuditAction::VulnerabilityProductUpdated,
        ) if by_vendor(event) => {
            let Some(c) = case else { return out };
            let what = match event.kind() {
                Some(AuditAction::VendorAccepted) => "accepted the invitation",
                Some(AuditAction::VendorAcknowledged) => "acknowledged the embargo",
                _ => "updated a product's status",
            };
            let headline = format!("A vendor {what} on case #{c}");
            match facts.assignee {
                Some(a) => out.push(member_event(a, "vendor_activity", headline)),
                None => out.push(room(headline)),
            }
        }
        _ => {}
    }
    out
}

/// A message telling the reporter where their report stands.
fn reporter_stage(report: i64, stage: &str, text: &str, cve_id: Option<String>) -> Intent {
    Intent {
        audience: Audience::Reporter,
        template: "report_stage",
        context: json!({ "report": report, "stage": stage, "text": text, "cve_id": cve_id }),
    }
}

/// A UTC time from an event payload (ms), as messages print it.
fn ms_text(v: &Value) -> String {
    v.as_i64()
        .map(crate::text::utc)
        .unwrap_or_else(|| "not set".into())
}

/// Seals secret template values (personal links) for the outbox: stored
/// encrypted, merged into the context only when the message is sent.
pub(crate) fn seal_context(app: &App, secret: Value) -> Vec<u8> {
    app.key.seal(SEAL_PURPOSE, secret.to_string().as_bytes())
}

fn vendor_event(participant: Option<i64>, case: i64, headline: String, url: &str) -> Intent {
    Intent {
        audience: Audience::Vendors(participant),
        template: "vendor_event",
        context: json!({
            "case": case,
            "headline": headline,
            "case_link": format!("{url}/vendor/cases/{case}"),
        }),
    }
}

/// The default choice for an event: e-mail and XMPP both on.
fn chosen(prefs: &[NotificationPref], user: UserId, event: &str) -> (bool, bool) {
    prefs
        .iter()
        .find(|p| p.user == user && p.event == event)
        .map_or((true, true), |p| (p.email, p.xmpp))
}

/// One member's choices for every event, defaults filled in.
pub fn choices_of(prefs: &[NotificationPref], user: UserId) -> Vec<NotificationPref> {
    EVENTS
        .iter()
        .map(|(event, _)| {
            let (email, xmpp) = chosen(prefs, user, event);
            NotificationPref {
                user,
                event: (*event).to_owned(),
                email,
                xmpp,
            }
        })
        .collect()
}

/// Reads audit events after the cursor and queues the messages they cause.
/// Returns how many were queued.
pub async fn fan_out(app: &App) -> Result<usize, StoreError> {
    let desk = &app.notify;
    let store = &*app.store;
    if !desk.mail_enabled() && !desk.xmpp_enabled() {
        // Nothing to tell with: events pass unnoticed, so switching a
        // channel on later does not send old news.
        skip_to_head(app).await?;
        return Ok(0);
    }
    let mut queued = 0;
    loop {
        let after = store.notify_cursor(CURSOR).await?;
        let events = store.audit_events(after, 200).await?;
        let Some(last) = events.last().map(|e| e.seq) else {
            return Ok(queued);
        };
        let users: Vec<User> = store.list_users().await?;
        let contacts: BTreeMap<UserId, MemberContact> = store
            .member_contacts()
            .await?
            .into_iter()
            .map(|c| (c.user, c))
            .collect();
        let prefs = store.notification_prefs().await?;
        let mut messages = Vec::new();
        for event in &events {
            let facts = facts_for(app, event, &users).await?;
            for intent in intents(event, &facts) {
                messages.extend(resolve(app, event, intent, &users, &contacts, &prefs).await?);
            }
        }
        queued += store
            .enqueue_messages(messages, Some((CURSOR, last)), app.now_ms())
            .await?;
    }
}

/// Starts the fan-out at the end of the log on a desk that never ran it, so
/// switching notifications on does not replay history.
pub async fn start_cursor_at_head(app: &App) -> Result<(), StoreError> {
    if app.store.notify_cursor(CURSOR).await? == 0 {
        skip_to_head(app).await?;
    }
    Ok(())
}

/// Moves the fan-out cursor past every event so far, telling nobody.
async fn skip_to_head(app: &App) -> Result<(), StoreError> {
    cursor_to_head(app, CURSOR).await
}

/// Moves the fan-out cursor `name` to the end of the audit log.
pub(crate) async fn cursor_to_head(app: &App, name: &str) -> Result<(), StoreError> {
    let head = app.store.audit_head().await?;
    if head > 0 {
        app.store
            .enqueue_messages(Vec::new(), Some((name, head)), app.now_ms())
            .await?;
    }
    Ok(())
}

async fn facts_for(app: &App, event: &AuditEvent, users: &[User]) -> Result<Facts, StoreError> {
    let store = &*app.store;
    let report = match event.report_id {
        Some(r) => store.report(ReportId(r)).await?,
        None => None,
    };
    let case = match event.case_id {
        Some(c) => store.case(CaseId(c)).await?,
        None => match &report {
            Some(r) => store.case_for_report(r.id).await?,
            None => None,
        },
    };
    let recused = match &case {
        Some(c) => store
            .recusals(Some(c.id))
            .await?
            .into_iter()
            .map(|r| r.user)
            .collect(),
        None => Vec::new(),
    };
    let message = match (event.kind(), &report) {
        (Some(AuditAction::MessageShared), Some(r)) => {
            let id = event.payload["message_id"].as_i64();
            store
                .messages(r.id, false)
                .await?
                .into_iter()
                .find(|m| Some(m.id.0) == id)
                .map(|m| {
                    let author = match &m.author {
                        cnadesk_store::Author::Member { name, .. } => {
                            format!("{name} ({})", app.settings.cna_name)
                        }
                        cnadesk_store::Author::Reporter => "You".to_owned(),
                    };
                    (author, m.body)
                })
        }
        _ => None,
    };
    Ok(Facts {
        members: users.iter().filter(|u| u.active).cloned().collect(),
        assignee: case.as_ref().and_then(|c| c.assignee),
        recused,
        details: report
            .as_ref()
            .map(|r| json!({"title": r.fields.title, "product": r.fields.product})),
        message,
        credit: report.as_ref().and_then(|r| r.fields.credit.clone()),
        desk_url: app.settings.public_url.trim_end_matches('/').to_owned(),
        cve_id: case
            .as_ref()
            .and_then(|c| c.cve_id.as_ref().map(ToString::to_string)),
        cve_org: !app.is_demo(),
    })
}

/// Turns an intent into messages on the channels its audience has.
async fn resolve(
    app: &App,
    event: &AuditEvent,
    intent: Intent,
    users: &[User],
    contacts: &BTreeMap<UserId, MemberContact>,
    prefs: &[NotificationPref],
) -> Result<Vec<NewOutboxMessage>, StoreError> {
    let desk = &app.notify;
    let mut context = intent.context;
    let base = |ctx: &mut Value| {
        ctx["cna_name"] = json!(app.settings.cna_name);
        ctx["desk_url"] = json!(app.settings.public_url.trim_end_matches('/'));
    };
    base(&mut context);
    let message =
        |channel: OutboxChannel, who: String, recipient: String, context: Value| NewOutboxMessage {
            dedupe_key: format!("ev:{}:{}:{}:{}", event.seq, intent.template, channel, who),
            channel,
            recipient,
            template: intent.template.to_owned(),
            report_id: event.report_id.map(ReportId),
            case_id: event.case_id.map(CaseId),
            event_seq: Some(event.seq),
            context,
            sealed: None,
        };
    let mut out = Vec::new();
    match intent.audience {
        Audience::Room => {
            if let (true, Some(room)) = (desk.xmpp_enabled(), &desk.room) {
                let mut ctx = context;
                strip_details(&mut ctx);
                out.push(message(
                    OutboxChannel::Xmpp,
                    "room".into(),
                    room.clone(),
                    ctx,
                ));
            }
        }
        Audience::Member { user, event: kind } => {
            let Some(member) = users.iter().find(|u| u.id == user && u.active) else {
                return Ok(out);
            };
            let (email, xmpp) = chosen(prefs, user, kind);
            context["member"] = json!(member.display_name);
            context["settings_link"] = json!(format!(
                "{}/desk/settings/notifications",
                app.settings.public_url.trim_end_matches('/')
            ));
            context["_key"] = json!({ "member": user.0 });
            let who = format!("user:{}", user.0);
            if email && desk.mail_enabled() && !member.email.is_empty() {
                out.push(message(
                    OutboxChannel::Email,
                    who.clone(),
                    member.email.clone(),
                    context.clone(),
                ));
            }
            let jid = contacts.get(&user).map(|c| c.jid.as_str()).unwrap_or("");
            if xmpp && desk.xmpp_enabled() && !jid.is_empty() {
                let mut ctx = context;
                strip_details(&mut ctx);
                out.push(message(OutboxChannel::Xmpp, who, jid.to_owned(), ctx));
            }
        }
        Audience::Vendors(only) => {
            let Some(case) = event.case_id else {
                return Ok(out);
            };
            if !desk.mail_enabled() {
                return Ok(out);
            }
            for p in app.store.participants(CaseId(case)).await? {
                if only.is_some_and(|o| o != p.id) {
                    continue;
                }
                let mut ctx = context.clone();
                strip_details(&mut ctx);
                ctx["contact_name"] = json!(p.contact_name);
                out.push(message(
                    OutboxChannel::Email,
                    format!("participant:{}", p.id),
                    p.email.clone(),
                    ctx,
                ));
            }
        }
        Audience::Reporter => {
            let Some(report) = (match event.report_id {
                Some(r) => app.store.report(ReportId(r)).await?,
                None => None,
            }) else {
                return Ok(out);
            };
            let Some(email) = report.fields.reporter_email.clone() else {
                return Ok(out);
            };
            if desk.mail_enabled() {
                context["reporter_name"] = json!(report.fields.reporter_name);
                context["_key"] = json!({ "reporter": report.id.0 });
                context["_reply"] = json!(report.id.0);
                out.push(message(
                    OutboxChannel::Email,
                    "reporter".into(),
                    email,
                    context,
                ));
            }
        }
    }
    Ok(out)
}

fn strip_details(ctx: &mut Value) {
    if let Value::Object(map) = ctx {
        map.remove("details");
    }
}

/// The acknowledgement of a new report, queued with the report itself.
/// `None` when e-mail is off or the reporter left no address.
pub fn acknowledgement(
    app: &App,
    fields: &cnadesk_core::ValidReport,
    tracking_token: &str,
) -> Option<NewOutboxMessage> {
    if !app.notify.mail_enabled() {
        return None;
    }
    let email = fields.reporter_email.clone()?;
    let policy = app.team.policy();
    let url = app.settings.public_url.trim_end_matches('/');
    let link = format!("{url}/track/{tracking_token}");
    let target = |k: TargetKey| policy.target(k).within.to_string();
    Some(NewOutboxMessage {
        dedupe_key: format!("ack:{}", sha256_hex(tracking_token)),
        channel: OutboxChannel::Email,
        recipient: email,
        template: "report_ack".into(),
        report_id: None,
        case_id: None,
        event_seq: None,
        context: json!({
            "cna_name": app.settings.cna_name,
            "desk_url": url,
            "reporter_name": fields.reporter_name,
            "received": cnadesk_core::sla::timestamp(app.now_ms()).strftime("%Y-%m-%d %H:%M UTC").to_string(),
            "details": {"title": fields.title, "product": fields.product},
            "targets": {
                "acknowledge": target(TargetKey::Acknowledge),
                "triage": target(TargetKey::Triage),
                "cve_decision": target(TargetKey::CveDecision),
            },
            "_key": {"reporter_key": fields.pgp_key},
            "_reply": true,
        }),
        sealed: Some(seal_context(app, json!({ "tracking_link": link }))),
    })
}

// ---- delivery ------------------------------------------------------------------

/// A message's status in words, as the outbox and the report page show it.
pub fn delivery_status(m: &OutboxMessage) -> String {
    use cnadesk_store::JobState;
    match m.state {
        JobState::Queued if m.attempts > 0 => "queued (will retry)".into(),
        JobState::Queued => "queued".into(),
        JobState::Running => "sending".into(),
        JobState::Done => "sent".into(),
        JobState::Failed => format!("failed after {} tries", m.attempts),
    }
}

/// What a delivery round did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Delivery {
    /// Sent.
    pub sent: usize,
    /// To be tried again.
    pub retried: usize,
    /// Given up.
    pub failed: usize,
}

fn backoff_ms(attempt: i64) -> i64 {
    let minutes = 1_i64 << attempt.clamp(1, 9).saturating_sub(1);
    minutes.min(240) * 60_000
}

/// Sends every due message once.
pub async fn deliver_due(app: &App) -> Result<Delivery, StoreError> {
    let mut done = Delivery::default();
    for due in app.store.due_messages(app.now_ms(), 50).await? {
        // A fresh lease per message: a slow round cannot hand out expired ones.
        let now = app.now_ms();
        let Some(msg) = app.store.claim_message(due.id, now + 120_000, now).await? else {
            continue;
        };
        let outcome = match send(app, &msg).await {
            Ok(()) => DeliveryOutcome::Sent,
            Err(SendError::Permanent(e)) => DeliveryOutcome::Failed { error: e },
            Err(SendError::Temporary(e)) if msg.attempts >= MAX_ATTEMPTS => {
                DeliveryOutcome::Failed {
                    error: format!("{e} (gave up after {} attempts)", msg.attempts),
                }
            }
            Err(SendError::Temporary(e)) => DeliveryOutcome::Retry {
                error: e,
                at_ms: app.now_ms() + backoff_ms(msg.attempts),
            },
        };
        match &outcome {
            DeliveryOutcome::Sent => done.sent += 1,
            DeliveryOutcome::Retry { error, .. } => {
                tracing::warn!(message = msg.id, channel = %msg.channel, %error, "delivery will be retried");
                done.retried += 1
            }
            DeliveryOutcome::Failed { error } => {
                tracing::error!(message = msg.id, channel = %msg.channel, %error, "delivery failed");
                done.failed += 1
            }
        }
        match app
            .store
            .finish_message(msg.id, msg.attempts, outcome, app.now_ms())
            .await
        {
            Ok(_) | Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// The recipient's OpenPGP key, looked up when the message is sent (so a
/// key added since the message was queued is used).
async fn recipient_key(app: &App, context: &Value) -> Result<Option<String>, SendError> {
    let temp = |e: StoreError| SendError::Temporary(e.to_string());
    let key = &context["_key"];
    if let Some(armored) = key["reporter_key"].as_str() {
        return Ok(Some(armored.to_owned()));
    }
    if let Some(r) = key["reporter"].as_i64() {
        let report = app.store.report(ReportId(r)).await.map_err(temp)?;
        return Ok(report.and_then(|r| r.fields.pgp_key));
    }
    if let Some(u) = key["member"].as_i64() {
        let contacts = app.store.member_contacts().await.map_err(temp)?;
        return Ok(contacts
            .into_iter()
            .find(|c| c.user.0 == u)
            .map(|c| c.openpgp_key)
            .filter(|k| !k.trim().is_empty()));
    }
    Ok(None)
}

async fn send(app: &App, msg: &OutboxMessage) -> Result<(), SendError> {
    let desk = &app.notify;
    let mut context = msg.context.clone();
    // Queued with a new report, before its number existed.
    if context.get("report").is_none() {
        if let Some(r) = msg.report_id {
            context["report"] = json!(r.0);
        }
    }
    if let Some(sealed) = &msg.sealed {
        let opened = app.key.open(SEAL_PURPOSE, sealed).ok_or_else(|| {
            SendError::Permanent("the sealed part cannot be opened with this server key".into())
        })?;
        match serde_json::from_slice::<Value>(&opened) {
            Ok(Value::Object(secret)) => {
                if let Value::Object(map) = &mut context {
                    map.extend(secret);
                }
            }
            // Queued before sealed parts were objects: a bare tracking link.
            _ => context["tracking_link"] = json!(String::from_utf8_lossy(&opened)),
        }
    }
    let mut bare = context.clone();
    strip_details(&mut bare);
    let render = |ctx: &Value| {
        desk.templates
            .render(&msg.template, ctx)
            .map_err(|e| SendError::Permanent(e.to_string()))
    };
    match msg.channel {
        OutboxChannel::Xmpp => {
            let Some(xmpp) = &desk.xmpp else {
                return Err(SendError::Permanent("XMPP is not configured".into()));
            };
            let line = render(&bare)?.chat;
            let target = if Some(&msg.recipient) == desk.room.as_ref() {
                XmppTarget::Room(msg.recipient.clone())
            } else {
                XmppTarget::Direct(msg.recipient.clone())
            };
            xmpp.send(target, line, Duration::from_secs(30))
                .await
                .map_err(SendError::Temporary)
        }
        OutboxChannel::Email => {
            let Some(mailer) = &desk.mailer else {
                return Err(SendError::Permanent("e-mail is not configured".into()));
            };
            let key = match recipient_key(app, &context).await? {
                Some(armored) => Some(PublicCert::parse_armored(&armored).map_err(|e| {
                    SendError::Permanent(format!("the recipient's OpenPGP key is unusable: {e}"))
                })?),
                None => None,
            }
            .filter(PublicCert::can_encrypt);
            let encrypt = key.is_some() && desk.key.is_some();
            let outer = render(&bare)?;
            let body = if encrypt || desk.plaintext_details {
                render(&context)?
            } else {
                outer.clone()
            };
            let reply_to = match &context["_reply"] {
                Value::Bool(true) => msg.report_id,
                Value::Number(n) => n.as_i64().map(ReportId),
                _ => None,
            }
            .and_then(|r| desk.reply_address(app, r));
            let domain = desk
                .security_address
                .as_ref()
                .map_or("cnadesk.invalid", |(_, d)| d.as_str());
            mailer
                .send(&Outgoing {
                    to: msg.recipient.clone(),
                    subject: outer.subject,
                    text: body.text,
                    html: body.html,
                    reply_to,
                    message_id: format!("outbox-{}@{domain}", msg.id),
                    encrypt_to: if encrypt { key } else { None },
                })
                .await
        }
    }
}

// ---- inbound mail --------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use cnadesk_core::Role;

    fn event(action: AuditAction, actor: &str, payload: Value) -> AuditEvent {
        AuditEvent {
            seq: 7,
            occurred_at_ms: 0,
            actor: actor.into(),
            action: action.as_str().into(),
            case_id: Some(4),
            report_id: Some(12),
            payload,
            prev_hash: String::new(),
            hash: String::new(),
        }
    }

    fn member(id: i64) -> User {
        User {
            id: UserId(id),
            username: format!("m{id}"),
            display_name: format!("M{id}"),
            email: format!("m{id}@example.org"),
            role: Role::Member,
            active: true,
            totp_enabled: false,
            created_at_ms: 0,
        }
    }

    fn facts() -> Facts {
        Facts {
            members: vec![member(1), member(2), member(3)],
            assignee: Some(UserId(2)),
            recused: vec![UserId(3)],
            details: Some(json!({"title": "Carbons spoofing", "product": "Prosody"})),
            message: Some(("Ada (XSF)".into(), "Please confirm".into())),
            credit: Some("Rita".into()),
            desk_url: "https://desk.example".into(),
            cve_id: None,
            cve_org: true,
        }
    }

    /// Every rule, rendered as delivery renders it (for each audience, with
    /// and without details): a rule whose context misses a value a template
    /// prints would fail every message it causes.
    #[test]
    fn every_rule_renders_for_every_audience() {
        let cases = [
            event(AuditAction::ReportCreated, "reporter:12", json!({})),
            event(
                AuditAction::CaseAssigned,
                "system:assignment",
                json!({"to": 2}),
            ),
            event(
                AuditAction::CaseOffered,
                "system:assignment",
                json!({"offered_to": 1}),
            ),
            event(
                AuditAction::SlaWarned,
                "system:sla",
                json!({"to": 2, "target": "triage", "message": "75%"}),
            ),
            event(
                AuditAction::SlaEscalated,
                "system:sla",
                json!({"offered_to": 1, "target": "triage", "message": "90%"}),
            ),
            event(
                AuditAction::SlaBreached,
                "system:sla",
                json!({"target": "triage", "message": "passed"}),
            ),
            event(
                AuditAction::RecordVersionSaved,
                "member:1:m1",
                json!({"version": 2}),
            ),
            event(
                AuditAction::MessageShared,
                "member:1:m1",
                json!({"message_id": 1}),
            ),
            event(
                AuditAction::MessageShared,
                "reporter:12",
                json!({"message_id": 2}),
            ),
            event(
                AuditAction::CaseCveIdSet,
                "member:1:m1",
                json!({"cve_id": "CVE-2026-0001"}),
            ),
            event(
                AuditAction::CvePublished,
                "system:cve",
                json!({"cve_id": "CVE-2026-0001"}),
            ),
            event(
                AuditAction::EmbargoSet,
                "member:1:m1",
                json!({"previous_end": null, "end": 1_790_000_000_000_i64, "reason": "r"}),
            ),
            event(
                AuditAction::EmbargoChanged,
                "member:1:m1",
                json!({"previous_end": 1_780_000_000_000_i64, "end": 1_790_000_000_000_i64, "reason": "r"}),
            ),
            event(
                AuditAction::EmbargoProposed,
                "member:1:m1",
                json!({"end": 1_790_000_000_000_i64}),
            ),
            event(
                AuditAction::EmbargoBroken,
                "member:1:m1",
                json!({"disclosed_at": 1}),
            ),
            event(
                AuditAction::EmbargoLifted,
                "system:embargo",
                json!({"end": 1}),
            ),
            event(
                AuditAction::EmbargoPublicationNotQueued,
                "system:embargo",
                json!({"reason": "not approved"}),
            ),
            event(
                AuditAction::CoordinationMessage,
                "member:1:m1",
                json!({"participant": null}),
            ),
            event(
                AuditAction::CoordinationMessage,
                "vendor:4",
                json!({"participant": 2}),
            ),
            event(
                AuditAction::VendorAcknowledged,
                "vendor:4",
                json!({"participant": 2}),
            ),
            event(
                AuditAction::VulnerabilityProductUpdated,
                "vendor:4",
                json!({"row": 1}),
            ),
        ];
        let templates = Templates::new();
        for e in &cases {
            let intents = intents(e, &facts());
            assert!(!intents.is_empty(), "{} tells nobody", e.action);
            for intent in intents {
                let mut ctx = intent.context.clone();
                ctx["cna_name"] = json!("XSF CNA");
                ctx["desk_url"] = json!("https://desk.example");
                match intent.audience {
                    Audience::Member { .. } => {
                        ctx["member"] = json!("M1");
                        ctx["settings_link"] =
                            json!("https://desk.example/desk/settings/notifications");
                    }
                    Audience::Reporter => ctx["reporter_name"] = json!(null),
                    Audience::Room => {}
                    Audience::Vendors(_) => ctx["contact_name"] = json!("Kim"),
                }
                let full = templates.render(intent.template, &ctx);
                assert!(
                    full.is_ok(),
                    "{} → {:?}: {:?}",
                    e.action,
                    intent.audience,
                    full.err()
                );
                strip_details(&mut ctx);
                let bare = templates.render(intent.template, &ctx).unwrap();
                assert!(
                    !bare.text.contains("Carbons"),
                    "{}: details without details",
                    e.action
                );
            }
        }
    }

    #[test]
    fn rules_choose_the_right_people() {
        let f = facts();
        let who = |e: &AuditEvent| -> Vec<Audience> {
            intents(e, &f).into_iter().map(|i| i.audience).collect()
        };
        // The recused member hears nothing of a version to approve; the author neither.
        assert_eq!(
            who(&event(
                AuditAction::RecordVersionSaved,
                "member:1:m1",
                json!({"version": 2})
            )),
            vec![Audience::Member {
                user: UserId(2),
                event: "approval_requested"
            }]
        );
        // Taking a case oneself is not news to oneself.
        assert!(who(&event(
            AuditAction::CaseAssigned,
            "member:2:m2",
            json!({"to": 2})
        ))
        .is_empty());
        // A reporter's message goes to the assignee, not to the reporter.
        assert_eq!(
            who(&event(
                AuditAction::MessageShared,
                "reporter:12",
                json!({"message_id": 2})
            )),
            vec![Audience::Member {
                user: UserId(2),
                event: "reporter_replied"
            }]
        );
        // A team message goes to the reporter only.
        assert_eq!(
            who(&event(
                AuditAction::MessageShared,
                "member:1:m1",
                json!({"message_id": 1})
            )),
            vec![Audience::Reporter]
        );
        // Room messages never carry details.
        for e in [
            event(AuditAction::ReportCreated, "reporter:12", json!({})),
            event(
                AuditAction::SlaBreached,
                "system:sla",
                json!({"target": "triage", "message": "m"}),
            ),
        ] {
            for i in intents(&e, &f)
                .into_iter()
                .filter(|i| i.audience == Audience::Room)
            {
                assert!(i.context.get("details").is_none(), "{}", e.action);
            }
        }
    }

    #[test]
    fn the_backoff_doubles_to_four_hours() {
        let minutes: Vec<i64> = (1..=10).map(|a| backoff_ms(a) / 60_000).collect();
        assert_eq!(minutes, [1, 2, 4, 8, 16, 32, 64, 128, 240, 240]);
    }
}
