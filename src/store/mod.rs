//! Files on disk: the data directory layout, crash-safe writes, settings.ron and the
//! certificate store, the message tracking database. Later: the spool.

pub mod atomic;
pub mod certstore;
pub mod error;
pub mod layout;
pub mod settings;
pub mod tracking;

pub use error::StoreError;
pub use layout::DataDir;
