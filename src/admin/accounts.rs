//! Accounts for SMTP AUTH: add, list, change the password of, and remove the users that may
//! authenticate on a receive connector with BasicAuth. Passwords are hashed before anything is
//! written and are never shown.

use super::{AdminError, Result};
use crate::store::DataDir;
use crate::store::accounts::{self, Account, Accounts};
use time::OffsetDateTime;

/// Adds an account; refused when the name is taken (in any case) or the password is too short.
pub fn add_account(dir: &DataDir, name: &str, password: &str, now: OffsetDateTime) -> Result<()> {
    accounts::check_name(name).map_err(AdminError::Refused)?;
    let mut all = Accounts::load(dir)?;
    if let Some(a) = all.find(name) {
        return Err(AdminError::Refused(format!(
            "an account named '{}' exists already: change its password with `mailflow account password {}`",
            a.name, a.name
        )));
    }
    let password_hash = accounts::hash_password(password).map_err(AdminError::Refused)?;
    all.list.push(Account {
        name: name.to_string(),
        password_hash,
        created: now.unix_timestamp(),
    });
    all.save(dir)?;
    Ok(())
}

/// Gives an account a new password.
pub fn set_account_password(dir: &DataDir, name: &str, password: &str) -> Result<()> {
    let mut all = Accounts::load(dir)?;
    let hash = accounts::hash_password(password).map_err(AdminError::Refused)?;
    let account = all
        .list
        .iter_mut()
        .find(|a| a.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| no_such(name))?;
    account.password_hash = hash;
    all.save(dir)?;
    Ok(())
}

/// Removes an account; its sessions already authenticated finish, new AUTH fails.
pub fn remove_account(dir: &DataDir, name: &str) -> Result<String> {
    let mut all = Accounts::load(dir)?;
    let i = all
        .list
        .iter()
        .position(|a| a.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| no_such(name))?;
    let removed = all.list.remove(i);
    all.save(dir)?;
    Ok(removed.name)
}

/// The accounts, sorted by name (hashes included: callers show only names and dates).
pub fn list_accounts(dir: &DataDir) -> Result<Vec<Account>> {
    let mut list = Accounts::load(dir)?.list;
    list.sort_by_key(|a| a.name.to_ascii_lowercase());
    Ok(list)
}

fn no_such(name: &str) -> AdminError {
    AdminError::Refused(format!(
        "there is no account named '{name}': `mailflow account list` shows them"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_are_added_once_changed_and_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::new(tmp.path());
        let now = OffsetDateTime::UNIX_EPOCH;
        add_account(&dir, "bob", "correct horse battery", now).unwrap();
        let err = add_account(&dir, "BOB", "another long password", now).unwrap_err();
        assert!(err.to_string().contains("exists already"), "{err}");
        let err = add_account(&dir, "eve", "short", now).unwrap_err();
        assert!(err.to_string().contains("too short"), "{err}");
        let err = add_account(&dir, "eve smith", "long enough password", now).unwrap_err();
        assert!(err.to_string().contains("cannot be a user name"), "{err}");
        let before = std::fs::read(dir.accounts()).unwrap();
        set_account_password(&dir, "Bob", "a new long password").unwrap();
        assert_ne!(std::fs::read(dir.accounts()).unwrap(), before);
        assert_eq!(
            crate::store::accounts::verify(&dir, "bob", "a new long password")
                .unwrap()
                .as_deref(),
            Some("bob")
        );
        assert!(set_account_password(&dir, "nobody", "long enough password").is_err());
        assert_eq!(list_accounts(&dir).unwrap().len(), 1);
        assert_eq!(remove_account(&dir, "BOB").unwrap(), "bob");
        assert!(list_accounts(&dir).unwrap().is_empty());
        assert!(remove_account(&dir, "bob").is_err());
    }
}
