//! Files on disk: the data directory layout, crash-safe writes, settings.ron, the certificate
//! store and the spool (the durable message queue). Later: the tracking database.

pub mod atomic;
pub mod certstore;
pub mod error;
pub mod layout;
pub mod settings;
pub mod spool;

pub use error::StoreError;
pub use layout::DataDir;
