//! The public transparency log, pure: no I/O, no clock.
//!
//! The log is a list of [`Entry`] lines (JSON lines on the wire). Each entry
//! commits to its content with a salted SHA-256 ([`commitment`]) and is
//! chained to the previous entry by its hash ([`entry_hash`]), which covers
//! the sequence number, the time, the commitment and the previous hash, but
//! not the content itself. So an entry about an embargoed case can be
//! published as its commitment alone (sealed) at the time of the decision,
//! and its content and salt added later (revealed) without changing any
//! hash: the order cannot be rewritten, and the revealed content is checked
//! against the commitment made earlier.
//!
//! The head ([`Head`]) names the size of the log and the hash of its last
//! entry, signed with the CNA's Ed25519 key. [`verify`] checks a log against
//! a head and names the first inconsistency; [`check_extends`] checks that a
//! newer copy of the log keeps every entry of an older one.
#![warn(clippy::unwrap_used)]

pub mod project;

use cnadesk_core::audit::canonical_json;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The `prev` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One line of the log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// 1, 2, 3 … without gaps.
    pub seq: u64,
    /// When the decision was recorded (RFC 3339, UTC).
    pub time: String,
    /// SHA-256 (hex) of the salt and the canonical content.
    pub commitment: String,
    /// The previous entry's hash ([`GENESIS`] for the first).
    pub prev: String,
    /// SHA-256 (hex) of `seq`, `time`, `commitment` and `prev`.
    pub hash: String,
    /// The decision, once it may be public; absent while sealed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Value>,
    /// The salt (hex) of the commitment, published with the content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salt: Option<String>,
    /// When a sealed entry was revealed (not covered by the hash: a
    /// revealed entry is checked through its commitment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revealed: Option<String>,
}

impl Entry {
    /// Whether the content is still withheld.
    pub fn is_sealed(&self) -> bool {
        self.content.is_none()
    }

    /// The line as served: one JSON object, no newline.
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("an entry serializes")
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The commitment to `content` under `salt` (hex): SHA-256 of the salt's
/// bytes followed by the canonical JSON of the content. `None` when the salt
/// is not hex.
pub fn commitment(salt_hex: &str, content: &Value) -> Option<String> {
    let mut bytes = hex::decode(salt_hex).ok()?;
    bytes.extend_from_slice(canonical_json(content).as_bytes());
    Some(sha256_hex(&bytes))
}

/// The hash that chains an entry: SHA-256 of the canonical JSON of its
/// sequence number, time, commitment and previous hash.
pub fn entry_hash(seq: u64, time: &str, commitment: &str, prev: &str) -> String {
    let doc = json!({ "seq": seq, "time": time, "commitment": commitment, "prev": prev });
    sha256_hex(canonical_json(&doc).as_bytes())
}

/// Builds the next entry after `prev` (`None`: the first entry). The content
/// is kept in the entry; [`Entry::sealed_copy`] gives what is served while
/// it is withheld.
pub fn next_entry(
    prev: Option<&Entry>,
    time: &str,
    content: Value,
    salt_hex: &str,
) -> Option<Entry> {
    let commitment = commitment(salt_hex, &content)?;
    let seq = prev.map_or(1, |p| p.seq + 1);
    let prev_hash = prev.map_or(GENESIS, |p| p.hash.as_str()).to_owned();
    Some(Entry {
        seq,
        hash: entry_hash(seq, time, &commitment, &prev_hash),
        time: time.to_owned(),
        commitment,
        prev: prev_hash,
        content: Some(content),
        salt: Some(salt_hex.to_owned()),
        revealed: None,
    })
}

impl Entry {
    /// The entry without its content and salt, as served while sealed.
    pub fn sealed_copy(&self) -> Entry {
        Entry {
            content: None,
            salt: None,
            revealed: None,
            ..self.clone()
        }
    }
}

/// The CNA's signing key for the log head. `Debug` does not show it.
#[derive(Clone)]
pub struct LogKey(SigningKey);

impl std::fmt::Debug for LogKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("LogKey")
            .field(&format_args!("public {}", self.public_hex()))
            .finish()
    }
}

impl LogKey {
    /// The key from its 32-byte seed (derive it from the server key).
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Self(SigningKey::from_bytes(&seed))
    }

    /// The public key, hex.
    pub fn public_hex(&self) -> String {
        hex::encode(self.0.verifying_key().as_bytes())
    }

    /// Signs a head for a log of `size` entries whose last hash is `hash`.
    pub fn sign_head(&self, size: u64, hash: &str, time: &str) -> Head {
        let signature = self.0.sign(head_message(size, hash, time).as_bytes());
        Head {
            size,
            hash: hash.to_owned(),
            time: time.to_owned(),
            algorithm: ALGORITHM.to_owned(),
            key: self.public_hex(),
            signature: hex::encode(signature.to_bytes()),
        }
    }
}

/// The signature algorithm named in every head.
pub const ALGORITHM: &str = "ed25519";

/// The signed head of the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Head {
    /// How many entries the head covers.
    pub size: u64,
    /// The hash of entry `size` ([`GENESIS`] for an empty log).
    pub hash: String,
    /// When it was signed (RFC 3339, UTC).
    pub time: String,
    /// Always [`ALGORITHM`].
    pub algorithm: String,
    /// The Ed25519 public key (hex).
    pub key: String,
    /// The signature (hex) over [`head_message`].
    pub signature: String,
}

/// The exact bytes a head's signature covers.
pub fn head_message(size: u64, hash: &str, time: &str) -> String {
    format!("cnadesk transparency log head v1\nsize {size}\nhash {hash}\ntime {time}\n")
}

impl Head {
    /// Checks the signature; `trusted_key` (hex), when given, must be the
    /// head's key.
    pub fn check(&self, trusted_key: Option<&str>) -> Result<(), Inconsistency> {
        let bad = |why: String| Err(Inconsistency::Head(why));
        if self.algorithm != ALGORITHM {
            return bad(format!("unknown signature algorithm {:?}", self.algorithm));
        }
        if let Some(trusted) = trusted_key {
            if !trusted.trim().eq_ignore_ascii_case(&self.key) {
                return bad(format!(
                    "signed with key {}, not the trusted key {}",
                    self.key,
                    trusted.trim()
                ));
            }
        }
        let key: [u8; 32] = match hex::decode(&self.key).ok().and_then(|k| k.try_into().ok()) {
            Some(k) => k,
            None => return bad("the key is not a 32-byte hex Ed25519 key".into()),
        };
        let Ok(key) = VerifyingKey::from_bytes(&key) else {
            return bad("the key is not a valid Ed25519 point".into());
        };
        let sig: [u8; 64] = match hex::decode(&self.signature)
            .ok()
            .and_then(|s| s.try_into().ok())
        {
            Some(s) => s,
            None => return bad("the signature is not 64 bytes of hex".into()),
        };
        key.verify_strict(
            head_message(self.size, &self.hash, &self.time).as_bytes(),
            &Signature::from_bytes(&sig),
        )
        .or_else(|_| bad("the signature does not verify".into()))
        // (strict: weak keys and malleable signatures are refused too)
    }
}

/// The first thing wrong with a log or its head.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Inconsistency {
    /// A line of the log (1-based).
    #[error("line {line}{}: {reason}", seq.map(|s| format!(" (entry {s})")).unwrap_or_default())]
    Entry {
        /// The line number.
        line: usize,
        /// The entry's own sequence number, when it could be read.
        seq: Option<u64>,
        /// What is wrong.
        reason: String,
    },
    /// The head.
    #[error("head: {0}")]
    Head(String),
}

/// What a successful verification found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// Entries covered by the head.
    pub entries: u64,
    /// Of those, still sealed.
    pub sealed: u64,
    /// Entries after the head (chained correctly, not yet signed).
    pub unsigned: u64,
}

/// Parses the log's lines (blank lines are ignored); errors name the line.
pub fn parse_log(log: &str) -> Result<Vec<(usize, Entry)>, Inconsistency> {
    log.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str::<Entry>(l)
                .map(|e| (i + 1, e))
                .map_err(|e| Inconsistency::Entry {
                    line: i + 1,
                    seq: serde_json::from_str::<Value>(l)
                        .ok()
                        .and_then(|v| v["seq"].as_u64()),
                    reason: format!("not a log entry: {e}"),
                })
        })
        .collect()
}

/// Checks one entry against the one before it.
fn check_entry(
    line: usize,
    entry: &Entry,
    expected_seq: u64,
    prev: &str,
) -> Result<(), Inconsistency> {
    let bad = |reason: String| {
        Err(Inconsistency::Entry {
            line,
            seq: Some(entry.seq),
            reason,
        })
    };
    if entry.seq != expected_seq {
        return bad(format!(
            "expected entry {expected_seq} here: entries were removed, added or reordered"
        ));
    }
    if entry.prev != prev {
        return bad(format!(
            "prev is {}, but the previous entry's hash is {prev}",
            entry.prev
        ));
    }
    let hash = entry_hash(entry.seq, &entry.time, &entry.commitment, &entry.prev);
    if entry.hash != hash {
        return bad(format!(
            "hash is {}, but its seq, time, commitment and prev hash to {hash}",
            entry.hash
        ));
    }
    match (&entry.content, &entry.salt) {
        (None, None) => {}
        (Some(content), Some(salt)) => match commitment(salt, content) {
            Some(c) if c == entry.commitment => {}
            Some(c) => {
                return bad(format!(
                    "the content does not match its commitment (it hashes to {c})"
                ))
            }
            None => return bad("the salt is not hex".into()),
        },
        (Some(_), None) => return bad("content without its salt cannot be checked".into()),
        (None, Some(_)) => return bad("a salt without content".into()),
    }
    Ok(())
}

/// Verifies a whole log against its signed head: every line parses, the
/// sequence has no gaps, every hash and link is right, every revealed
/// content matches its commitment, the head's signature verifies (against
/// `trusted_key` when given), and the head covers a prefix of the log whose
/// last hash it names. Entries after the head are checked too (the log may
/// have grown since the head was fetched) and counted as unsigned.
pub fn verify(
    log: &str,
    head: &Head,
    trusted_key: Option<&str>,
) -> Result<Verified, Inconsistency> {
    head.check(trusted_key)?;
    let entries = parse_log(log)?;
    let mut prev = GENESIS.to_owned();
    let mut sealed = 0;
    let mut at_head = if head.size == 0 {
        Some(GENESIS.to_owned())
    } else {
        None
    };
    for (i, (line, entry)) in entries.iter().enumerate() {
        let expected = i as u64 + 1;
        check_entry(*line, entry, expected, &prev)?;
        if expected <= head.size && entry.is_sealed() {
            sealed += 1;
        }
        if expected == head.size {
            at_head = Some(entry.hash.clone());
        }
        prev.clone_from(&entry.hash);
    }
    let count = entries.len() as u64;
    match at_head {
        None => Err(Inconsistency::Head(format!(
            "the head signs {} entries but the log has only {count}: it was truncated",
            head.size
        ))),
        Some(h) if h != head.hash => Err(Inconsistency::Head(format!(
            "the head signs hash {} for entry {}, but the log's entry {} has hash {h}",
            head.hash, head.size, head.size
        ))),
        Some(_) => Ok(Verified {
            entries: head.size,
            sealed,
            unsigned: count - head.size,
        }),
    }
}

/// Checks that `newer` keeps every entry of `older` (the same hashes in the
/// same places), and that entries sealed in `older` and revealed in `newer`
/// match what was committed.
pub fn check_extends(older: &str, newer: &str) -> Result<(), Inconsistency> {
    let old = parse_log(older)?;
    let new = parse_log(newer)?;
    for (i, (line, o)) in old.iter().enumerate() {
        let Some((_, n)) = new.get(i) else {
            return Err(Inconsistency::Entry {
                line: *line,
                seq: Some(o.seq),
                reason: format!(
                    "the newer log has only {} entries: it lost this one",
                    new.len()
                ),
            });
        };
        if (n.seq, &n.time, &n.commitment, &n.prev, &n.hash)
            != (o.seq, &o.time, &o.commitment, &o.prev, &o.hash)
        {
            return Err(Inconsistency::Entry {
                line: *line,
                seq: Some(o.seq),
                reason: "the newer log has a different entry in this place".into(),
            });
        }
        if let (Some(c), Some(s)) = (&n.content, &n.salt) {
            if commitment(s, c).as_deref() != Some(o.commitment.as_str()) {
                return Err(Inconsistency::Entry {
                    line: *line,
                    seq: Some(o.seq),
                    reason: "the revealed content does not match the earlier commitment".into(),
                });
            }
        }
        if o.content.is_some() && o.content != n.content {
            return Err(Inconsistency::Entry {
                line: *line,
                seq: Some(o.seq),
                reason: "public content changed".into(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
