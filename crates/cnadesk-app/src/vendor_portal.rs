//! What an invited vendor contact may do: accept an invitation (with a new
//! account or an existing one), sign in and out, and, on a case they were
//! invited to, acknowledge the embargo terms, consent to a new date, answer
//! for their own product rows, write to the team and send files. Each step
//! checks who asks and what was typed, and says which field is wrong.
//!
//! Cookies, rate limits and pages are the web crate's; the decisions are
//! here.

use std::time::Duration;

use cnadesk_core::audit::{AuditAction, EventDraft};
use cnadesk_core::report::email_problem;
use cnadesk_core::{Actor, CaseId, VendorId};
use cnadesk_store::{
    Case, CaseFile, NewCaseFile, NewVendorAccount, Participant, StoreError, VendorAccount,
};
use serde_json::json;

use crate::accounts::{check_password_policy, hash_password, verify_password, HashFailed};
use crate::coordination::{message_body, product_update, ProductForm};
use crate::App;

/// Why a vendor's step did not happen.
#[derive(Debug)]
pub enum PortalError {
    /// What was typed is wrong: (field, sentence) pairs; nothing changed.
    Invalid(Vec<(String, String)>),
    /// The case's state refuses the step (the advisory is published, no
    /// change is pending): (field, sentence) pairs; nothing changed.
    Conflict(Vec<(String, String)>),
    /// Not before the embargo terms are acknowledged.
    Forbidden,
    /// No such case, row or file for this vendor.
    NotFound,
    /// Hashing a new password failed.
    Hash(HashFailed),
    /// The store failed.
    Store(StoreError),
}

impl From<StoreError> for PortalError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(_) => PortalError::NotFound,
            e => PortalError::Store(e),
        }
    }
}

impl From<HashFailed> for PortalError {
    fn from(e: HashFailed) -> Self {
        PortalError::Hash(e)
    }
}

fn actor(account: &VendorAccount) -> Actor {
    Actor::Vendor { id: account.id }
}

// ---- sessions and sign-in -------------------------------------------------------------

/// Starts a session for `vendor` (its id stored as `session_hash`) that
/// lasts `ttl`.
pub async fn start_session(
    app: &App,
    session_hash: &str,
    vendor: VendorId,
    ttl: Duration,
) -> Result<(), StoreError> {
    let now = app.now_ms();
    let ttl = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
    app.store
        .create_vendor_session(session_hash, vendor, now.saturating_add(ttl), now)
        .await
}

/// The account of a session that has not expired.
pub async fn session(app: &App, session_hash: &str) -> Result<Option<VendorAccount>, StoreError> {
    app.store.vendor_session(session_hash, app.now_ms()).await
}

/// Ends a session.
pub async fn end_session(app: &App, session_hash: &str) -> Result<(), StoreError> {
    app.store.delete_vendor_session(session_hash).await
}

/// The account with this e-mail (any case) and password, or `None`. The
/// password is checked (against a dummy hash when there is no account) even
/// for an address no invitation could have gone to, so timing tells nothing.
pub async fn authenticate(
    app: &App,
    email: &str,
    password: &str,
) -> Result<Option<VendorAccount>, StoreError> {
    let email = email.trim().to_lowercase();
    // Only an address an invitation could have gone to can have an account.
    let plausible = email_problem(&email).is_none();
    let creds = if plausible {
        app.store.vendor_credentials(&email).await?
    } else {
        None
    };
    let ok = verify_password(password.to_owned(), creds.as_ref().map(|c| c.1.clone())).await;
    Ok(creds.filter(|_| ok).map(|(account, _)| account))
}

// ---- invitations ----------------------------------------------------------------------

/// The participant whose invitation link has this hash, if the link still
/// works.
pub async fn open_invitation(
    app: &App,
    token_hash: &str,
) -> Result<Option<Participant>, StoreError> {
    app.store.invitation(token_hash, app.now_ms()).await
}

/// Whether this address has a vendor account.
pub async fn has_account(app: &App, email: &str) -> Result<bool, StoreError> {
    Ok(app.store.vendor_credentials(email).await?.is_some())
}

/// A new vendor account as typed on the invitation page.
#[derive(Clone, Debug, Default)]
pub struct NewAccountInput {
    /// The name the team sees.
    pub display_name: String,
    /// An IANA time zone; empty means UTC.
    pub time_zone: String,
    /// The password.
    pub password: String,
    /// The password again.
    pub confirm: String,
}

/// Creates the account of an invited contact, for the invitation's address.
/// `Invalid` names the wrong fields, or says that an account for the
/// address was just created.
pub async fn create_account(
    app: &App,
    participant: &Participant,
    input: &NewAccountInput,
) -> Result<VendorAccount, PortalError> {
    let mut errors = Vec::new();
    let name = input.display_name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        errors.push((
            "display_name".into(),
            "is required (at most 100 characters, one line)".into(),
        ));
    }
    let tz = if input.time_zone.trim().is_empty() {
        "UTC"
    } else {
        input.time_zone.trim()
    };
    if jiff::tz::TimeZone::get(tz).is_err() {
        errors.push((
            "time_zone".into(),
            format!("`{tz}` is not a time zone such as Europe/Berlin or UTC"),
        ));
    }
    if let Err(e) = check_password_policy(&input.password, &input.confirm) {
        errors.push(("password".into(), e));
    }
    if !errors.is_empty() {
        return Err(PortalError::Invalid(errors));
    }
    let password_hash = hash_password(input.password.clone()).await?;
    match app
        .store
        .create_vendor_account(
            NewVendorAccount {
                email: participant.email.clone(),
                display_name: name.to_owned(),
                password_hash,
                time_zone: tz.to_owned(),
            },
            app.now_ms(),
        )
        .await
    {
        Ok(a) => Ok(a),
        Err(StoreError::Conflict(_)) => Err(PortalError::Invalid(vec![(
            "password".into(),
            "An account for this address was just created. Sign in with its password.".into(),
        )])),
        Err(e) => Err(e.into()),
    }
}

/// Uses the invitation link: its participant is bound to `vendor`. `None`
/// when the link was used already, has expired or does not exist.
pub async fn accept_invitation(
    app: &App,
    token_hash: &str,
    vendor: VendorId,
) -> Result<Option<Participant>, StoreError> {
    match app
        .store
        .accept_invitation(token_hash, vendor, app.now_ms())
        .await
    {
        Ok(p) => Ok(Some(p)),
        Err(StoreError::SetupTokenInvalid) => Ok(None),
        Err(e) => Err(e),
    }
}

// ---- the cases ------------------------------------------------------------------------

/// The cases a vendor was invited to, with their participation (cases
/// gone from the store are left out).
pub async fn invited_cases(
    app: &App,
    vendor: VendorId,
) -> Result<Vec<(Participant, Case)>, StoreError> {
    let mut cases = Vec::new();
    for p in app.store.participations(vendor).await? {
        if let Some(case) = app.store.case(p.case_id).await? {
            cases.push((p, case));
        }
    }
    Ok(cases)
}

/// The case `id` and the vendor's participation in it; `NotFound` for a
/// case they were not invited to (it does not exist for them).
pub async fn participation(
    app: &App,
    vendor: VendorId,
    id: CaseId,
) -> Result<(Case, Participant), PortalError> {
    let participant = app
        .store
        .participations(vendor)
        .await?
        .into_iter()
        .find(|p| p.case_id == id)
        .ok_or(PortalError::NotFound)?;
    let case = app.store.case(id).await?.ok_or(PortalError::NotFound)?;
    Ok((case, participant))
}

async fn audit(
    app: &App,
    account: &VendorAccount,
    case: &Case,
    action: AuditAction,
    payload: serde_json::Value,
) -> Result<(), StoreError> {
    app.store
        .record_event(
            EventDraft::new(action)
                .case(case.id)
                .report(case.report_id)
                .payload(payload),
            &actor(account),
            app.now_ms(),
        )
        .await?;
    Ok(())
}

/// Records that the vendor viewed the case, which rows they were shown and
/// whether they had acknowledged the terms (`vendor.viewed`).
pub async fn record_view(
    app: &App,
    account: &VendorAccount,
    case: &Case,
    participant: &Participant,
    rows: &[i64],
    acknowledged: bool,
) -> Result<(), StoreError> {
    audit(
        app,
        account,
        case,
        AuditAction::VendorViewed,
        json!({ "participant": participant.id, "rows": rows, "acknowledged": acknowledged }),
    )
    .await
}

fn acknowledged(participant: &Participant) -> Result<(), PortalError> {
    if participant.acknowledged_at_ms.is_none() {
        Err(PortalError::Forbidden)
    } else {
        Ok(())
    }
}

/// The vendor acknowledges the embargo terms (again is fine).
pub async fn acknowledge(
    app: &App,
    account: &VendorAccount,
    participant: &Participant,
) -> Result<(), StoreError> {
    app.store
        .acknowledge_embargo(participant.id, &actor(account), app.now_ms())
        .await?;
    Ok(())
}

/// The vendor consents to the pending embargo change; after the terms only.
/// `Conflict` (on `consent`) when the store refuses, e.g. nothing is pending.
pub async fn consent(
    app: &App,
    account: &VendorAccount,
    participant: &Participant,
) -> Result<(), PortalError> {
    acknowledged(participant)?;
    match app
        .store
        .consent_embargo(participant.id, &actor(account), app.now_ms())
        .await
    {
        Ok(_) => Ok(()),
        Err(StoreError::Rejected(m)) => Err(PortalError::Conflict(vec![("consent".into(), m)])),
        Err(e) => Err(e.into()),
    }
}

/// The vendor sets status, versions and statement of one of their own
/// product rows; after the terms only, and not once the advisory is public
/// (`Conflict`: its statements change only through the coordinator). A row
/// not theirs is `NotFound`.
pub async fn update_product(
    app: &App,
    account: &VendorAccount,
    case: &Case,
    participant: &Participant,
    row: i64,
    form: &ProductForm,
) -> Result<(), PortalError> {
    acknowledged(participant)?;
    if app
        .store
        .embargo(case.id)
        .await?
        .is_some_and(|e| e.lifted_at_ms.is_some())
    {
        return Err(PortalError::Conflict(vec![(
            "status".into(),
            "the advisory is published; ask the coordinator to change it".into(),
        )]));
    }
    let products = app.store.affected_products(case.id).await?;
    // Only their own rows exist for them.
    products
        .iter()
        .find(|p| p.id == row && participant.products.contains(&p.product_key))
        .ok_or(PortalError::NotFound)?;
    let update = product_update(form).map_err(PortalError::Invalid)?;
    app.store
        .update_affected_product(case.id, row, update, &actor(account), app.now_ms())
        .await?;
    Ok(())
}

/// The vendor writes to the team: `thread` is `shared` (every vendor of the
/// case) or anything else for their private thread; after the terms only.
pub async fn post_message(
    app: &App,
    account: &VendorAccount,
    case: &Case,
    participant: &Participant,
    thread: &str,
    body: &str,
) -> Result<(), PortalError> {
    acknowledged(participant)?;
    let body = message_body(body).map_err(|e| PortalError::Invalid(vec![("body".into(), e)]))?;
    let thread = (thread != "shared").then_some(participant.id);
    app.store
        .add_case_message(
            case.id,
            thread,
            // Marked, so no vendor can pass for the coordinator.
            &format!("{} (vendor)", account.display_name),
            &body,
            &actor(account),
            app.now_ms(),
        )
        .await?;
    Ok(())
}

/// The vendor sends a file, private to them and the team; after the terms
/// only. `upload` is the file as read, `None` when none was chosen, or why
/// it could not be read (`Invalid` on `file`).
pub async fn add_file(
    app: &App,
    account: &VendorAccount,
    case: &Case,
    participant: &Participant,
    upload: Result<Option<NewCaseFile>, String>,
) -> Result<(), PortalError> {
    acknowledged(participant)?;
    let mut file = match upload {
        Ok(Some(file)) => file,
        Ok(None) => {
            return Err(PortalError::Invalid(vec![(
                "file".into(),
                "choose a file to upload".into(),
            )]))
        }
        Err(e) => return Err(PortalError::Invalid(vec![("file".into(), e)])),
    };
    file.case_id = case.id;
    file.participant_id = Some(participant.id);
    app.store
        .add_case_file(file, &actor(account), app.now_ms())
        .await?;
    Ok(())
}

/// A file the vendor may read: their own, or one the team shared with every
/// vendor, after the terms; read with an audit event
/// (`coordination.file_downloaded`). Anything else is `NotFound`.
pub async fn read_file(
    app: &App,
    account: &VendorAccount,
    case: &Case,
    participant: &Participant,
    file: i64,
) -> Result<(CaseFile, Vec<u8>), PortalError> {
    if participant.acknowledged_at_ms.is_none() {
        return Err(PortalError::NotFound);
    }
    let (meta, bytes) = app
        .store
        .case_file(case.id, file)
        .await?
        .filter(|(f, _)| f.participant_id.is_none() || f.participant_id == Some(participant.id))
        .ok_or(PortalError::NotFound)?;
    audit(
        app,
        account,
        case,
        AuditAction::CoordinationFileDownloaded,
        json!({ "file": meta.id, "sha256": meta.sha256 }),
    )
    .await?;
    Ok((meta, bytes))
}
