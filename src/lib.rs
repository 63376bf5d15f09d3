//! Mailflow: a desktop console and embedded SMTP relay for secure mail flow between
//! organizations — opportunistic TLS with everyone, Domain Security (mandatory mutual TLS with
//! names checked against the partner domain) with partner organizations.
//!
//! Layers, arrows pointing down only: `ui` → `manage` → `store` → `pki` → `config`.

pub mod admin;
pub mod config;
pub mod engine;
#[doc(hidden)]
pub mod fuzzing;
pub mod pki;
pub mod policy;
pub mod smtp;
pub mod store;
#[cfg(feature = "console")]
pub mod ui;
