//! Coordinated disclosure on the desk's side: which implementations a
//! spec-level flaw may hit (from DOAP data), what each vendor may see,
//! invitations and reminders, embargo changes, and the worker's sweep that
//! lifts embargoes at their end, publishes the advisory and queues the
//! publication of approved records.

use std::collections::BTreeSet;

use cnadesk_core::audit::AuditAction;
use cnadesk_core::coordination::{
    self, answered, check_embargo_change, ProductStatus, ReminderSchedule,
};
use cnadesk_core::{Actor, CaseId};
use cnadesk_store::{
    AffectedProduct, Case, Embargo, EmbargoOutcome, NewInvitation, NewOutboxMessage, OutboxChannel,
    Participant, ProductUpdate, PublicationRequest, StoreError, Vulnerability,
};
use serde_json::json;

use cnadesk_ecosystem::Registry;
use serde::Deserialize;

use crate::keys::{random_token, sha256_hex};
use crate::notify::seal_context;
use crate::text::check_text;
use crate::App;

/// The coordination rules of the desk (a part of the configuration).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoordinationSettings {
    /// Changing an embargo date waits for the consent of every vendor who
    /// acknowledged the current terms.
    pub embargo_change_needs_consent: bool,
    /// When vendors who have not answered are reminded.
    pub reminders: ReminderSchedule,
    /// How long an invitation link works.
    pub invitation_ttl_ms: i64,
}

impl Default for CoordinationSettings {
    fn default() -> Self {
        CoordinationSettings {
            embargo_change_needs_consent: false,
            reminders: ReminderSchedule::default(),
            invitation_ttl_ms: 14 * 24 * 3600 * 1000,
        }
    }
}

/// One implementation a XEP-level vulnerability may concern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// Registry key.
    pub key: String,
    /// Name.
    pub name: String,
    /// What its DOAP declares (`complete, 1.0.1, since 2.4`), or
    /// `unknown support` without DOAP data.
    pub support: String,
    /// Whether its DOAP declares support (else: unknown).
    pub declared: bool,
    /// Categories in words.
    pub categories: String,
    /// Security contacts from the registry.
    pub contacts: Vec<String>,
    /// Already listed in the vulnerability.
    pub listed: bool,
}

/// The implementations to consider for one XEP of a vulnerability.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XepCandidates {
    /// The reference (`XEP-0280 v1.0.1 §11`).
    pub reference: String,
    /// The XEP's title, when known.
    pub title: String,
    /// Implementations that declare support, then those of unknown support.
    pub candidates: Vec<Candidate>,
}

/// The implementations the XEPs of `vulnerability` concern, from DOAP data.
pub fn candidates(
    registry: &Registry,
    vulnerability: &Vulnerability,
    listed: &[AffectedProduct],
) -> Vec<XepCandidates> {
    let listed: BTreeSet<&str> = listed
        .iter()
        .filter(|p| p.vulnerability_id == vulnerability.id)
        .map(|p| p.product_key.as_str())
        .collect();
    let mut out = Vec::new();
    for xep in &vulnerability.xeps {
        let found = registry.implementations(xep.number);
        let mut candidates = Vec::new();
        for (product, support) in &found.declared {
            let mut words: Vec<String> = Vec::new();
            words.push(support.status.clone().unwrap_or_else(|| "declared".into()));
            if let Some(v) = &support.version {
                words.push(format!("version {v}"));
            }
            if let Some(s) = &support.since {
                words.push(format!("since {s}"));
            }
            candidates.push(Candidate {
                key: product.key.clone(),
                name: product.name.clone(),
                support: words.join(", "),
                declared: true,
                categories: product.category_text(),
                contacts: product.annotation.vendor_contacts.clone(),
                listed: listed.contains(product.key.as_str()),
            });
        }
        for product in &found.unknown {
            candidates.push(Candidate {
                key: product.key.clone(),
                name: product.name.clone(),
                support: "unknown support (no DOAP data)".into(),
                declared: false,
                categories: product.category_text(),
                contacts: product.annotation.vendor_contacts.clone(),
                listed: listed.contains(product.key.as_str()),
            });
        }
        out.push(XepCandidates {
            reference: xep.to_string(),
            title: found.xep.map(|x| x.title.clone()).unwrap_or_default(),
            candidates,
        });
    }
    out
}

/// The product statuses a form offers: (value, label).
pub fn status_choices() -> Vec<(String, String)> {
    ProductStatus::ALL
        .iter()
        .map(|s| (s.as_str().to_owned(), s.label().to_owned()))
        .collect()
}

/// What one vendor contact may see of a case: the vulnerabilities that
/// list one of their products, each with the rows they may see (their own,
/// editable, marked `true`; rows the coordinator shared).
pub type VendorView = Vec<(Vulnerability, Vec<(AffectedProduct, bool)>)>;

/// Filters a case for one participant: only vulnerabilities listing one of
/// their products, and in them only their own rows and shared rows.
pub fn vendor_view(
    participant: &Participant,
    vulnerabilities: Vec<Vulnerability>,
    products: &[AffectedProduct],
) -> VendorView {
    let mine = |p: &AffectedProduct| participant.products.contains(&p.product_key);
    vulnerabilities
        .into_iter()
        .filter_map(|v| {
            let rows: Vec<&AffectedProduct> = products
                .iter()
                .filter(|p| p.vulnerability_id == v.id)
                .collect();
            if !rows.iter().any(|p| mine(p)) {
                return None;
            }
            let visible = rows
                .into_iter()
                .filter(|p| mine(p) || p.shared)
                .map(|p| (p.clone(), mine(p)))
                .collect();
            Some((v, visible))
        })
        .collect()
}

/// A participant's product rows in the case.
pub fn rows_of<'a>(
    participant: &'a Participant,
    products: &'a [AffectedProduct],
) -> impl Iterator<Item = &'a AffectedProduct> + 'a {
    products
        .iter()
        .filter(|p| participant.products.contains(&p.product_key))
}

/// A participant's checklist.
pub fn checklist_of(
    participant: &Participant,
    products: &[AffectedProduct],
) -> coordination::Checklist {
    let rows: Vec<(ProductStatus, bool)> = rows_of(participant, products)
        .map(|p| (p.status, p.fix_released))
        .collect();
    coordination::checklist(participant.acknowledged_at_ms.is_some(), &rows)
}

/// What an e-mail with a personal portal link says.
struct LinkMessage<'a> {
    email: &'a str,
    contact_name: &'a str,
    product: &'a str,
    token: &'a str,
    expires_at_ms: i64,
    template: &'a str,
    /// The template's name for the link.
    link_as: &'a str,
    extra: serde_json::Value,
}

/// The outbox message that carries an invitation link (sealed: the link
/// is a secret and never stored readable).
fn invitation_message(
    app: &App,
    case: &Case,
    embargo: Option<&Embargo>,
    link: LinkMessage<'_>,
) -> Option<NewOutboxMessage> {
    if !app.notify.mail_enabled() {
        return None;
    }
    let LinkMessage {
        email,
        contact_name,
        product,
        token,
        expires_at_ms,
        template,
        link_as,
        extra,
    } = link;
    let link = app.url(&format!("/vendor/invitations/{token}"));
    let mut context = json!({
        "cna_name": app.settings.cna_name,
        "desk_url": app.settings.public_url.trim_end_matches('/'),
        "case": case.id.0,
        "contact_name": contact_name,
        "product": product,
        "embargo_end": embargo.map_or_else(|| "not yet set".to_owned(), |e| crate::text::utc(e.ends_at_ms)),
        "expires": crate::text::utc(expires_at_ms),
    });
    if let (Some(map), serde_json::Value::Object(more)) = (context.as_object_mut(), extra) {
        map.extend(more);
    }
    Some(NewOutboxMessage {
        dedupe_key: format!("invite:{}", sha256_hex(token)),
        channel: OutboxChannel::Email,
        recipient: email.to_owned(),
        template: template.to_owned(),
        report_id: Some(case.report_id),
        case_id: Some(case.id),
        event_seq: None,
        context,
        // Nothing of the vulnerability before the vendor acknowledged the
        // terms; the personal link is sealed.
        sealed: Some(seal_context(app, json!({ link_as: link }))),
    })
}

/// Product names for messages: `Gajim, Dino`.
pub fn product_names(keys: &[String], products: &[AffectedProduct]) -> String {
    keys.iter()
        .map(|k| {
            products
                .iter()
                .find(|p| &p.product_key == k)
                .map_or(k.clone(), |p| p.product_name.clone())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Invites a vendor contact to `case` for `products` and queues the
/// invitation e-mail with a personal link. Returns the participant and the
/// link, for the coordinator to see once (and pass on if e-mail is off).
pub async fn invite(
    app: &App,
    case: &Case,
    email: &str,
    contact_name: &str,
    products: Vec<String>,
    actor: &Actor,
) -> Result<(Participant, String), StoreError> {
    let now = app.now_ms();
    let token = random_token();
    let expires = now.saturating_add(app.settings.coordination.invitation_ttl_ms);
    let embargo = app.store.embargo(case.id).await?;
    let rows = app.store.affected_products(case.id).await?;
    let names = product_names(&products, &rows);
    let outbox = invitation_message(
        app,
        case,
        embargo.as_ref(),
        LinkMessage {
            email,
            contact_name,
            product: &names,
            token: &token,
            expires_at_ms: expires,
            template: "vendor_invitation",
            link_as: "invitation_link",
            extra: json!({}),
        },
    );
    let participant = app
        .store
        .invite_vendor(
            NewInvitation {
                case_id: case.id,
                email: email.trim().to_lowercase(),
                contact_name: contact_name.trim().to_owned(),
                products,
                token_hash: sha256_hex(&token),
                expires_at_ms: expires,
                outbox,
            },
            actor,
            now,
        )
        .await?;
    Ok((
        participant,
        app.url(&format!("/vendor/invitations/{token}")),
    ))
}

/// Why an embargo was not set or changed.
#[derive(Debug, thiserror::Error)]
pub enum EmbargoChangeError {
    /// Refused by the rules ([`coordination::EmbargoError`]) or by the
    /// store, with a sentence for the member (nothing changed).
    #[error("{0}")]
    Refused(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Sets or changes a case's embargo by the rules: a reason, a future date,
/// and, when the policy asks for it, the consent of every vendor who
/// acknowledged the current terms. A change the rules or the store refuse
/// is [`EmbargoChangeError::Refused`]; any other store failure is
/// [`EmbargoChangeError::Store`].
pub async fn change_embargo(
    app: &App,
    case: CaseId,
    ends_at_ms: i64,
    reason: &str,
    actor: &Actor,
) -> Result<EmbargoOutcome, EmbargoChangeError> {
    let now = app.now_ms();
    let current = app.store.embargo(case).await?;
    check_embargo_change(
        ends_at_ms,
        reason,
        current.as_ref().is_some_and(|e| e.lifted_at_ms.is_some()),
        now,
    )
    .map_err(|e| EmbargoChangeError::Refused(e.to_string()))?;
    app.store
        .set_embargo(
            case,
            ends_at_ms,
            reason.trim(),
            app.settings.coordination.embargo_change_needs_consent,
            actor,
            now,
        )
        .await
        .map_err(|e| match e {
            StoreError::Rejected(m) => EmbargoChangeError::Refused(m),
            e => EmbargoChangeError::Store(e),
        })
}

/// What one sweep did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sweep {
    /// Embargoes lifted (advisories published).
    pub lifted: usize,
    /// Record publications queued after a lift.
    pub publications: usize,
    /// Reminders sent to vendors.
    pub reminders: usize,
}

/// Lifts every embargo whose end has come, queues the publication of the
/// case's approved record, and reminds vendors who have not answered.
/// Everything is decided from stored state, so a sweep after a restart
/// catches up with whatever fell due while the server was down.
pub async fn sweep(app: &App) -> Result<Sweep, StoreError> {
    let now = app.now_ms();
    let mut done = Sweep::default();
    let system = Actor::system("embargo");
    // One case failing (logged) does not hold up the others.
    for embargo in app.store.due_embargo_lifts(now).await? {
        match app.store.lift_embargo(embargo.case_id, &system, now).await {
            Ok(lifted) => done.lifted += usize::from(lifted),
            Err(e) => tracing::error!(case = %embargo.case_id, error = %e, "lift failed"),
        }
    }
    for embargo in app.store.lifted_awaiting_publication().await? {
        let case = embargo.case_id;
        match queue_publication(app, case, &system).await {
            Ok(queued) => done.publications += usize::from(queued),
            Err(e) => {
                tracing::error!(%case, error = %e, "queueing publication failed; retried");
                continue;
            }
        }
        app.store.mark_publication_queued(case, now).await?;
    }
    done.reminders = remind(app, now).await?;
    Ok(done)
}

/// Queues publication of the latest record version of a lifted case if it
/// is approved. When it cannot be queued, the reason is recorded in the
/// audit log so the team sees it.
async fn queue_publication(app: &App, case: CaseId, actor: &Actor) -> Result<bool, StoreError> {
    let now = app.now_ms();
    let latest = app.store.record_versions(case).await?.into_iter().next();
    let reason = match latest {
        None => "the case has no CVE record".to_owned(),
        Some(version) => {
            match app
                .store
                .request_publication(
                    PublicationRequest {
                        case_id: case,
                        version: version.version,
                    },
                    actor,
                    now,
                )
                .await
            {
                Ok(_) => return Ok(true),
                // Already queued (a job with the same subject is open).
                Err(StoreError::Conflict(_)) => return Ok(false),
                Err(StoreError::Rejected(m)) => m,
                Err(e) => return Err(e),
            }
        }
    };
    let report = app.store.case(case).await?.map(|c| c.report_id);
    app.store
        .record_event(
            cnadesk_core::audit::EventDraft {
                action: AuditAction::EmbargoPublicationNotQueued,
                case_id: Some(case.0),
                report_id: report.map(|r| r.0),
                payload: json!({ "reason": reason }),
            },
            actor,
            now,
        )
        .await?;
    Ok(false)
}

/// Reminds the vendors of open embargoes who have not answered.
async fn remind(app: &App, now: i64) -> Result<usize, StoreError> {
    // Without e-mail nothing can be sent, and a link the coordinator passed
    // on by hand must keep working.
    if !app.notify.mail_enabled() {
        return Ok(0);
    }
    let schedule = app.settings.coordination.reminders;
    let mut sent = 0;
    let cases = app
        .store
        .list_cases(cnadesk_store::CaseFilter {
            open_only: true,
            assignee: None,
        })
        .await?;
    for case in cases {
        let participants = app.store.participants(case.id).await?;
        if participants.is_empty() {
            continue;
        }
        let embargo = app.store.embargo(case.id).await?;
        if embargo.as_ref().is_some_and(|e| e.lifted_at_ms.is_some()) {
            continue;
        }
        let products = app.store.affected_products(case.id).await?;
        for p in participants {
            let statuses: Vec<ProductStatus> = rows_of(&p, &products).map(|r| r.status).collect();
            let done = answered(
                p.accepted_at_ms.is_some(),
                p.acknowledged_at_ms.is_some(),
                &statuses,
            );
            if !schedule.due(
                done,
                p.invited_at_ms,
                p.last_reminded_at_ms,
                p.reminders_sent,
                now,
            ) {
                continue;
            }
            let names = product_names(&p.products, &products);
            let extra = json!({ "invited": crate::text::utc(p.invited_at_ms) });
            let (new_link, outbox) = if p.accepted_at_ms.is_none() {
                // Not accepted yet: a fresh link (the old one may be lost).
                let token = random_token();
                let expires = now.saturating_add(app.settings.coordination.invitation_ttl_ms);
                let msg = invitation_message(
                    app,
                    &case,
                    embargo.as_ref(),
                    LinkMessage {
                        email: &p.email,
                        contact_name: &p.contact_name,
                        product: &names,
                        token: &token,
                        expires_at_ms: expires,
                        template: "vendor_reminder",
                        link_as: "case_link",
                        extra,
                    },
                );
                (Some((sha256_hex(&token), expires)), msg)
            } else {
                let msg = app.notify.mail_enabled().then(|| NewOutboxMessage {
                    dedupe_key: format!("remind:{}:{}", p.id, p.reminders_sent + 1),
                    channel: OutboxChannel::Email,
                    recipient: p.email.clone(),
                    template: "vendor_reminder".into(),
                    report_id: Some(case.report_id),
                    case_id: Some(case.id),
                    event_seq: None,
                    context: json!({
                        "cna_name": app.settings.cna_name,
                        "desk_url": app.settings.public_url.trim_end_matches('/'),
                        "case": case.id.0,
                        "contact_name": p.contact_name,
                        "product": names,
                        "invited": crate::text::utc(p.invited_at_ms),
                        "embargo_end": embargo.as_ref().map_or_else(|| "not yet set".to_owned(), |e| crate::text::utc(e.ends_at_ms)),
                        "case_link": app.url(&format!("/vendor/cases/{}", case.id.0)),
                    }),
                    sealed: None,
                });
                (None, msg)
            };
            app.store.remind_vendor(p.id, new_link, outbox, now).await?;
            sent += 1;
        }
    }
    Ok(sent)
}

/// The embargo end for a viewer: in their zone with UTC beside it.
pub fn embargo_end_text(embargo: Option<&Embargo>, tz: &str) -> String {
    match embargo {
        None => "not set".into(),
        Some(e) => coordination::in_zone_with_utc(e.ends_at_ms, tz),
    }
}

/// A product's coordination row as typed, on the vendor portal and the
/// team's page.
#[derive(Debug, Default, Deserialize)]
pub struct ProductForm {
    /// A [`ProductStatus`].
    #[serde(default)]
    pub status: String,
    /// Affected versions, in words.
    #[serde(default)]
    pub affected_versions: String,
    /// Fixed versions, in words.
    #[serde(default)]
    pub fixed_versions: String,
    /// The vendor's statement.
    #[serde(default)]
    pub statement: String,
    /// Present (any value): the fix is released.
    #[serde(default)]
    pub fix_released: Option<String>,
    /// Present: other vendors may see the row (the team's switch).
    #[serde(default)]
    pub shared: Option<String>,
}

/// Checks a product form; errors name their field.
pub fn product_update(form: &ProductForm) -> Result<ProductUpdate, Vec<(String, String)>> {
    let mut errors = Vec::new();
    let status = form.status.parse::<ProductStatus>().unwrap_or_else(|e| {
        errors.push(("status".to_owned(), e));
        ProductStatus::Unknown
    });
    for (name, label, value, max) in [
        (
            "affected_versions",
            "Affected versions",
            &form.affected_versions,
            500,
        ),
        (
            "fixed_versions",
            "Fixed versions",
            &form.fixed_versions,
            500,
        ),
        ("statement", "The statement", &form.statement, 20_000),
    ] {
        if let Err(e) = check_text(label, value, max, false, true) {
            errors.push((name.to_owned(), e));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(ProductUpdate {
        status,
        affected_versions: form.affected_versions.trim().to_owned(),
        fixed_versions: form.fixed_versions.trim().to_owned(),
        statement: form.statement.trim().to_owned(),
        fix_released: form.fix_released.is_some(),
    })
}

/// Checks a coordination message.
pub fn message_body(body: &str) -> Result<String, String> {
    check_text("The message", body, 20_000, true, true)?;
    Ok(body.trim().to_owned())
}
