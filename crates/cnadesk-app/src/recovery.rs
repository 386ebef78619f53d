//! One-time recovery codes: ten per member, made at TOTP enrolment and on
//! request (with a current TOTP code), shown once, stored only as keyed
//! hashes (HMAC under the server key, bound to the account), and each
//! accepted once at sign-in in place of a TOTP code.

use cnadesk_core::{Actor, UserId};
use cnadesk_store::StoreError;
use rand::RngCore;

use crate::App;

/// How many codes a member gets.
pub const CODES: usize = 10;

/// The alphabet of codes: lower-case letters and digits without the ones
/// people confuse (0/o, 1/l/i).
const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// Characters per code (16 of 31: about 79 bits), shown in groups of four.
const LENGTH: usize = 16;

/// A fresh code, `xxxx-xxxx-xxxx-xxxx`.
fn new_code() -> String {
    let mut out = String::with_capacity(LENGTH + 3);
    let mut rng = rand::rngs::OsRng;
    let mut n = 0;
    while n < LENGTH {
        // Rejection sampling keeps every character equally likely.
        let b = (rng.next_u32() & 0xff) as usize;
        if b >= ALPHABET.len() * (256 / ALPHABET.len()) {
            continue;
        }
        if n > 0 && n % 4 == 0 {
            out.push('-');
        }
        out.push(char::from(ALPHABET[b % ALPHABET.len()]));
        n += 1;
    }
    out
}

/// A code as typed, reduced to its characters (case, spaces and dashes do
/// not matter); `None` when it cannot be a code.
pub fn normalize(typed: &str) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (code.len() == LENGTH && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(code)
}

/// Whether what was typed looks like a recovery code rather than a TOTP code.
pub fn looks_like_a_code(typed: &str) -> bool {
    normalize(typed).is_some()
}

/// The stored form of a code of account `id`.
fn hash(app: &App, id: UserId, code: &str) -> String {
    let mut data = id.0.to_be_bytes().to_vec();
    data.extend_from_slice(code.as_bytes());
    app.key.sign("recovery-code", &data)
}

/// Fresh codes for account `id`: what to show once, and what to store.
pub fn generate(app: &App, id: UserId) -> (Vec<String>, Vec<String>) {
    let codes: Vec<String> = (0..CODES).map(|_| new_code()).collect();
    let hashes = codes
        .iter()
        .map(|c| hash(app, id, &c.replace('-', "")))
        .collect();
    (codes, hashes)
}

/// Enrols a second factor (its secret sealed by the caller) with fresh
/// recovery codes; returns the codes, to show once.
pub async fn enrol(
    app: &App,
    id: UserId,
    totp_secret_enc: Vec<u8>,
    actor: &Actor,
) -> Result<Vec<String>, StoreError> {
    let (codes, hashes) = generate(app, id);
    app.store
        .enrol_totp(id, totp_secret_enc, hashes, actor, app.now_ms())
        .await?;
    Ok(codes)
}

/// Replaces a member's recovery codes (the caller checked a current TOTP
/// code); returns the new codes, to show once.
pub async fn regenerate(app: &App, id: UserId, actor: &Actor) -> Result<Vec<String>, StoreError> {
    let (codes, hashes) = generate(app, id);
    app.store
        .replace_recovery_codes(id, hashes, actor, app.now_ms())
        .await?;
    Ok(codes)
}

/// Uses a recovery code of account `id` at sign-in: `true` once per code.
pub async fn use_code(
    app: &App,
    id: UserId,
    typed: &str,
    actor: &Actor,
) -> Result<bool, StoreError> {
    let Some(code) = normalize(typed) else {
        return Ok(false);
    };
    app.store
        .use_recovery_code(id, &hash(app, id, &code), actor, app.now_ms())
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_grouped_and_read_back_however_typed() {
        let code = new_code();
        assert_eq!(code.len(), LENGTH + 3);
        assert_eq!(code.split('-').count(), 4);
        let plain = code.replace('-', "");
        assert_eq!(normalize(&code).as_deref(), Some(plain.as_str()));
        assert_eq!(
            normalize(&format!("  {} ", code.to_uppercase().replace('-', " "))).as_deref(),
            Some(plain.as_str())
        );
        assert!(looks_like_a_code(&code));
        assert!(!looks_like_a_code("123456"));
        assert!(!looks_like_a_code("0000-0000-0000-0000"), "no zeros");
        assert_ne!(new_code(), new_code());
    }
}
