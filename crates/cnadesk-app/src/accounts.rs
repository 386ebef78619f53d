//! Team accounts: the rules for a new account and its password, password
//! hashing (Argon2id, off the async executor), and what an admin does with
//! accounts (create one, activate or deactivate one).

use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use cnadesk_core::report::email_problem;
use cnadesk_core::{Actor, FieldError, Role, UserId};
use cnadesk_store::{NewUser, StoreError, User};

use crate::App;

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
    if let Err(m) = check_password_policy(password, confirm) {
        errors.push(FieldError::new("password", format!("The password {m}")));
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

/// An admin creates a team account. `Invalid` names each wrong field, or
/// says the username is already taken.
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
