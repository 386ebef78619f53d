//! The server's secret key and the tokens made with it: sub-keys per
//! purpose, HMAC signatures, authenticated encryption, random tokens and
//! the hashed form in which tokens are stored.

use std::fmt;

use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// The server's 32-byte secret. Never printed: `Debug` shows `[redacted]`.
#[derive(Clone)]
pub struct ServerKey([u8; 32]);

impl fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServerKey([redacted])")
    }
}

/// A key that could not be used.
#[derive(Debug, thiserror::Error)]
#[error("the secret key must be 64 hexadecimal characters (32 bytes)")]
pub struct BadKey;

impl ServerKey {
    /// A key from raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Parses 64 hex characters.
    pub fn from_hex(s: &str) -> Result<Self, BadKey> {
        let bytes = hex::decode(s.trim()).map_err(|_| BadKey)?;
        let arr: [u8; 32] = bytes.try_into().map_err(|_| BadKey)?;
        Ok(Self(arr))
    }

    /// A fresh random key.
    pub fn generate() -> Self {
        let mut k = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut k);
        Self(k)
    }

    /// Hex form, for writing the key file.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// A sub-key for one purpose, so a token of one kind is never valid as another.
    fn derive(&self, purpose: &str) -> [u8; 32] {
        let mut mac = hmac_with(&self.0);
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// A public name of this key: 32 hex digits of an HMAC under a sub-key
    /// of its own, which tells keys apart without revealing anything of
    /// them. The database records the fingerprint of the key it was created
    /// with, so a node with another key refuses to start.
    pub fn fingerprint(&self) -> String {
        let mut full = self.sign("key-fingerprint", b"cnadesk");
        full.truncate(32);
        full
    }

    /// HMAC-SHA-256 of `data` under the `purpose` sub-key, hex.
    pub fn sign(&self, purpose: &str, data: &[u8]) -> String {
        let mut mac = hmac_with(&self.derive(purpose));
        mac.update(data);
        hex::encode(mac.finalize().into_bytes())
    }

    /// Constant-time check of [`Self::sign`].
    pub fn verify(&self, purpose: &str, data: &[u8], signature: &str) -> bool {
        let Ok(sig) = hex::decode(signature) else {
            return false;
        };
        let mut mac = hmac_with(&self.derive(purpose));
        mac.update(data);
        mac.verify_slice(&sig).is_ok()
    }

    /// Encrypts with XChaCha20-Poly1305 (random nonce prepended).
    pub fn seal(&self, purpose: &str, plaintext: &[u8]) -> Vec<u8> {
        let cipher = XChaCha20Poly1305::new(&self.derive(purpose).into());
        let mut nonce = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let mut out = nonce.to_vec();
        out.extend(
            cipher
                .encrypt(XNonce::from_slice(&nonce), plaintext)
                .expect("encryption of a small buffer cannot fail"),
        );
        out
    }

    /// Decrypts [`Self::seal`]'s output; `None` if it was altered or sealed
    /// under another key or purpose.
    pub fn open(&self, purpose: &str, sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < 24 {
            return None;
        }
        let cipher = XChaCha20Poly1305::new(&self.derive(purpose).into());
        cipher
            .decrypt(XNonce::from_slice(&sealed[..24]), &sealed[24..])
            .ok()
    }
}

fn hmac_with(key: &[u8]) -> Hmac<Sha256> {
    <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length")
}

/// A random URL-safe token of 32 bytes.
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// SHA-256, hex. Tokens are stored only in this form.
pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_round_trips_and_detects_tampering() {
        let k = ServerKey::generate();
        let sealed = k.seal("totp", b"secret");
        assert_eq!(k.open("totp", &sealed).as_deref(), Some(&b"secret"[..]));
        assert_eq!(k.open("other", &sealed), None, "purpose separation");
        let mut bad = sealed.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert_eq!(k.open("totp", &bad), None);
        assert_eq!(ServerKey::generate().open("totp", &sealed), None);
        assert!(!sealed.windows(6).any(|w| w == b"secret"));
    }

    #[test]
    fn signatures_are_bound_to_key_purpose_and_data() {
        let k = ServerKey::from_hex(&"ab".repeat(32)).unwrap();
        let sig = k.sign("csrf", b"cookie");
        assert!(k.verify("csrf", b"cookie", &sig));
        assert!(!k.verify("csrf", b"cookie2", &sig));
        assert!(!k.verify("other", b"cookie", &sig));
        assert!(!k.verify("csrf", b"cookie", "zz"));
        assert!(!ServerKey::generate().verify("csrf", b"cookie", &sig));
    }

    #[test]
    fn key_parsing_and_redaction() {
        assert!(ServerKey::from_hex("abcd").is_err());
        let k = ServerKey::from_hex(&"0f".repeat(32)).unwrap();
        assert_eq!(k.to_hex(), "0f".repeat(32));
        assert_eq!(format!("{k:?}"), "ServerKey([redacted])");
    }
}
