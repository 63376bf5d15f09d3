//! The one error type of the PKI layer. Every variant says what is wrong with the input and,
//! where there is one, what to do about it; none of them carries key material.

/// What went wrong while building, reading or checking certificates, requests and keys.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PkiError {
    /// The subject name typed by the administrator breaks a rule of Table 1 (user's input).
    #[error("invalid subject name: {0}")]
    Subject(String),
    /// A domain name for the certificate is not valid (user's input).
    #[error("invalid domain name: {0}")]
    Domain(String),
    /// The file is not in any format Mailflow reads, or it is damaged (the file's fault).
    #[error("{0}")]
    Format(String),
    /// The file is a PKCS#12 archive and no password was given.
    #[error(
        "this PKCS#12 (.pfx/.p12) file is protected by a password: give it with --password-file FILE or --password-stdin"
    )]
    PasswordRequired,
    /// The PKCS#12 password does not open the file.
    #[error(
        "the password is wrong: the PKCS#12 file's integrity check failed with it (nothing was imported)"
    )]
    WrongPassword,
    /// The input is well-formed but uses something Mailflow does not support.
    #[error("{0}")]
    Unsupported(String),
    /// A signature does not verify (the file was altered or signed by another key).
    #[error("{0}")]
    BadSignature(String),
    /// The cryptographic library failed (key generation, signing).
    #[error("cryptographic operation failed: {0}")]
    Crypto(String),
}

pub type Result<T> = std::result::Result<T, PkiError>;
