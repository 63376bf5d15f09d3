//! Files on disk: the data directory layout, crash-safe writes, settings.ron, the certificate
//! store, the accounts for SMTP AUTH, CSV records, the spool (the durable message queue) and the message tracking database.

pub mod accounts;
pub mod alerts;
pub mod atomic;
pub mod certstore;
pub mod clock;
pub mod crl_cache;
pub mod csv;
pub mod error;
pub mod layout;
pub mod partner_activity;
pub mod partner_watch;
pub mod protocol_logs;
pub mod settings;
pub mod spool;
pub mod sts_cache;
pub mod tls_outcomes;
pub mod tls_received;
pub mod tracking;

pub use error::StoreError;
pub use layout::DataDir;
