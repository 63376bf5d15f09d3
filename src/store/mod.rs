//! Files on disk: the data directory layout, crash-safe writes, settings.ron and the
//! certificate store. Later: the spool and the tracking database.

pub mod atomic;
pub mod certstore;
pub mod error;
pub mod layout;
pub mod settings;

pub use error::StoreError;
pub use layout::DataDir;
