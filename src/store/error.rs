//! The one error type of the store layer: files on disk that cannot be read, written or trusted.
//! Each variant names the file concerned.

use crate::config::format::ParseError;
use crate::config::validate::Problems;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The operating system refused a read or write (permissions, disk full, missing folder).
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// settings.ron does not parse; it is left as it is.
    #[error("{} does not parse at {err}; fix the file (or restore {}.bak) — nothing was changed", path.display(), path.display())]
    SettingsParse { path: PathBuf, err: ParseError },
    /// The settings parse but break rules.
    #[error("the settings are not valid:\n{0}")]
    Invalid(Problems),
    /// A file of the store is missing or damaged.
    #[error("{}: {why}", path.display())]
    Corrupt { path: PathBuf, why: String },
    /// The tracking database cannot be opened, read or written (newer schema, not a database,
    /// damaged, disk full); `why` says what was being done and what to do about it.
    #[error("{}: {why}", path.display())]
    Database { path: PathBuf, why: String },
    /// Another Mailflow process (the console or a command) changed the file after this one read
    /// it: writing now would undo that change, so nothing was written.
    #[error("{} was changed by another Mailflow process (the console or a command) since it was read; nothing was saved: look at the current state (the console reloads it) and make the change again", path.display())]
    ChangedElsewhere { path: PathBuf },
    /// No settings yet in this data directory.
    #[error("{} holds no settings yet: run `mailflow init --fqdn ... --domain ...` or start the console once", .0.display())]
    NotInitialized(PathBuf),
}

impl StoreError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        StoreError::Io {
            path: path.into(),
            source,
        }
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;
