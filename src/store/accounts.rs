//! Accounts for SMTP AUTH: `accounts.ron` (mode 0600) holds each user name with an Argon2id
//! hash of its password in PHC form — never the password. Checking a password reads the file
//! afresh, so an account added or removed while the relay runs counts at the next AUTH; an
//! unknown user costs the same time as a wrong password, so answers do not tell which user
//! names exist.

use super::atomic::{self, PRIVATE};
use super::error::{Result, StoreError};
use super::layout::DataDir;
use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use serde::{Deserialize, Serialize};
use std::path::Path;

const VERSION: u32 = 1;

/// Shortest password an account may have.
pub const MIN_PASSWORD: usize = 10;

/// One account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// The user name given in AUTH (compared without regard to case).
    pub name: String,
    /// `$argon2id$v=19$...`
    pub password_hash: String,
    /// Unix seconds.
    pub created: i64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountsFile {
    version: u32,
    accounts: Vec<Account>,
}

/// The accounts of a data directory, with the file's bytes as read (a change is written only
/// over exactly those bytes, like the certificate index).
#[derive(Clone, Debug)]
pub struct Accounts {
    pub list: Vec<Account>,
    bytes: Option<Vec<u8>>,
}

fn corrupt(path: &Path, why: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        path: path.to_path_buf(),
        why: why.into(),
    }
}

/// Checks a user name: 1 to 64 letters, digits and `. _ - + @`.
pub fn check_name(name: &str) -> std::result::Result<(), String> {
    if name.is_empty() || name.len() > 64 {
        return Err(format!(
            "'{name}' cannot be a user name: give 1 to 64 characters"
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "._-+@".contains(*c)))
    {
        return Err(format!(
            "'{name}' cannot be a user name: '{c}' is not allowed (use letters, digits and . _ - + @)"
        ));
    }
    Ok(())
}

/// Hashes a new password (Argon2id, a fresh random salt).
pub fn hash_password(password: &str) -> std::result::Result<String, String> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(format!(
            "the password is too short: give at least {MIN_PASSWORD} characters"
        ));
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("the password cannot be hashed: {e}"))
}

/// A hash of a random password nobody knows, made with the same parameters as real ones and
/// checked for unknown users so they cost the same time.
static DECOY: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let salt = SaltString::generate(&mut OsRng);
    let unknowable = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(unknowable.as_str().as_bytes(), &salt)
        .map(|h| h.to_string())
        .unwrap_or_default()
});

impl Accounts {
    /// Reads `accounts.ron`; no file means no accounts.
    pub fn load(dir: &DataDir) -> Result<Accounts> {
        let path = dir.accounts();
        let bytes = atomic::read_if_exists(&path)?;
        let list = match &bytes {
            None => Vec::new(),
            Some(b) => {
                let text = std::str::from_utf8(b).map_err(|_| corrupt(&path, "is not text"))?;
                let f: AccountsFile = ron::from_str(text)
                    .map_err(|e| corrupt(&path, format!("does not parse: {e}")))?;
                if f.version != VERSION {
                    return Err(corrupt(
                        &path,
                        format!(
                            "is version {}, this Mailflow reads version {VERSION}",
                            f.version
                        ),
                    ));
                }
                f.accounts
            }
        };
        Ok(Accounts { list, bytes })
    }

    /// The account named `name` (any case).
    pub fn find(&self, name: &str) -> Option<&Account> {
        self.list.iter().find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// Writes the list (mode 0600) over the file as it was read; refused when another process
    /// changed it meanwhile.
    pub fn save(&mut self, dir: &DataDir) -> Result<()> {
        let path = dir.accounts();
        let file = AccountsFile {
            version: VERSION,
            accounts: self.list.clone(),
        };
        let text = ron::ser::to_string_pretty(&file, ron::ser::PrettyConfig::new())
            .map_err(|e| corrupt(&path, format!("cannot be written: {e}")))?;
        atomic::ensure_dir(dir.root(), 0o700)?;
        let _lock = atomic::lock_dir(dir.root())?;
        atomic::ensure_unchanged(&path, self.bytes.as_deref())?;
        atomic::write_atomic(&path, text.as_bytes(), PRIVATE)?;
        self.bytes = Some(text.into_bytes());
        Ok(())
    }
}

/// Checks a user name and password against `accounts.ron` as it is now. Returns the account's
/// name as stored when they hold. Slow on purpose (Argon2): call it off the async runtime.
pub fn verify(dir: &DataDir, user: &str, password: &str) -> Result<Option<String>> {
    let accounts = Accounts::load(dir)?;
    let account = accounts.find(user);
    let hash = account.map_or(DECOY.as_str(), |a| a.password_hash.as_str());
    let ok = PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false);
    Ok(account.filter(|_| ok).map(|a| a.name.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn accounts_hold_hashes_only_and_passwords_check_out() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::new(tmp.path());
        let mut a = Accounts::load(&dir).unwrap();
        assert!(a.list.is_empty());
        a.list.push(Account {
            name: "Bob".into(),
            password_hash: hash_password("correct horse battery").unwrap(),
            created: 0,
        });
        a.save(&dir).unwrap();
        let text = std::fs::read_to_string(dir.accounts()).unwrap();
        assert!(
            !text.contains("correct horse") && text.contains("$argon2id$"),
            "{text}"
        );
        let mode = std::fs::metadata(dir.accounts())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(
            verify(&dir, "bob", "correct horse battery")
                .unwrap()
                .as_deref(),
            Some("Bob")
        );
        assert_eq!(verify(&dir, "bob", "wrong horse battery").unwrap(), None);
        assert_eq!(verify(&dir, "eve", "correct horse battery").unwrap(), None);
        assert!(hash_password("short").is_err());
        assert!(check_name("bob@contoso.test").is_ok());
        assert!(check_name("bob smith").is_err() && check_name("").is_err());
    }

    #[test]
    fn the_decoy_hash_parses_so_unknown_users_cost_a_real_check() {
        assert!(PasswordHash::new(DECOY.as_str()).is_ok());
    }

    #[test]
    fn a_change_made_elsewhere_is_not_undone() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::new(tmp.path());
        let mut first = Accounts::load(&dir).unwrap();
        let mut second = Accounts::load(&dir).unwrap();
        first.list.push(Account {
            name: "alice".into(),
            password_hash: DECOY.clone(),
            created: 0,
        });
        first.save(&dir).unwrap();
        second.list.push(Account {
            name: "bob".into(),
            password_hash: DECOY.clone(),
            created: 0,
        });
        assert!(matches!(
            second.save(&dir),
            Err(StoreError::ChangedElsewhere { .. })
        ));
        assert!(Accounts::load(&dir).unwrap().find("alice").is_some());
    }
}
