//! Team accounts: the rules for a new account and its password, and
//! password hashing (Argon2id, off the async executor).

use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use cnadesk_core::report::email_problem;
use cnadesk_core::FieldError;

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
