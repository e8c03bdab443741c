//! Provider secrets at rest: AES-256-GCM with a random 96-bit nonce per seal.
//!
//! A sealed value reads `v1.<key id>.<base64url(nonce ‖ ciphertext+tag)>`; the key id (the first
//! 8 hex digits of the key's SHA-256) says which key sealed it, so a keyring holding the current
//! key and the previous ones opens old values while new ones are sealed with the current key.
//! Rotation: make a new key the current one, keep the old in `CRMCAL_SECRET_KEYS_OLD`, run
//! `crmcal connections rekey`, then drop the old key.
//!
//! The key comes from `CRMCAL_SECRET_KEY` (base64 of 32 bytes) or from a key file that is
//! generated (mode 0600) on first use.

use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    #[error("the secret key must be 32 bytes, base64-encoded")]
    BadKey,
    #[error("cannot read or create the key file {0}: {1}")]
    KeyFile(String, String),
    #[error("the key file {0} is readable by others; it must be mode 0600")]
    KeyFilePermissions(String),
    #[error("sealed with a key this server does not have (key id {0})")]
    UnknownKey(String),
    #[error("the sealed value is damaged or was tampered with")]
    Corrupt,
}

#[derive(Clone)]
struct Key {
    id: String,
    cipher: Aes256Gcm,
}

impl Key {
    fn new(bytes: &[u8]) -> Result<Key, SecretError> {
        if bytes.len() != 32 {
            return Err(SecretError::BadKey);
        }
        let id = Sha256::digest(bytes).iter().take(4).map(|b| format!("{b:02x}")).collect();
        Ok(Key { id, cipher: Aes256Gcm::new_from_slice(bytes).map_err(|_| SecretError::BadKey)? })
    }

    fn from_base64(text: &str) -> Result<Key, SecretError> {
        Key::new(&STANDARD.decode(text.trim()).map_err(|_| SecretError::BadKey)?)
    }
}

/// The current key plus older ones that may still have sealed values.
#[derive(Clone)]
pub struct Keyring {
    current: Key,
    previous: Vec<Key>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let previous: Vec<&str> = self.previous.iter().map(|k| k.id.as_str()).collect();
        f.debug_struct("Keyring").field("current", &self.current.id).field("previous", &previous).finish()
    }
}

impl Keyring {
    /// A keyring from base64 keys: the current one and any previous ones.
    pub fn from_base64(current: &str, previous: &[&str]) -> Result<Keyring, SecretError> {
        Ok(Keyring {
            current: Key::from_base64(current)?,
            previous: previous.iter().map(|k| Key::from_base64(k)).collect::<Result<_, _>>()?,
        })
    }

    /// From the environment (`CRMCAL_SECRET_KEY`, `CRMCAL_SECRET_KEYS_OLD` comma-separated), or
    /// else from `key_file`, generated with mode 0600 when it does not exist.
    pub fn load(key_file: &Path) -> Result<Keyring, SecretError> {
        let old = std::env::var("CRMCAL_SECRET_KEYS_OLD").unwrap_or_default();
        let previous: Vec<&str> = old.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
        match std::env::var("CRMCAL_SECRET_KEY") {
            Ok(key) => Keyring::from_base64(&key, &previous),
            Err(_) => Keyring::from_base64(&read_or_create_key_file(key_file)?, &previous),
        }
    }

    pub fn current_key_id(&self) -> &str {
        &self.current.id
    }

    pub fn seal(&self, plain: &str) -> String {
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = self.current.cipher.encrypt(Nonce::from_slice(&nonce), plain.as_bytes()).expect("AES-GCM encryption does not fail for in-memory data");
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        format!("v1.{}.{}", self.current.id, URL_SAFE_NO_PAD.encode(bytes))
    }

    pub fn open(&self, sealed: &str) -> Result<String, SecretError> {
        let mut parts = sealed.splitn(3, '.');
        let (Some("v1"), Some(id), Some(body)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(SecretError::Corrupt);
        };
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id == id)
            .ok_or_else(|| SecretError::UnknownKey(id.to_string()))?;
        let bytes = URL_SAFE_NO_PAD.decode(body).map_err(|_| SecretError::Corrupt)?;
        if bytes.len() < 12 + 16 {
            return Err(SecretError::Corrupt);
        }
        let (nonce, ciphertext) = bytes.split_at(12);
        let plain = key.cipher.decrypt(Nonce::from_slice(nonce), ciphertext).map_err(|_| SecretError::Corrupt)?;
        String::from_utf8(plain).map_err(|_| SecretError::Corrupt)
    }

    /// Whether a sealed value was sealed with an older key (re-seal it).
    pub fn is_stale(&self, sealed: &str) -> bool {
        sealed.split('.').nth(1).is_some_and(|id| id != self.current.id)
    }
}

/// A fresh random key, base64 (for `CRMCAL_SECRET_KEY`).
pub fn generate_key() -> String {
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    STANDARD.encode(key)
}

fn read_or_create_key_file(path: &Path) -> Result<String, SecretError> {
    let shown = path.display().to_string();
    let io = |e: std::io::Error| SecretError::KeyFile(shown.clone(), e.to_string());
    match std::fs::read_to_string(path) {
        Ok(text) => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(path).map_err(io)?.permissions().mode();
                if mode & 0o077 != 0 {
                    return Err(SecretError::KeyFilePermissions(shown));
                }
            }
            Ok(text.trim().to_string())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(io)?;
            }
            // Written whole to a private temporary file, then linked into place: a process
            // starting at the same moment either wins the link or reads the complete file,
            // never a half-written one.
            let key = generate_key();
            let tmp = path.with_extension(format!("tmp.{}.{}", std::process::id(), &generate_key()[..8].replace(['/', '+'], "_")));
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            use std::io::Write;
            let mut file = options.open(&tmp).map_err(io)?;
            file.write_all(key.as_bytes()).map_err(io)?;
            file.sync_all().map_err(io)?;
            drop(file);
            let linked = std::fs::hard_link(&tmp, path);
            let _ = std::fs::remove_file(&tmp);
            match linked {
                Ok(()) => {
                    tracing::info!("generated a new secret key in {shown}");
                    Ok(key)
                }
                // Another process put its key there first: use theirs.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read_or_create_key_file(path),
                Err(e) => Err(io(e)),
            }
        }
        Err(e) => Err(io(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_and_tamper() {
        let ring = Keyring::from_base64(&generate_key(), &[]).unwrap();
        let a = ring.seal("hunter2");
        let b = ring.seal("hunter2");
        assert_ne!(a, b, "a fresh nonce every time");
        assert!(!a.contains("hunter2"));
        assert_eq!(ring.open(&a).unwrap(), "hunter2");
        let mut damaged = a.clone().into_bytes();
        let last = damaged.len() - 2;
        damaged[last] = if damaged[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(ring.open(&String::from_utf8(damaged).unwrap()), Err(SecretError::Corrupt));
        assert_eq!(ring.open("plain text"), Err(SecretError::Corrupt));
        let other = Keyring::from_base64(&generate_key(), &[]).unwrap();
        assert!(matches!(other.open(&a), Err(SecretError::UnknownKey(_))));
    }

    #[test]
    fn rotation_opens_old_values_and_marks_them_stale() {
        let (old, new) = (generate_key(), generate_key());
        let before = Keyring::from_base64(&old, &[]).unwrap();
        let sealed = before.seal("refresh-token");
        let after = Keyring::from_base64(&new, &[&old]).unwrap();
        assert!(after.is_stale(&sealed));
        assert_eq!(after.open(&sealed).unwrap(), "refresh-token");
        let resealed = after.seal(&after.open(&sealed).unwrap());
        assert!(!after.is_stale(&resealed));
        assert!(matches!(Keyring::from_base64(&new, &[]).unwrap().open(&sealed), Err(SecretError::UnknownKey(_))));
        assert_eq!(Keyring::from_base64("c2hvcnQ=", &[]).err(), Some(SecretError::BadKey));
    }

    #[test]
    fn processes_starting_together_agree_on_one_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.key");
        let keys: Vec<String> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8).map(|_| s.spawn(|| read_or_create_key_file(&path).unwrap())).collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(keys.iter().all(|k| k == &keys[0]), "{keys:?}");
    }

    #[test]
    fn key_file_is_generated_private_and_reused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys").join("secret.key");
        let first = read_or_create_key_file(&path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(read_or_create_key_file(&path).unwrap(), first);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(read_or_create_key_file(&path), Err(SecretError::KeyFilePermissions(_))));
    }
}
