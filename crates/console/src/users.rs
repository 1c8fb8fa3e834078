//! Console users and their argon2 password hashes.
//!
//! Users come from the configuration (`[[console.users]]`). Without any, the first start
//! generates a password for the user `admin`, logs it once and keeps only its hash in the
//! data directory (`console-admin.hash`), so later starts use the same password and the
//! password itself is never written to disk (ARCHITECTURE decision 8).

use crate::error::ConsoleError;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use std::path::Path;

/// The user the generated first-start password belongs to.
pub const GENERATED_USER: &str = "admin";
/// Where the generated password's hash is kept, in the data directory.
pub const GENERATED_HASH_FILE: &str = "console-admin.hash";

/// A configured user: a name and a PHC-format argon2 hash (`$argon2id$v=19$...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserEntry {
    pub name: String,
    pub password_hash: String,
}

/// Who may log in.
#[derive(Debug, Clone)]
pub struct Users {
    entries: Vec<UserEntry>,
}

impl Users {
    /// The configured users, or else the generated `admin` (created on the first start).
    ///
    /// # Errors
    /// A configured hash that does not parse; the password file cannot be read or written.
    pub fn load_or_generate(
        configured: &[UserEntry],
        data_dir: &Path,
    ) -> Result<Users, ConsoleError> {
        if !configured.is_empty() {
            for u in configured {
                check_hash(&u.password_hash).map_err(|reason| ConsoleError::BadHash {
                    user: u.name.clone(),
                    reason,
                })?;
            }
            return Ok(Users {
                entries: configured.to_vec(),
            });
        }
        let path = data_dir.join(GENERATED_HASH_FILE);
        let file_error = |source| ConsoleError::PasswordFile {
            path: path.display().to_string(),
            source,
        };
        let hash = match std::fs::read_to_string(&path) {
            Ok(text) => text.trim().to_string(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let password = generate_password()?;
                let hash = hash_password(&password)?;
                std::fs::create_dir_all(data_dir).map_err(file_error)?;
                write_private(&path, &hash).map_err(file_error)?;
                tracing::warn!(
                    user = GENERATED_USER,
                    password = %password,
                    hash_file = %path.display(),
                    "no console users configured: generated a password for the console (shown only now; configure [[console.users]] to choose your own)"
                );
                hash
            }
            Err(e) => return Err(file_error(e)),
        };
        check_hash(&hash).map_err(|e| ConsoleError::BadHash {
            user: GENERATED_USER.to_string(),
            reason: format!("{e} (in {})", path.display()),
        })?;
        Ok(Users {
            entries: vec![UserEntry {
                name: GENERATED_USER.to_string(),
                password_hash: hash,
            }],
        })
    }

    /// Whether `password` is this user's password. Slow on purpose (argon2): call it from
    /// a blocking thread. An unknown user costs the same as a wrong password.
    pub fn verify(&self, name: &str, password: &str) -> bool {
        let entry = self.entries.iter().find(|u| u.name == name);
        let Some(hash_text) = entry.or(self.entries.first()).map(|u| &u.password_hash) else {
            return false;
        };
        let Ok(hash) = PasswordHash::new(hash_text) else {
            return false;
        };
        let ok = Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok();
        ok && entry.is_some()
    }
}

/// Whether `text` is a PHC-format argon2 hash this console can verify against.
///
/// # Errors
/// The text is not such a hash; the message says why.
pub fn check_hash(text: &str) -> Result<(), String> {
    let hash = PasswordHash::new(text).map_err(|e| format!("not a PHC password hash ({e})"))?;
    if !hash.algorithm.as_str().starts_with("argon2") {
        return Err(format!("algorithm {} is not argon2", hash.algorithm));
    }
    Ok(())
}

/// An argon2id hash of `password` in PHC format, for `[[console.users]] password_hash`.
///
/// # Errors
/// No randomness for the salt, or argon2 failed.
pub fn hash_password(password: &str) -> Result<String, ConsoleError> {
    let salt_bytes = random_bytes::<16>()?;
    let salt =
        SaltString::encode_b64(&salt_bytes).map_err(|e| ConsoleError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ConsoleError::Hash(e.to_string()))
}

/// `N` bytes from the operating system's random source.
///
/// # Errors
/// The OS source failed.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], ConsoleError> {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes).map_err(|e| ConsoleError::Random(e.to_string()))?;
    Ok(bytes)
}

/// A random token of 32 bytes as hex (session ids, CSRF tokens).
///
/// # Errors
/// The OS source failed.
pub fn random_token() -> Result<String, ConsoleError> {
    Ok(crate::escape::hex(&random_bytes::<32>()?))
}

/// 20 characters from an alphabet without look-alikes (about 113 bits).
fn generate_password() -> Result<String, ConsoleError> {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let bytes = random_bytes::<20>()?;
    Ok(bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect())
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut f = options.open(path)?;
    f.write_all(text.as_bytes())?;
    f.write_all(b"\n")?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_hash_verifies_only_the_right_password() {
        let hash = hash_password("s3cret").unwrap();
        let users = Users::load_or_generate(
            &[UserEntry {
                name: "ops".into(),
                password_hash: hash,
            }],
            Path::new("/nonexistent"),
        )
        .unwrap();
        assert!(users.verify("ops", "s3cret"));
        assert!(!users.verify("ops", "S3cret"));
        assert!(!users.verify("admin", "s3cret"));
    }

    #[test]
    fn bad_configured_hash_is_an_error_naming_the_user() {
        let e = Users::load_or_generate(
            &[UserEntry {
                name: "ops".into(),
                password_hash: "plain".into(),
            }],
            Path::new("/nonexistent"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("ops"), "{e}");
    }

    #[test]
    fn generated_password_hash_is_kept_across_starts() {
        let dir = tempfile::tempdir().unwrap();
        Users::load_or_generate(&[], dir.path()).unwrap();
        let first = std::fs::read_to_string(dir.path().join(GENERATED_HASH_FILE)).unwrap();
        assert!(first.starts_with("$argon2id$"), "{first}");
        Users::load_or_generate(&[], dir.path()).unwrap();
        let second = std::fs::read_to_string(dir.path().join(GENERATED_HASH_FILE)).unwrap();
        assert_eq!(first, second);
    }
}
