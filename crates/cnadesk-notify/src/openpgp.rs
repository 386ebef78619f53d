//! OpenPGP on top of rPGP (the pure-Rust `pgp` crate): keys people give
//! us, the CNA's own key, encryption with signature, decryption with
//! signature checks.
//!
//! * Keys are v4 (RFC 4880 / RFC 9580 "legacy" curve25519 formats) so that
//!   GnuPG 2.2 can read everything we produce.
//! * Messages are encrypted with SEIPD v1 (MDC) + AES-256, which GnuPG 2.2 reads.
//! * All errors are plain human-readable `String`s.

use std::fmt;
use std::io::Cursor;

use pgp::composed::{
    ArmorOptions, Deserializable, DetachedSignature, EncryptionCaps, KeyType, Message,
    MessageBuilder, SecretKeyParamsBuilder, SignedPublicKey, SignedPublicSubKey, SignedSecretKey,
    SubkeyParamsBuilder,
};
use pgp::crypto::ecc_curve::ECCCurve;
use pgp::crypto::hash::HashAlgorithm;
use pgp::crypto::sym::SymmetricKeyAlgorithm;
use pgp::packet::{Signature, SignatureType, SubpacketData};
use pgp::types::{
    CompressionAlgorithm, Duration, KeyDetails, Password, SigningKey, Timestamp, VerifyingKey,
};

// ---------------------------------------------------------------------------
// small helpers
// ---------------------------------------------------------------------------

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

#[allow(
    clippy::disallowed_methods,
    reason = "OpenPGP signatures and key creation carry the real time; this crate has no Clock"
)]
fn now_secs() -> u64 {
    u64::from(Timestamp::now().as_secs())
}

/// `true` when something created at `created` with lifetime `lifetime` (0 / None = forever)
/// has expired by now.
fn lifetime_expired(created: Timestamp, lifetime: Option<Duration>) -> bool {
    match lifetime {
        Some(d) if d.as_secs() != 0 => {
            u64::from(created.as_secs()) + u64::from(d.as_secs()) <= now_secs()
        }
        _ => false,
    }
}

fn sig_created_secs(sig: &Signature) -> u32 {
    sig.created().map(|t| t.as_secs()).unwrap_or(0)
}

fn sig_expired(sig: &Signature) -> bool {
    match sig.created() {
        Some(c) => lifetime_expired(c, sig.signature_expiration_time()),
        None => false,
    }
}

/// Does the (hashed area of the) signature carry a Key Flags subpacket at all?
fn has_key_flags(sig: &Signature) -> bool {
    sig.config()
        .map(|c| {
            c.hashed_subpackets()
                .any(|p| matches!(p.data, SubpacketData::KeyFlags(_)))
        })
        .unwrap_or(false)
}

fn newest<'a>(sigs: impl Iterator<Item = &'a Signature>) -> Option<&'a Signature> {
    sigs.max_by_key(|s| sig_created_secs(s))
}

/// Status of the primary key of a certificate, derived from its self-signatures.
struct PrimaryStatus<'a> {
    /// Newest valid self-signature (user-id certification or direct key signature).
    self_sig: Option<&'a Signature>,
    revoked: bool,
    expired: bool,
}

fn primary_status(cert: &SignedPublicKey) -> PrimaryStatus<'_> {
    let primary = &cert.primary_key;
    let revoked = cert
        .details
        .revocation_signatures
        .iter()
        .any(|s| s.verify_key(primary).is_ok());

    let direct = cert
        .details
        .direct_signatures
        .iter()
        .filter(|s| s.verify_key(primary).is_ok());
    let certs = cert.details.users.iter().flat_map(|u| {
        u.signatures.iter().filter(move |s| {
            // only positive/casual/persona/generic certifications, not revocations
            s.typ() != Some(SignatureType::CertRevocation)
                && s.verify_certification(primary, pgp::types::Tag::UserId, &u.id)
                    .is_ok()
        })
    });
    let valid: Vec<&Signature> = direct.chain(certs).filter(|s| !sig_expired(s)).collect();
    // Prefer the newest self-signature on a primary user id, else the newest overall.
    let self_sig = newest(valid.iter().copied().filter(|s| s.is_primary()))
        .or_else(|| newest(valid.iter().copied()));
    let expired = match self_sig {
        Some(s) => lifetime_expired(primary.created_at(), s.key_expiration_time()),
        None => false,
    };
    PrimaryStatus {
        self_sig,
        revoked,
        expired,
    }
}

/// Newest valid, unrevoked, unexpired binding signature of a subkey.
fn subkey_binding<'a>(cert: &SignedPublicKey, sk: &'a SignedPublicSubKey) -> Option<&'a Signature> {
    let primary = &cert.primary_key;
    let valid = |s: &&Signature| s.verify_subkey_binding(primary, &sk.key).is_ok();
    let revoked = sk
        .signatures
        .iter()
        .filter(|s| s.typ() == Some(SignatureType::SubkeyRevocation))
        .any(|s| valid(&s));
    if revoked {
        return None;
    }
    let binding = newest(
        sk.signatures
            .iter()
            .filter(|s| s.typ() == Some(SignatureType::SubkeyBinding))
            .filter(valid)
            .filter(|s| !sig_expired(s)),
    )?;
    if lifetime_expired(sk.key.created_at(), binding.key_expiration_time()) {
        return None;
    }
    Some(binding)
}

fn binding_can_encrypt(sig: &Signature, alg_can_encrypt: bool) -> bool {
    if !alg_can_encrypt {
        return false;
    }
    if has_key_flags(sig) {
        let f = sig.key_flags();
        f.encrypt_comms() || f.encrypt_storage()
    } else {
        true // very old keys without key flags: go by algorithm
    }
}

fn binding_can_sign(sig: &Signature, alg_can_sign: bool) -> bool {
    if !alg_can_sign {
        return false;
    }
    if has_key_flags(sig) {
        sig.key_flags().sign()
    } else {
        true
    }
}

/// A signing subkey must carry a valid primary-key-binding ("back") signature.
fn has_valid_backsig(cert: &SignedPublicKey, sk: &SignedPublicSubKey, binding: &Signature) -> bool {
    binding
        .embedded_signature()
        .map(|bs| {
            bs.verify_primary_key_binding(&sk.key, &cert.primary_key)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Data signatures over broken hashes are not acceptable (rPGP itself does not reject them).
fn weak_hash(sig: &Signature) -> Option<String> {
    match sig.hash_alg() {
        Some(h @ (HashAlgorithm::Md5 | HashAlgorithm::Sha1 | HashAlgorithm::Ripemd160)) => {
            Some(format!("signature uses the insecure hash algorithm {h}"))
        }
        None => Some("signature has an unknown format".into()),
        _ => None,
    }
}

/// Which component of a certificate is usable for a purpose.
enum Component<'a> {
    Primary,
    Subkey(&'a SignedPublicSubKey),
}

/// Components usable for encryption (primary first if it can encrypt, then subkeys).
fn encryption_components(cert: &SignedPublicKey) -> Vec<Component<'_>> {
    let st = primary_status(cert);
    if st.revoked || st.expired || st.self_sig.is_none() {
        return Vec::new();
    }
    let mut out = Vec::new();
    if st
        .self_sig
        .is_some_and(|s| binding_can_encrypt(s, cert.primary_key.algorithm().can_encrypt()))
    {
        out.push(Component::Primary);
    }
    for sk in &cert.public_subkeys {
        if subkey_binding(cert, sk)
            .is_some_and(|b| binding_can_encrypt(b, sk.key.algorithm().can_encrypt()))
        {
            out.push(Component::Subkey(sk));
        }
    }
    out
}

/// Take exactly one key out of an armored block (a block holding several keys is rejected,
/// so that nobody registers "their" key plus a stowaway).
fn exactly_one<T>(
    mut keys: impl Iterator<Item = pgp::errors::Result<T>>,
    what: &str,
) -> Result<T, String> {
    let first = keys
        .next()
        .ok_or_else(|| format!("{what}: the armored block contains no key"))?
        .map_err(|e| format!("{what}: {e}"))?;
    match keys.next() {
        None => Ok(first),
        Some(Ok(_)) => Err(
            "the armored block contains more than one key; please provide exactly one".to_string(),
        ),
        Some(Err(e)) => Err(format!("{what}: trailing garbage after the key: {e}")),
    }
}

fn armor_opts() -> ArmorOptions<'static> {
    ArmorOptions::default()
}

// ---------------------------------------------------------------------------
// PublicCert
// ---------------------------------------------------------------------------

/// A parsed OpenPGP public key (certificate) someone gave us.
#[derive(Clone)]
pub struct PublicCert {
    inner: SignedPublicKey,
}

impl fmt::Debug for PublicCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicCert")
            .field("fingerprint", &self.fingerprint())
            .field("user_ids", &self.user_ids())
            .finish()
    }
}

impl PublicCert {
    /// Parse an ASCII-armored public key block.
    pub fn parse_armored(text: &str) -> Result<PublicCert, String> {
        let what = "not an OpenPGP public key block";
        let (keys, _headers) = SignedPublicKey::from_armor_many(Cursor::new(text.as_bytes()))
            .map_err(|e| format!("{what}: {e}"))?;
        Self::from_signed(exactly_one(keys, what)?)
    }

    fn from_signed(key: SignedPublicKey) -> Result<PublicCert, String> {
        let st = primary_status(&key);
        if st.self_sig.is_none() {
            return Err(format!(
                "OpenPGP public key {} has no valid self-signature (corrupt or forged certificate)",
                hex_upper(key.fingerprint().as_bytes())
            ));
        }
        Ok(PublicCert { inner: key })
    }

    /// Upper-case hex fingerprint, no spaces.
    pub fn fingerprint(&self) -> String {
        hex_upper(self.inner.fingerprint().as_bytes())
    }

    /// User IDs ("Name <mail>") that carry a valid self-signature.
    pub fn user_ids(&self) -> Vec<String> {
        let primary = &self.inner.primary_key;
        self.inner
            .details
            .users
            .iter()
            .filter(|u| {
                u.signatures.iter().any(|s| {
                    s.typ() != Some(SignatureType::CertRevocation)
                        && s.verify_certification(primary, pgp::types::Tag::UserId, &u.id)
                            .is_ok()
                })
            })
            .map(|u| String::from_utf8_lossy(u.id.id()).into_owned())
            .collect()
    }

    /// True when the key (primary or a valid, unexpired, unrevoked subkey) can encrypt.
    pub fn can_encrypt(&self) -> bool {
        !encryption_components(&self.inner).is_empty()
    }

    /// The key, ASCII-armored.
    pub fn to_armored(&self) -> String {
        self.inner
            .to_armored_string(armor_opts())
            .expect("serializing a parsed public key cannot fail")
    }

    /// Access to the underlying rPGP object.
    pub fn as_pgp(&self) -> &SignedPublicKey {
        &self.inner
    }

    /// Does `fp`/`key_id` (raw bytes) name this cert's primary key or one of its subkeys?
    /// Returns the verifying component.
    fn find_component(&self, fps: &[Vec<u8>], kids: &[Vec<u8>]) -> Option<Component<'_>> {
        let matches = |k: &dyn KeyDetails| {
            let fp = k.fingerprint();
            let kid = k.legacy_key_id();
            fps.iter().any(|f| f.as_slice() == fp.as_bytes())
                || kids.iter().any(|i| i.as_slice() == kid.as_ref())
        };
        if matches(&self.inner.primary_key) {
            return Some(Component::Primary);
        }
        self.inner
            .public_subkeys
            .iter()
            .find(|sk| matches(&sk.key))
            .map(Component::Subkey)
    }
}

// ---------------------------------------------------------------------------
// SecretCert
// ---------------------------------------------------------------------------

/// Our own secret key (e.g. the CNA key).
///
/// Holds two copies: the key exactly as imported (possibly passphrase-protected; used by
/// [`SecretCert::to_armored`]) and an in-memory unlocked copy used for signing/decrypting.
/// rPGP zeroizes secret key material on drop.
#[derive(Clone)]
pub struct SecretCert {
    original: SignedSecretKey,
    unlocked: SignedSecretKey,
}

impl fmt::Debug for SecretCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretCert")
            .field("fingerprint", &self.fingerprint())
            .finish_non_exhaustive()
    }
}

impl SecretCert {
    /// Parse an ASCII-armored secret key block and unlock it with `passphrase`
    /// (`None` = the key must not be passphrase protected).
    pub fn parse_armored(text: &str, passphrase: Option<&str>) -> Result<SecretCert, String> {
        let what = "not an OpenPGP secret key block";
        let (keys, _headers) = SignedSecretKey::from_armor_many(Cursor::new(text.as_bytes()))
            .map_err(|e| format!("{what}: {e}"))?;
        Self::from_signed(exactly_one(keys, what)?, passphrase)
    }

    fn from_signed(key: SignedSecretKey, passphrase: Option<&str>) -> Result<SecretCert, String> {
        let pw: Password = passphrase.unwrap_or("").into();
        let describe = |e: pgp::errors::Error| {
            if passphrase.is_some() {
                format!("wrong passphrase for OpenPGP secret key: {e}")
            } else {
                format!(
                    "OpenPGP secret key is passphrase protected, but no passphrase was given: {e}"
                )
            }
        };
        let mut unlocked = key.clone();
        unlocked
            .primary_key
            .remove_password(&pw)
            .map_err(describe)?;
        for sk in &mut unlocked.secret_subkeys {
            sk.key.remove_password(&pw).map_err(describe)?;
        }
        let cert = SecretCert {
            original: key,
            unlocked,
        };
        // Sanity: self-signatures must be valid.
        PublicCert::from_signed(cert.unlocked.to_public_key())?;
        Ok(cert)
    }

    /// Upper-case hex fingerprint, no spaces.
    pub fn fingerprint(&self) -> String {
        hex_upper(self.original.fingerprint().as_bytes())
    }

    /// The public part.
    pub fn public(&self) -> PublicCert {
        PublicCert {
            inner: self.original.to_public_key(),
        }
    }

    /// The key as imported/generated (keeps its passphrase protection, if any).
    pub fn to_armored(&self) -> String {
        self.original
            .to_armored_string(armor_opts())
            .expect("serializing a secret key cannot fail")
    }

    /// Generate a fresh key: Ed25519 (legacy EdDSA, v4) primary for certify+sign and a
    /// Curve25519 ECDH (legacy cv25519, v4) encryption subkey, no passphrase.
    /// This is the same shape `gpg --quick-gen-key` produces by default, readable by GnuPG 2.2+.
    pub fn generate(user_id: &str) -> Result<SecretCert, String> {
        Self::generate_with_passphrase(user_id, None)
    }

    /// Like [`SecretCert::generate`], optionally protecting the secret key material
    /// (primary and subkey) with `passphrase` (v4 iterated+salted S2K, AES-256 CFB).
    pub fn generate_with_passphrase(
        user_id: &str,
        passphrase: Option<&str>,
    ) -> Result<SecretCert, String> {
        let mut rng = rand::thread_rng();
        let mut enc = SubkeyParamsBuilder::default();
        enc.key_type(KeyType::ECDH(ECCCurve::Curve25519Legacy))
            .can_sign(false)
            .can_encrypt(EncryptionCaps::All)
            .can_authenticate(false)
            .passphrase(passphrase.map(str::to_owned));
        let enc = enc
            .build()
            .map_err(|e| format!("invalid subkey parameters: {e}"))?;

        let mut params = SecretKeyParamsBuilder::default();
        params
            .key_type(KeyType::Ed25519Legacy)
            .can_certify(true)
            .can_sign(true)
            .can_encrypt(EncryptionCaps::None)
            .primary_user_id(user_id.to_owned())
            .preferred_symmetric_algorithms(
                vec![
                    SymmetricKeyAlgorithm::AES256,
                    SymmetricKeyAlgorithm::AES192,
                    SymmetricKeyAlgorithm::AES128,
                ]
                .into(),
            )
            .preferred_hash_algorithms(vec![HashAlgorithm::Sha512, HashAlgorithm::Sha256].into())
            .preferred_compression_algorithms(
                vec![CompressionAlgorithm::ZLIB, CompressionAlgorithm::ZIP].into(),
            )
            .passphrase(passphrase.map(str::to_owned))
            .subkeys(vec![enc]);
        let params = params
            .build()
            .map_err(|e| format!("invalid key parameters: {e}"))?;
        let key = params
            .generate(&mut rng)
            .map_err(|e| format!("key generation failed: {e}"))?;
        Self::from_signed(key, passphrase)
    }

    /// Access to the underlying (unlocked) rPGP object.
    pub fn as_pgp(&self) -> &SignedSecretKey {
        &self.unlocked
    }

    /// Pick the key to sign with: the primary if it is sign-capable, else a valid
    /// signing subkey (with back-signature).
    fn signing_key(&self) -> Result<&dyn SigningKey, String> {
        let public = self.unlocked.to_public_key();
        let st = primary_status(&public);
        if st.revoked {
            return Err("our secret key is revoked".into());
        }
        if st.expired {
            return Err("our secret key is expired".into());
        }
        if st
            .self_sig
            .is_some_and(|s| binding_can_sign(s, public.primary_key.algorithm().can_sign()))
        {
            return Ok(&self.unlocked.primary_key);
        }
        for ssk in &self.unlocked.secret_subkeys {
            let fp = ssk.key.fingerprint();
            let Some(psk) = public
                .public_subkeys
                .iter()
                .find(|p| p.key.fingerprint() == fp)
            else {
                continue;
            };
            let usable = subkey_binding(&public, psk).is_some_and(|b| {
                binding_can_sign(b, psk.key.algorithm().can_sign())
                    && has_valid_backsig(&public, psk, b)
            });
            if usable {
                return Ok(&ssk.key);
            }
        }
        Err(format!(
            "secret key {} has no usable signing key",
            self.fingerprint()
        ))
    }
}

// ---------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------

/// Encrypt `plaintext` to each recipient (all their valid encryption-capable keys) and sign it
/// with `signer`. Returns an ASCII-armored OpenPGP message. Note: the signer is *not* added as a
/// recipient automatically; pass `&signer.public()` too if you want to be able to read it later.
pub fn encrypt_and_sign(
    plaintext: &[u8],
    recipients: &[&PublicCert],
    signer: &SecretCert,
) -> Result<String, String> {
    if recipients.is_empty() {
        return Err("no recipients given".into());
    }
    let mut rng = rand::thread_rng();
    let signing_key = signer.signing_key()?;

    let mut builder = MessageBuilder::from_bytes("", plaintext.to_vec())
        .seipd_v1(&mut rng, SymmetricKeyAlgorithm::AES256);
    for r in recipients {
        let comps = encryption_components(&r.inner);
        if comps.is_empty() {
            return Err(format!(
                "recipient {} has no valid encryption-capable key",
                r.fingerprint()
            ));
        }
        for c in comps {
            let res = match c {
                Component::Primary => builder.encrypt_to_key(&mut rng, &r.inner.primary_key),
                Component::Subkey(sk) => builder.encrypt_to_key(&mut rng, &sk.key),
            };
            res.map_err(|e| format!("cannot encrypt to {}: {e}", r.fingerprint()))?;
        }
    }
    builder.sign(signing_key, Password::empty(), signing_key.hash_alg());
    builder
        .to_armored_string(&mut rng, armor_opts())
        .map_err(|e| format!("encryption failed: {e}"))
}

/// Detached, ASCII-armored binary-mode signature (type 0x00) over `data`.
/// For PGP/MIME (RFC 3156) pass the exact bytes of the signed MIME part, already
/// canonicalized to CRLF line endings.
pub fn detached_signature(data: &[u8], signer: &SecretCert) -> Result<String, String> {
    let mut rng = rand::thread_rng();
    let key = signer.signing_key()?;
    let hash = key.hash_alg();
    let sig = DetachedSignature::sign_binary_data(
        &mut rng,
        &Box::new(key),
        &Password::empty(),
        hash,
        data,
    )
    .map_err(|e| format!("signing failed: {e}"))?;
    sig.to_armored_string(armor_opts())
        .map_err(|e| format!("cannot armor signature: {e}"))
}

/// What a signature check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureCheck {
    /// No signature.
    Unsigned,
    /// `fingerprint` is the primary fingerprint of the known cert that made the signature.
    Valid {
        /// Fingerprint.
        fingerprint: String,
    },
    /// A signature that does not verify, or by a key not allowed to sign.
    Invalid {
        /// Why.
        reason: String,
    },
    /// `issuer` is the issuer fingerprint (or 16-hex-digit key id if no fingerprint is given).
    UnknownKey {
        /// Fingerprint or key id.
        issuer: String,
    },
}

/// A decrypted message.
#[derive(Clone)]
pub struct Decrypted {
    /// The plaintext.
    pub plaintext: Vec<u8>,
    /// Its signature.
    pub signature: SignatureCheck,
}

impl fmt::Debug for Decrypted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decrypted")
            .field("size", &self.plaintext.len())
            .field("signature", &self.signature)
            .finish()
    }
}

/// Issuer fingerprints and key ids (raw bytes) of a signature.
fn issuers(sig: &Signature) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let fps = sig
        .issuer_fingerprint()
        .into_iter()
        .map(|f| f.as_bytes().to_vec())
        .collect();
    let kids = sig
        .issuer_key_id()
        .into_iter()
        .map(|k| k.as_ref().to_vec())
        .collect();
    (fps, kids)
}

/// Check one signature (index `i` of the signed message `msg`, which has been fully read).
fn check_one(
    msg: &Message<'_>,
    i: usize,
    sig: &Signature,
    known: &[&PublicCert],
) -> SignatureCheck {
    let (fps, kids) = issuers(sig);
    let found = known
        .iter()
        .find_map(|c| c.find_component(&fps, &kids).map(|comp| (*c, comp)));
    let Some((cert, comp)) = found else {
        let issuer = fps
            .first()
            .or(kids.first())
            .map(|b| hex_upper(b))
            .unwrap_or_else(|| "(no issuer in signature)".into());
        return SignatureCheck::UnknownKey { issuer };
    };
    if !matches!(sig.typ(), Some(SignatureType::Binary | SignatureType::Text)) {
        return SignatureCheck::Invalid {
            reason: format!("unexpected signature type {:?}", sig.typ()),
        };
    }
    if let Some(reason) = weak_hash(sig) {
        return SignatureCheck::Invalid { reason };
    }
    let verifying: &dyn VerifyingKey = match comp {
        Component::Primary => &cert.inner.primary_key,
        Component::Subkey(sk) => &sk.key,
    };
    if let Err(e) = msg.verify_nested_explicit(i, verifying) {
        return SignatureCheck::Invalid {
            reason: format!("bad signature by {}: {e}", cert.fingerprint()),
        };
    }
    if sig_expired(sig) {
        return SignatureCheck::Invalid {
            reason: "signature has expired".into(),
        };
    }
    // The cryptography is fine; now is the key allowed to make this signature?
    let st = primary_status(&cert.inner);
    if st.revoked {
        return SignatureCheck::Invalid {
            reason: format!("signing key {} is revoked", cert.fingerprint()),
        };
    }
    if st.expired {
        return SignatureCheck::Invalid {
            reason: format!("signing key {} is expired", cert.fingerprint()),
        };
    }
    let usable = match comp {
        Component::Primary => st
            .self_sig
            .map(|s| binding_can_sign(s, cert.inner.primary_key.algorithm().can_sign()))
            .unwrap_or(false),
        Component::Subkey(sk) => subkey_binding(&cert.inner, sk)
            .map(|b| {
                binding_can_sign(b, sk.key.algorithm().can_sign())
                    && has_valid_backsig(&cert.inner, sk, b)
            })
            .unwrap_or(false),
    };
    if !usable {
        return SignatureCheck::Invalid {
            reason: format!(
                "signing (sub)key of {} is not valid for signing (revoked, expired or not sign-capable)",
                cert.fingerprint()
            ),
        };
    }
    SignatureCheck::Valid {
        fingerprint: cert.fingerprint(),
    }
}

/// True if the message (looking through signature layers) still has a compressed layer.
fn has_compressed_layer(msg: &Message<'_>) -> bool {
    match msg {
        Message::Compressed { .. } => true,
        Message::Signed { reader, .. } => has_compressed_layer(reader.get_ref()),
        _ => false,
    }
}

fn has_encrypted_layer(msg: &Message<'_>) -> bool {
    match msg {
        Message::Encrypted { .. } => true,
        Message::Signed { reader, .. } => has_encrypted_layer(reader.get_ref()),
        _ => false,
    }
}

/// The largest plaintext a message may decrypt (or decompress) to: mail
/// from anyone is decrypted, and compression must not exhaust memory.
pub const MAX_PLAINTEXT: u64 = 64 << 20;

/// Decrypt an armored (or binary) OpenPGP message addressed to `key`, and check its
/// signature (if any) against `known` certs.
///
/// Errors if the message is not encrypted, not addressed to `key`, or fails its integrity
/// check (tampered). A bad *signature* is not an error: it is reported in `signature`.
pub fn decrypt_and_verify(
    message: &[u8],
    key: &SecretCert,
    known: &[&PublicCert],
) -> Result<Decrypted, String> {
    let (msg, _headers) = Message::from_reader(Cursor::new(message))
        .map_err(|e| format!("not an OpenPGP message: {e}"))?;
    if !has_encrypted_layer(&msg) {
        return Err("OpenPGP message is not encrypted".into());
    }
    let mut msg = msg
        .decrypt(&Password::empty(), &key.unlocked)
        .map_err(|e| match e {
            pgp::errors::Error::MissingKey => format!(
                "message is not encrypted to key {} (no matching decryption key)",
                key.fingerprint()
            ),
            e => format!("cannot decrypt message with key {}: {e}", key.fingerprint()),
        })?;
    // Peel compression layers (gpg compresses by default). Bounded to avoid zip bombs of layers.
    let mut rounds = 0;
    while has_compressed_layer(&msg) {
        rounds += 1;
        if rounds > 4 {
            return Err("too many nested compression layers".into());
        }
        msg = msg
            .decompress()
            .map_err(|e| format!("cannot decompress message: {e}"))?;
    }
    if has_encrypted_layer(&msg) {
        return Err("nested encrypted messages are not supported".into());
    }
    // Reading to the end also checks the MDC (integrity protection); tampering errors here.
    let mut plaintext = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(&mut msg, MAX_PLAINTEXT + 1),
        &mut plaintext,
    )
    .map_err(|e| format!("cannot read decrypted message (corrupt or tampered): {e}"))?;
    if plaintext.len() as u64 > MAX_PLAINTEXT {
        return Err(format!(
            "the decrypted message is larger than {} MiB",
            MAX_PLAINTEXT >> 20
        ));
    }

    let signature = match &msg {
        Message::Signed { reader, .. } => {
            let n = reader.num_signatures();
            let results: Vec<SignatureCheck> = (0..n)
                .map(|i| match reader.signature(i) {
                    Some(sig) => check_one(&msg, i, sig, known),
                    None => SignatureCheck::Invalid {
                        reason: "missing signature packet".into(),
                    },
                })
                .collect();
            results
                .iter()
                .find(|r| matches!(r, SignatureCheck::Valid { .. }))
                .or_else(|| {
                    results
                        .iter()
                        .find(|r| matches!(r, SignatureCheck::Invalid { .. }))
                })
                .or(results.first())
                .cloned()
                .unwrap_or(SignatureCheck::Unsigned)
        }
        _ => SignatureCheck::Unsigned,
    };
    Ok(Decrypted {
        plaintext,
        signature,
    })
}

/// Verify a detached ASCII-armored (or binary) signature over `data` against `known` certs.
/// (Not part of the requested API; handy for PGP/MIME multipart/signed and for tests.)
pub fn verify_detached_signature(
    data: &[u8],
    signature: &[u8],
    known: &[&PublicCert],
) -> Result<SignatureCheck, String> {
    let sig = match DetachedSignature::from_armor_single(Cursor::new(signature)) {
        Ok((s, _)) => s,
        Err(armor_err) => DetachedSignature::from_bytes(Cursor::new(signature))
            .map_err(|_| format!("not an OpenPGP signature: {armor_err}"))?,
    };
    let (fps, kids) = issuers(&sig.signature);
    let Some((cert, comp)) = known
        .iter()
        .find_map(|c| c.find_component(&fps, &kids).map(|comp| (*c, comp)))
    else {
        let issuer = fps
            .first()
            .or(kids.first())
            .map(|b| hex_upper(b))
            .unwrap_or_else(|| "(no issuer in signature)".into());
        return Ok(SignatureCheck::UnknownKey { issuer });
    };
    if let Some(reason) = weak_hash(&sig.signature) {
        return Ok(SignatureCheck::Invalid { reason });
    }
    let res = match comp {
        Component::Primary => sig.verify(&cert.inner.primary_key, data),
        Component::Subkey(sk) => sig.verify(&sk.key, data),
    };
    if let Err(e) = res {
        return Ok(SignatureCheck::Invalid {
            reason: format!("bad signature by {}: {e}", cert.fingerprint()),
        });
    }
    let st = primary_status(&cert.inner);
    let usable = !st.revoked
        && !st.expired
        && match comp {
            Component::Primary => st
                .self_sig
                .map(|s| binding_can_sign(s, cert.inner.primary_key.algorithm().can_sign()))
                .unwrap_or(false),
            Component::Subkey(sk) => subkey_binding(&cert.inner, sk)
                .map(|b| {
                    binding_can_sign(b, sk.key.algorithm().can_sign())
                        && has_valid_backsig(&cert.inner, sk, b)
                })
                .unwrap_or(false),
        };
    if !usable || sig_expired(&sig.signature) {
        return Ok(SignatureCheck::Invalid {
            reason: format!(
                "signature by {} is not acceptable (key revoked/expired/not sign-capable, or signature expired)",
                cert.fingerprint()
            ),
        });
    }
    Ok(SignatureCheck::Valid {
        fingerprint: cert.fingerprint(),
    })
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &str = "Hello CNA,\nthis is a secret advisory \u{2603}\n";

    fn keys() -> (SecretCert, SecretCert) {
        (
            SecretCert::generate("Alice <alice@example.org>").unwrap(),
            SecretCert::generate("XSF CNA <security@xmpp.org>").unwrap(),
        )
    }

    #[test]
    fn generate_and_inspect() {
        let k = SecretCert::generate("XSF CNA <security@xmpp.org>").unwrap();
        let p = k.public();
        assert_eq!(k.fingerprint(), p.fingerprint());
        assert_eq!(p.fingerprint().len(), 40);
        assert!(p
            .fingerprint()
            .chars()
            .all(|c| c.is_ascii_digit() || ('A'..='F').contains(&c)));
        assert_eq!(
            p.user_ids(),
            vec!["XSF CNA <security@xmpp.org>".to_string()]
        );
        assert!(p.can_encrypt());
        let dbg = format!("{k:?}");
        assert!(dbg.contains(&k.fingerprint()));
        assert!(!dbg.contains("secret_params"), "{dbg}");

        // armored round trips
        let pub_armored = p.to_armored();
        assert!(pub_armored.starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----"));
        let p2 = PublicCert::parse_armored(&pub_armored).unwrap();
        assert_eq!(p2.fingerprint(), p.fingerprint());
        assert_eq!(p2.user_ids(), p.user_ids());

        let sec_armored = k.to_armored();
        assert!(sec_armored.starts_with("-----BEGIN PGP PRIVATE KEY BLOCK-----"));
        let k2 = SecretCert::parse_armored(&sec_armored, None).unwrap();
        assert_eq!(k2.fingerprint(), k.fingerprint());
    }

    #[test]
    fn encrypt_sign_decrypt_roundtrip() {
        let (alice, cna) = keys();
        let armored = encrypt_and_sign(MSG.as_bytes(), &[&cna.public()], &alice).unwrap();
        assert!(
            armored.starts_with("-----BEGIN PGP MESSAGE-----"),
            "{armored}"
        );

        let out = decrypt_and_verify(armored.as_bytes(), &cna, &[&alice.public()]).unwrap();
        assert_eq!(out.plaintext, MSG.as_bytes());
        assert_eq!(
            out.signature,
            SignatureCheck::Valid {
                fingerprint: alice.fingerprint()
            }
        );

        // several known certs, signer not first
        let other = SecretCert::generate("Other <o@example.org>").unwrap();
        let out = decrypt_and_verify(
            armored.as_bytes(),
            &cna,
            &[&other.public(), &alice.public()],
        )
        .unwrap();
        assert!(matches!(out.signature, SignatureCheck::Valid { .. }));
    }

    #[test]
    fn multiple_recipients_and_binary_input() {
        let (alice, cna) = keys();
        let bob = SecretCert::generate("Bob <bob@example.org>").unwrap();
        let armored = encrypt_and_sign(
            MSG.as_bytes(),
            &[&cna.public(), &bob.public(), &alice.public()],
            &alice,
        )
        .unwrap();
        for k in [&alice, &bob, &cna] {
            let out = decrypt_and_verify(armored.as_bytes(), k, &[&alice.public()]).unwrap();
            assert_eq!(out.plaintext, MSG.as_bytes());
            assert!(matches!(out.signature, SignatureCheck::Valid { .. }));
        }
        // binary (dearmored) input works too
        let binary = dearmor(&armored);
        let out = decrypt_and_verify(&binary, &cna, &[&alice.public()]).unwrap();
        assert_eq!(out.plaintext, MSG.as_bytes());
    }

    fn dearmor(armored: &str) -> Vec<u8> {
        use std::io::Read;
        let mut d = pgp::armor::Dearmor::new(Cursor::new(armored.as_bytes()));
        let mut out = Vec::new();
        d.read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn unknown_signer() {
        let (alice, cna) = keys();
        let armored = encrypt_and_sign(MSG.as_bytes(), &[&cna.public()], &alice).unwrap();
        let out = decrypt_and_verify(armored.as_bytes(), &cna, &[]).unwrap();
        assert_eq!(out.plaintext, MSG.as_bytes());
        assert_eq!(
            out.signature,
            SignatureCheck::UnknownKey {
                issuer: alice.fingerprint()
            }
        );
    }

    #[test]
    fn wrong_key_fails() {
        let (alice, cna) = keys();
        let eve = SecretCert::generate("Eve <eve@example.org>").unwrap();
        let armored = encrypt_and_sign(MSG.as_bytes(), &[&cna.public()], &alice).unwrap();
        let err = decrypt_and_verify(armored.as_bytes(), &eve, &[&alice.public()]).unwrap_err();
        assert!(err.contains("not encrypted to key"), "{err}");
    }

    #[test]
    fn tampered_ciphertext_fails() {
        let (alice, cna) = keys();
        let armored = encrypt_and_sign(MSG.as_bytes(), &[&cna.public()], &alice).unwrap();
        let mut binary = dearmor(&armored);
        // flip bits in several places of the encrypted payload (near the end = SEIPD body)
        let n = binary.len();
        for pos in [n - 1, n - 10, n - 30, n / 2 + 40] {
            let mut t = binary.clone();
            t[pos] ^= 0x01;
            let r = decrypt_and_verify(&t, &cna, &[&alice.public()]);
            assert!(r.is_err(), "tampering at {pos}/{n} not detected: {r:?}");
        }
        // truncation
        binary.truncate(n - 5);
        assert!(decrypt_and_verify(&binary, &cna, &[&alice.public()]).is_err());
    }

    #[test]
    fn signature_with_wrong_cert_is_reported() {
        // A cert that claims the same fingerprint can't be forged, so test "Invalid" via
        // a detached signature over different data.
        let (alice, _) = keys();
        let sig = detached_signature(b"data", &alice).unwrap();
        assert!(sig.starts_with("-----BEGIN PGP SIGNATURE-----"), "{sig}");
        assert_eq!(
            verify_detached_signature(b"data", sig.as_bytes(), &[&alice.public()]).unwrap(),
            SignatureCheck::Valid {
                fingerprint: alice.fingerprint()
            }
        );
        assert!(matches!(
            verify_detached_signature(b"dat4", sig.as_bytes(), &[&alice.public()]).unwrap(),
            SignatureCheck::Invalid { .. }
        ));
        assert!(matches!(
            verify_detached_signature(b"data", sig.as_bytes(), &[]).unwrap(),
            SignatureCheck::UnknownKey { .. }
        ));
    }

    // GnuPG 2.2 RSA-2048 key and two detached signatures over b"data" (SHA-1 and SHA-256).
    // rPGP refuses to *create* SHA-1 Ed25519 signatures, so these are fixtures.
    const GPG_RSA_PUB: &str = "-----BEGIN PGP PUBLIC KEY BLOCK-----

mQENBGsGa+EBCADiD+doSF2to/dFMQV1I4VP5GCJwkuUbCZk3jnzRKo6xYrkub6l
ylMmLkDgS0gRGkUMeQLA3ySLaq/h16oomjC13oPDQZ9eZWl1G3wlfCIUah/3DAFh
j/7yBZVlZpir98IEFLGryYXsHuxpBRtwN1pbTYk6Okq4xvIvEZG6gr3OTt18IMsG
rpEOjKJ6Lm0Wzg34+suHvkxbqdeHa93MqTrLLW7JDZoKmVt7Q0pMmiHb3cmtT009
iZqyg7DPv5mQJWfpaz7Xf4jYwoJ05SBPrymYbtEmbszDfHaKGdtYc0ZjgDDcRfen
MWa53FN0tefCkClRHasZsMMZfzprlE7HX6D9ABEBAAG0FU9sZCA8b2xkQGV4YW1w
bGUub3JnPokBTgQTAQoAOBYhBO5Q9Q6vvulStikpw/TnqZ0vADCvBQJrBmvhAhsD
BQsJCAcCBhUKCQgLAgQWAgMBAh4BAheAAAoJEPTnqZ0vADCvSGwH/2N5gW3f9Aiz
mATK330zV4NwkvuLL4FAGS372L5I633894W5kj+KUgnXCIxkV3EhetUavKyiBDyM
tYQplcuHQXzVDFZDG07RNMakewz2SvkYzTahiXashBWr2FizZBlbEV30ohah/PhX
6swk2PKt2kf34NZqXJwAcOA2WU5Ei7KSXkAPuBtHTs1U2sesGSlAyInAMk8uevUL
AB95i+B0ak8GwWfO4DIiC+SS8bLcbLNkfXS5GJlnIRA174iI5hy02rvCa2JpqGJU
KHtN7/3uYIzFmQL1sXIDBBCtjExUar8NwIR9tpzf6iciiZgsOfrvbEYGFnLvSdVz
HNryUG8KGPM=
=aBvN
-----END PGP PUBLIC KEY BLOCK-----
";
    const GPG_SIG_SHA1: &str = "-----BEGIN PGP SIGNATURE-----

iQEzBAABAgAdFiEE7lD1Dq++6VK2KSnD9OepnS8AMK8FAmsGa+EACgkQ9OepnS8A
MK8h8QgA4RO+C/fDO3nfIZZv/gRej1i1Dn+KZFCT4g0Fz8u5rYYrSjEB+1nnIsrt
4rVz/z6nzKsPdgoWCxPTjEshC6kWFC9bKVscdcl7Z8mV7VwOT/muWU1s5dTd+1B1
jftOVUYZ9Ye5rZeWcnrFuBPGMFxhCgUIh6Rvx4CPeF/Aa8EnmxoPxW44jggX9XAV
5NUXQyHW/b8CKwOBAdoI4ajt0x3KPYeyfdmnorMAY4pXkgXRvgsejHdxTzU4P1+S
DPDrvnTw7Uq802TdtcevryHEzy4pOolcy7UPxeq0TkkcwmORSjhYWqNQ/6kns0Ma
8XQmCeDOJcJePHYXbopT+DSxKNTXsA==
=GNsr
-----END PGP SIGNATURE-----
";
    const GPG_SIG_SHA256: &str = "-----BEGIN PGP SIGNATURE-----

iQEzBAABCAAdFiEE7lD1Dq++6VK2KSnD9OepnS8AMK8FAmsGa+EACgkQ9OepnS8A
MK/bbQgAy4S9/ins4DyfQCE+itDDNFVvlO9OHV8Xr6MqtYBCtM9dqJvLQP9COFAC
pdOue0imdJcNmqBHecdLLnCadWcVR9/gFK/pf0+3j+YmMN+yPgRcrZzRnJ2FrpGR
SORV4lOznoemfa2qzv4WlhoH2yxHdSQTEe6/vT9ty9DHF5QJiDOCdcVQrnG0UYS/
UBoWxZsesDWMtCVjVQ0bbMkQ6Hz99uITM5rfhiGG0IbL79WEgUwOa601mYjIeQm7
86Tr9UIqN1UsJ/aVi/Cm4AEAwZgVJAmxTXm9aNmTA3Tw/cZdNgaKLGtymsQQBKss
411QintatoUfaQ41YXrC1y3+IYn/Aw==
=QWO+
-----END PGP SIGNATURE-----
";

    #[test]
    fn gpg_rsa_fixture_and_sha1_rejection() {
        let cert = PublicCert::parse_armored(GPG_RSA_PUB).unwrap();
        assert_eq!(cert.user_ids(), vec!["Old <old@example.org>".to_string()]);
        assert!(!cert.can_encrypt()); // sign-only key
        assert_eq!(
            verify_detached_signature(b"data", GPG_SIG_SHA256.as_bytes(), &[&cert]).unwrap(),
            SignatureCheck::Valid {
                fingerprint: cert.fingerprint()
            }
        );
        let res = verify_detached_signature(b"data", GPG_SIG_SHA1.as_bytes(), &[&cert]);
        assert!(
            matches!(&res, Ok(SignatureCheck::Invalid { reason }) if reason.contains("SHA1")),
            "{res:?}"
        );
    }

    #[test]
    fn unencrypted_input_rejected() {
        let (alice, cna) = keys();
        let sig = detached_signature(b"data", &alice).unwrap();
        assert!(decrypt_and_verify(sig.as_bytes(), &cna, &[]).is_err());
        // plain signed-only message
        let mut rng = rand::thread_rng();
        let key = alice.signing_key().unwrap();
        let mut b = MessageBuilder::from_bytes("", &b"hi"[..]);
        b.sign(key, Password::empty(), key.hash_alg());
        let signed = b.to_armored_string(&mut rng, armor_opts()).unwrap();
        let err = decrypt_and_verify(signed.as_bytes(), &cna, &[]).unwrap_err();
        assert!(err.contains("not encrypted"), "{err}");
    }

    #[test]
    fn garbage_is_rejected_readably() {
        for input in [
            "",
            "hello world",
            "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA\n-----END PGP PUBLIC KEY BLOCK-----\n",
        ] {
            let err = PublicCert::parse_armored(input).unwrap_err();
            assert!(err.starts_with("not an OpenPGP public key block"), "{err}");
            let err = SecretCert::parse_armored(input, None).unwrap_err();
            assert!(err.starts_with("not an OpenPGP secret key block"), "{err}");
            let k = SecretCert::generate("X <x@example.org>").unwrap();
            let err = decrypt_and_verify(input.as_bytes(), &k, &[]).unwrap_err();
            assert!(err.starts_with("not an OpenPGP message"), "{err}");
        }
        // secret key given where a public key is expected and vice versa
        let k = SecretCert::generate("X <x@example.org>").unwrap();
        let err = PublicCert::parse_armored(&k.to_armored()).unwrap_err();
        assert!(err.starts_with("not an OpenPGP public key block"), "{err}");
        let err = SecretCert::parse_armored(&k.public().to_armored(), None).unwrap_err();
        assert!(err.starts_with("not an OpenPGP secret key block"), "{err}");
    }

    #[test]
    fn armor_variants() {
        let (a, b) = keys();
        let arm = a.public().to_armored();
        // CRLF line endings and surrounding text (as pasted from an e-mail) are fine
        let crlf = format!(
            "Hi, my key:\r\n\r\n{}\r\nBye\r\n",
            arm.replace('\n', "\r\n")
        );
        assert_eq!(
            PublicCert::parse_armored(&crlf).unwrap().fingerprint(),
            a.fingerprint()
        );
        // one armored block holding two certificates is rejected
        let mut out = Vec::new();
        pgp::armor::write(
            &vec![a.public().as_pgp().clone(), b.public().as_pgp().clone()],
            pgp::armor::BlockType::PublicKey,
            &mut out,
            None,
            true,
        )
        .unwrap();
        let two = String::from_utf8(out).unwrap();
        let err = PublicCert::parse_armored(&two).unwrap_err();
        assert!(err.contains("more than one key"), "{err}");
        // CRLF-converted armored message still decrypts
        let m = encrypt_and_sign(b"x", &[&b.public()], &a).unwrap();
        let d = decrypt_and_verify(m.replace('\n', "\r\n").as_bytes(), &b, &[&a.public()]).unwrap();
        assert!(matches!(d.signature, SignatureCheck::Valid { .. }));
    }

    #[test]
    fn passphrase_protected_key() {
        let k = SecretCert::generate_with_passphrase("P <p@example.org>", Some("s3cret")).unwrap();
        let armored = k.to_armored();
        let ok = SecretCert::parse_armored(&armored, Some("s3cret")).unwrap();
        assert_eq!(ok.fingerprint(), k.fingerprint());
        // stays protected on export
        assert!(SecretCert::parse_armored(&ok.to_armored(), None).is_err());

        let err = SecretCert::parse_armored(&armored, Some("wrong")).unwrap_err();
        assert!(err.contains("wrong passphrase"), "{err}");
        let err = SecretCert::parse_armored(&armored, None).unwrap_err();
        assert!(err.contains("passphrase"), "{err}");

        // the unlocked key works
        let other = SecretCert::generate("O <o@example.org>").unwrap();
        let m = encrypt_and_sign(b"x", &[&ok.public()], &ok).unwrap();
        let d = decrypt_and_verify(m.as_bytes(), &ok, &[&ok.public()]).unwrap();
        assert_eq!(d.plaintext, b"x");
        assert!(matches!(d.signature, SignatureCheck::Valid { .. }));
        assert!(decrypt_and_verify(m.as_bytes(), &other, &[]).is_err());
    }

    /// Certify-only primary, optional Ed25519 signing subkey, cv25519 encryption subkey.
    fn key_with_subkeys(uid: &str, signing_subkey: bool) -> SignedSecretKey {
        let mut subkeys = vec![SubkeyParamsBuilder::default()
            .key_type(KeyType::ECDH(ECCCurve::Curve25519Legacy))
            .can_encrypt(EncryptionCaps::All)
            .build()
            .unwrap()];
        if signing_subkey {
            subkeys.push(
                SubkeyParamsBuilder::default()
                    .key_type(KeyType::Ed25519Legacy)
                    .can_sign(true)
                    .build()
                    .unwrap(),
            );
        }
        let mut params = SecretKeyParamsBuilder::default();
        params
            .key_type(KeyType::Ed25519Legacy)
            .can_certify(true)
            .can_sign(false)
            .primary_user_id(uid.into())
            .subkeys(subkeys);
        params
            .build()
            .unwrap()
            .generate(rand::thread_rng())
            .unwrap()
    }

    #[test]
    fn signing_subkey_is_used_and_verified() {
        let (_, cna) = keys();
        let k = SecretCert::from_signed(key_with_subkeys("S <s@example.org>", true), None).unwrap();
        let m = encrypt_and_sign(b"via subkey", &[&cna.public()], &k).unwrap();
        let d = decrypt_and_verify(m.as_bytes(), &cna, &[&k.public()]).unwrap();
        assert_eq!(
            d.signature,
            SignatureCheck::Valid {
                fingerprint: k.fingerprint()
            }
        );
        let sig = detached_signature(b"abc", &k).unwrap();
        assert!(matches!(
            verify_detached_signature(b"abc", sig.as_bytes(), &[&k.public()]).unwrap(),
            SignatureCheck::Valid { .. }
        ));
    }

    #[test]
    fn signature_by_non_signing_primary_is_invalid() {
        let (_, cna) = keys();
        let k =
            SecretCert::from_signed(key_with_subkeys("C <c@example.org>", false), None).unwrap();
        // our API refuses to sign with a certify-only key ...
        let err = encrypt_and_sign(b"x", &[&cna.public()], &k).unwrap_err();
        assert!(err.contains("no usable signing key"), "{err}");
        // ... and a message signed with it anyway is reported as Invalid.
        let mut rng = rand::thread_rng();
        let cna_pub = cna.public();
        let enc = match &encryption_components(&cna_pub.inner)[0] {
            Component::Subkey(sk) => *sk,
            Component::Primary => unreachable!(),
        };
        let mut b = MessageBuilder::from_bytes("", &b"forged"[..])
            .seipd_v1(&mut rng, SymmetricKeyAlgorithm::AES256);
        b.encrypt_to_key(&mut rng, &enc.key).unwrap();
        b.sign(
            &k.unlocked.primary_key,
            Password::empty(),
            HashAlgorithm::Sha256,
        );
        let m = b.to_armored_string(&mut rng, armor_opts()).unwrap();
        let d = decrypt_and_verify(m.as_bytes(), &cna, &[&k.public()]).unwrap();
        assert_eq!(d.plaintext, b"forged");
        assert!(
            matches!(&d.signature, SignatureCheck::Invalid { reason } if reason.contains("not valid for signing")),
            "{:?}",
            d.signature
        );
    }

    #[test]
    fn cert_without_encryption_key() {
        // Build a sign-only key with rPGP directly.
        let mut params = SecretKeyParamsBuilder::default();
        params
            .key_type(KeyType::Ed25519Legacy)
            .can_certify(true)
            .can_sign(true)
            .primary_user_id("S <s@example.org>".into());
        let key = params
            .build()
            .unwrap()
            .generate(rand::thread_rng())
            .unwrap();
        let cert = PublicCert::parse_armored(
            &key.to_public_key().to_armored_string(armor_opts()).unwrap(),
        )
        .unwrap();
        assert!(!cert.can_encrypt());
        let (alice, _) = keys();
        let err = encrypt_and_sign(b"x", &[&cert], &alice).unwrap_err();
        assert!(err.contains("no valid encryption-capable key"), "{err}");
    }
}
