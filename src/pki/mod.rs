//! Pure certificate work: subject names (Table 1), PKCS#10 requests, certificate building and
//! the lab CA, reading PEM/DER/PKCS#7/PKCS#12 files, inspection with findings, chain validation
//! and name matching. No I/O and no clock: time is passed in.

pub mod builder;
pub mod ca;
pub mod chain;
pub mod compare;
pub mod crl;
pub mod der;
pub mod digest;
pub mod error;
pub mod export;
pub mod import;
pub mod inspect;
pub mod jws;
pub mod keys;
pub mod names;
pub mod path;
pub mod request;
pub mod subject;
pub mod text;

pub use error::PkiError;
