//! Team accounts: the rules for a new account and its password, password
//! hashing (Argon2id, off the async executor), what an admin does with
//! accounts (invite a member by an e-mailed link, or create one with a
//! password from the command line; activate or deactivate one), following
//! an invitation link, a member changing their own password, and the
//! second-factor policy.

use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use cnadesk_core::report::email_problem;
use cnadesk_core::{Actor, FieldError, Role, UserId};
use cnadesk_store::{
    NewOutboxMessage, NewUser, NewUserInvitation, OutboxChannel, StoreError, User, UserInvitation,
};
use serde_json::json;

use crate::keys::{random_token, sha256_hex};
use crate::notify::seal_context;
use crate::App;

/// The account policy.
#[derive(Clone, Debug)]
pub struct AccountSettings {
    /// Every member must enrol a TOTP second factor before using the desk.
    pub require_totp: bool,
    /// Admins must, whatever `require_totp` says.
    pub require_totp_for_admins: bool,
    /// How long an invitation link works.
    pub invitation_ttl_ms: i64,
}

impl Default for AccountSettings {
    /// What a real desk wants: a second factor for everyone, links that
    /// work for a week.
    fn default() -> Self {
        Self {
            require_totp: true,
            require_totp_for_admins: true,
            invitation_ttl_ms: 7 * 24 * 3600 * 1000,
        }
    }
}

impl AccountSettings {
    /// Whether an account with this role must have a second factor before
    /// using the desk.
    pub fn totp_required(&self, role: Role) -> bool {
        self.require_totp || (role == Role::Admin && self.require_totp_for_admins)
    }
}

/// Hashing a password failed (the reason is for logs).
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashFailed(pub String);

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// Hashes a password with Argon2id, off the async executor.
pub async fn hash_password(password: String) -> Result<String, HashFailed> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| HashFailed(e.to_string()))
    })
    .await
    .map_err(|e| HashFailed(e.to_string()))?
}

/// Checks a password against a PHC hash, off the async executor. With no
/// hash (unknown account) a dummy hash is checked, so timing does not reveal
/// which usernames exist.
pub async fn verify_password(password: String, hash: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        static DUMMY: OnceLock<String> = OnceLock::new();
        let dummy = DUMMY.get_or_init(|| {
            Argon2::default()
                .hash_password(b"not a real password", &SaltString::generate(&mut OsRng))
                .map(|h| h.to_string())
                .unwrap_or_default()
        });
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| dummy.clone());
        let Ok(parsed) = PasswordHash::new(&hash) else {
            return false;
        };
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
            && known
    })
    .await
    .unwrap_or(false)
}

/// The password rules, as a sentence when broken.
pub fn check_password_policy(password: &str, confirm: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(format!(
            "must be at least {MIN_PASSWORD_CHARS} characters (a few words make a good one)"
        ));
    }
    if n > 1000 {
        return Err("must be at most 1000 characters".into());
    }
    if password != confirm {
        return Err("and its confirmation differ".into());
    }
    Ok(())
}

/// Checks the fields of a new account (also used by `cnadesk admin create-user`).
pub fn validate_new_account(
    username: &str,
    display_name: &str,
    email: &str,
    password: &str,
    confirm: &str,
) -> Vec<FieldError> {
    let mut errors = validate_identity(username, display_name, email);
    if let Err(m) = check_password_policy(password, confirm) {
        errors.push(FieldError::new("password", format!("The password {m}")));
    }
    errors
}

/// Checks who a new account is (username, display name, e-mail address).
pub fn validate_identity(username: &str, display_name: &str, email: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let u = username.trim();
    if u.len() < 2
        || u.len() > 40
        || !u
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
    {
        errors.push(FieldError::new(
            "username",
            "must be 2 to 40 characters: lowercase letters, digits, dot, dash or underscore",
        ));
    }
    let d = display_name.trim();
    if d.is_empty() || d.chars().count() > 100 || d.chars().any(char::is_control) {
        errors.push(FieldError::new(
            "display_name",
            "is required (at most 100 characters, one line)",
        ));
    }
    if let Some(problem) = email_problem(email.trim()) {
        errors.push(FieldError::new("email", problem));
    }
    errors
}

/// Why an admin's step on an account did not happen.
#[derive(Debug)]
pub enum AccountError {
    /// What was typed is wrong, field by field; nothing changed.
    Invalid(Vec<FieldError>),
    /// The step is refused, with the sentence why; nothing changed.
    Refused(String),
    /// Hashing the password failed.
    Hash(HashFailed),
    /// The store failed.
    Store(StoreError),
}

impl From<StoreError> for AccountError {
    fn from(e: StoreError) -> Self {
        AccountError::Store(e)
    }
}

impl From<HashFailed> for AccountError {
    fn from(e: HashFailed) -> Self {
        AccountError::Hash(e)
    }
}

/// A new team account as an admin typed it.
#[derive(Clone, Debug, Default)]
pub struct NewAccountInput {
    /// The sign-in name.
    pub username: String,
    /// The name shown.
    pub display_name: String,
    /// The e-mail address.
    pub email: String,
    /// The password.
    pub password: String,
    /// The password again.
    pub confirm: String,
    /// A [`Role`]; `None` means member.
    pub role: Option<String>,
}

/// An admin creates a team account with a password they chose (`cnadesk
/// admin create-user`; the web page invites instead). `Invalid` names each
/// wrong field, or says the username is already taken.
pub async fn create_user(
    app: &App,
    input: &NewAccountInput,
    actor: &Actor,
) -> Result<User, AccountError> {
    let mut errors = validate_new_account(
        &input.username,
        &input.display_name,
        &input.email,
        &input.password,
        &input.confirm,
    );
    let role = input.role.as_deref().unwrap_or("member").parse::<Role>();
    if let Err(m) = &role {
        errors.push(FieldError::new("role", m.clone()));
    }
    if !errors.is_empty() {
        return Err(AccountError::Invalid(errors));
    }
    let new = NewUser {
        username: input.username.trim().to_owned(),
        display_name: input.display_name.trim().to_owned(),
        email: input.email.trim().to_owned(),
        role: role.unwrap_or(Role::Member),
        password_hash: hash_password(input.password.clone()).await?,
    };
    match app.store.create_user(new, actor, app.now_ms()).await {
        Ok(u) => Ok(u),
        Err(StoreError::Conflict(_)) => Err(AccountError::Invalid(vec![FieldError::new(
            "username",
            "is already taken",
        )])),
        Err(e) => Err(e.into()),
    }
}

/// A member to invite, as an admin typed it.
#[derive(Clone, Debug, Default)]
pub struct InviteInput {
    /// The sign-in name.
    pub username: String,
    /// The name shown.
    pub display_name: String,
    /// The e-mail address the link goes to.
    pub email: String,
    /// A [`Role`]; `None` means member.
    pub role: Option<String>,
}

/// An invitation made: the account, and the link (a secret: shown once to
/// the admin, mailed to the member when mail is configured).
pub struct Invited {
    /// The account, without a password until the link is followed.
    pub user: User,
    /// The one-time link.
    pub link: String,
    /// When the link stops working.
    pub expires_at_ms: i64,
    /// Whether the link was queued for e-mail.
    pub mailed: bool,
}

impl std::fmt::Debug for Invited {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Invited")
            .field("user", &self.user.username)
            .field("link", &"[redacted]")
            .field("expires_at_ms", &self.expires_at_ms)
            .field("mailed", &self.mailed)
            .finish()
    }
}

/// The path of an invitation link.
pub fn invitation_path(token: &str) -> String {
    format!("/invitation/{token}")
}

/// A fresh invitation link for `username`: the token's hash to store, the
/// e-mail (sealed link) when mail is configured, and the link.
fn new_invitation(
    app: &App,
    user: (&str, &str, &str, Role),
    inviter: &Actor,
) -> (NewUserInvitation, String) {
    let (username, display_name, email, role) = user;
    let token = random_token();
    let expires_at_ms = app
        .now_ms()
        .saturating_add(app.settings.accounts.invitation_ttl_ms);
    let link = app.url(&invitation_path(&token));
    let outbox = app.notify.mail_enabled().then(|| NewOutboxMessage {
        dedupe_key: format!("user-invite:{}", sha256_hex(&token)),
        channel: OutboxChannel::Email,
        recipient: email.to_owned(),
        template: "member_invitation".into(),
        report_id: None,
        case_id: None,
        event_seq: None,
        context: json!({
            "cna_name": app.settings.cna_name,
            "desk_url": app.settings.public_url.trim_end_matches('/'),
            "display_name": display_name,
            "username": username,
            "role": role.as_str(),
            "invited_by": match inviter {
                Actor::Member { username, .. } => username.clone(),
                _ => "an admin".to_owned(),
            },
            "expires": crate::text::utc(expires_at_ms),
        }),
        // The link is a secret: stored sealed, merged in only when sent.
        sealed: Some(seal_context(app, json!({ "invitation_link": link }))),
    });
    (
        NewUserInvitation {
            token_hash: sha256_hex(&token),
            expires_at_ms,
            outbox,
        },
        link,
    )
}

/// An admin invites a member: an account without a password, and a
/// one-time link (mailed when mail is configured) with which the member
/// chooses their password. `Invalid` names each wrong field, or says the
/// username is already taken.
pub async fn invite_user(
    app: &App,
    input: &InviteInput,
    actor: &Actor,
) -> Result<Invited, AccountError> {
    let mut errors = validate_identity(&input.username, &input.display_name, &input.email);
    let role = input.role.as_deref().unwrap_or("member").parse::<Role>();
    if let Err(m) = &role {
        errors.push(FieldError::new("role", m.clone()));
    }
    if !errors.is_empty() {
        return Err(AccountError::Invalid(errors));
    }
    let role = role.unwrap_or(Role::Member);
    let (username, display_name, email) = (
        input.username.trim(),
        input.display_name.trim(),
        input.email.trim(),
    );
    let (invitation, link) = new_invitation(app, (username, display_name, email, role), actor);
    let (expires_at_ms, mailed) = (invitation.expires_at_ms, invitation.outbox.is_some());
    let new = NewUser {
        username: username.to_owned(),
        display_name: display_name.to_owned(),
        email: email.to_owned(),
        role,
        password_hash: String::new(),
    };
    match app
        .store
        .invite_user(new, invitation, actor, app.now_ms())
        .await
    {
        Ok(user) => Ok(Invited {
            user,
            link,
            expires_at_ms,
            mailed,
        }),
        Err(StoreError::Conflict(_)) => Err(AccountError::Invalid(vec![FieldError::new(
            "username",
            "is already taken",
        )])),
        Err(e) => Err(e.into()),
    }
}

/// An admin makes a new link for an invited account that has no password
/// yet (the earlier link stops working).
pub async fn renew_invitation(
    app: &App,
    id: UserId,
    actor: &Actor,
) -> Result<Invited, AccountError> {
    let user = app
        .store
        .user(id)
        .await?
        .ok_or_else(|| AccountError::Refused("There is no such account.".into()))?;
    let (invitation, link) = new_invitation(
        app,
        (&user.username, &user.display_name, &user.email, user.role),
        actor,
    );
    let (expires_at_ms, mailed) = (invitation.expires_at_ms, invitation.outbox.is_some());
    match app
        .store
        .renew_user_invitation(id, invitation, actor, app.now_ms())
        .await
    {
        Ok(()) => Ok(Invited {
            user,
            link,
            expires_at_ms,
            mailed,
        }),
        Err(StoreError::Rejected(_)) => Err(AccountError::Refused(format!(
            "{} has already chosen a password; they sign in with it.",
            user.username
        ))),
        Err(e) => Err(e.into()),
    }
}

/// Why an invitation link does not work, in words for the person holding it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkProblem {
    /// Never made, or replaced by a newer link.
    Unknown,
    /// Already followed.
    Used,
    /// Past its time.
    Expired(i64),
    /// The account was deactivated.
    Deactivated,
}

impl LinkProblem {
    /// What the page says.
    pub fn sentence(&self) -> String {
        match self {
            LinkProblem::Unknown => "This invitation link is not valid (an admin may have sent a newer one). Ask an admin of the desk for a new link.".into(),
            LinkProblem::Used => "This invitation link was already used: the account is set up. Sign in with the password chosen then, or ask an admin if you did not use it.".into(),
            LinkProblem::Expired(at) => format!(
                "This invitation link expired on {} (UTC). Ask an admin of the desk for a new link.",
                crate::text::utc(*at)
            ),
            LinkProblem::Deactivated => "This account was deactivated. Ask an admin of the desk.".into(),
        }
    }
}

/// Why following an invitation link did not set the account up.
#[derive(Debug)]
pub enum AcceptError {
    /// The link does not work.
    Link(LinkProblem),
    /// The password breaks the rules (a sentence); nothing changed.
    Password(String),
    /// Hashing failed.
    Hash(HashFailed),
    /// The store failed.
    Store(StoreError),
}

/// The invitation behind a link, if it still works.
pub async fn invitation(app: &App, token: &str) -> Result<UserInvitation, AcceptError> {
    let found = app
        .store
        .user_invitation(&sha256_hex(token))
        .await
        .map_err(AcceptError::Store)?;
    let inv = found.ok_or(AcceptError::Link(LinkProblem::Unknown))?;
    if inv.used_at_ms.is_some() {
        return Err(AcceptError::Link(LinkProblem::Used));
    }
    if inv.expires_at_ms <= app.now_ms() {
        return Err(AcceptError::Link(LinkProblem::Expired(inv.expires_at_ms)));
    }
    if !inv.user.active {
        return Err(AcceptError::Link(LinkProblem::Deactivated));
    }
    Ok(inv)
}

/// The invited member follows the link and chooses their password (the
/// same rules as everywhere). The link then stops working.
pub async fn accept_invitation(
    app: &App,
    token: &str,
    password: &str,
    confirm: &str,
) -> Result<User, AcceptError> {
    invitation(app, token).await?;
    check_password_policy(password, confirm)
        .map_err(|m| AcceptError::Password(format!("The password {m}")))?;
    let hash = hash_password(password.to_owned())
        .await
        .map_err(AcceptError::Hash)?;
    match app
        .store
        .accept_user_invitation(&sha256_hex(token), hash, app.now_ms())
        .await
    {
        Ok(user) => Ok(user),
        // Used meanwhile (another tab), expired or deactivated meanwhile.
        Err(StoreError::Rejected(_)) => Err(match invitation(app, token).await {
            Err(e) => e,
            Ok(_) => AcceptError::Link(LinkProblem::Used),
        }),
        Err(e) => Err(AcceptError::Store(e)),
    }
}

/// A member changes their own password: the current one, then the new one
/// twice. Every other session of theirs ends (`keep_session` is the one
/// asking). Returns how many sessions ended. `Invalid` names the field.
pub async fn change_password(
    app: &App,
    user: &User,
    keep_session: &str,
    current: &str,
    new: &str,
    confirm: &str,
) -> Result<u64, AccountError> {
    let stored = app
        .store
        .user_credentials_by_id(user.id)
        .await?
        .map(|c| c.password_hash)
        .filter(|h| !h.is_empty());
    if !verify_password(current.to_owned(), stored).await {
        return Err(AccountError::Invalid(vec![FieldError::new(
            "current",
            "is not your current password",
        )]));
    }
    if let Err(m) = check_password_policy(new, confirm) {
        return Err(AccountError::Invalid(vec![FieldError::new(
            "password",
            format!("The new password {m}"),
        )]));
    }
    if new == current {
        return Err(AccountError::Invalid(vec![FieldError::new(
            "password",
            "The new password is the current one; choose another",
        )]));
    }
    let hash = hash_password(new.to_owned()).await?;
    let actor = Actor::Member {
        id: user.id,
        username: user.username.clone(),
    };
    Ok(app
        .store
        .change_password(user.id, hash, keep_session, &actor, app.now_ms())
        .await?)
}

/// An admin (`admin`) activates or deactivates account `id`; deactivation
/// ends its sessions. No admin deactivates their own account (`Refused`).
pub async fn set_user_active(
    app: &App,
    admin: UserId,
    id: UserId,
    active: bool,
    actor: &Actor,
) -> Result<(), AccountError> {
    if id == admin && !active {
        return Err(AccountError::Refused(
            "You cannot deactivate your own account; ask another admin.".into(),
        ));
    }
    app.store
        .set_user_active(id, active, actor, app.now_ms())
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totp_is_required_of_everyone_by_default_and_of_admins_unless_both_are_off() {
        let d = AccountSettings::default();
        assert!(d.totp_required(Role::Member) && d.totp_required(Role::Admin));
        let members_free = AccountSettings {
            require_totp: false,
            ..AccountSettings::default()
        };
        assert!(!members_free.totp_required(Role::Member));
        assert!(members_free.totp_required(Role::Admin));
        let none = AccountSettings {
            require_totp: false,
            require_totp_for_admins: false,
            ..AccountSettings::default()
        };
        assert!(!none.totp_required(Role::Admin));
    }

    #[test]
    fn account_validation_names_each_field() {
        let errors = validate_new_account("A B", "", "x", "short", "short");
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["username", "display_name", "email", "password"]);
        for bad in [
            "ada\0@example.org",
            "ada@\u{1}example.org",
            "\u{1b}ada@example.org",
        ] {
            let errors =
                validate_new_account("ada", "Ada", bad, "a long passphrase", "a long passphrase");
            assert_eq!(errors.len(), 1, "{bad:?}: {errors:?}");
            assert_eq!(errors[0].field, "email");
            assert!(errors[0].message.contains("control characters"));
        }
        assert!(validate_new_account(
            "ada",
            "Ada L.",
            "ada@example.org",
            "a long passphrase",
            "a long passphrase"
        )
        .is_empty());
    }
}
