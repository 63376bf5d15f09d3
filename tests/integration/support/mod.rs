//! What the integration tests share, none of it a test: `util` runs the `mailflow` command
//! against a temporary data directory (an [`util::Org`]), hashes a data directory to prove a
//! refused command changed nothing, and finds the peer tools (openssl, swaks); `relay_util`
//! starts relays in-process on free loopback ports and talks SMTP to them with a small
//! blocking client; `swaks` runs swaks, the outside SMTP client; `tls` opens
//! TLS client sessions (STARTTLS, a client certificate) against a relay; `proxy` records or
//! holds what passes between a relay and its next hop; `openssl_ca` is a certificate authority run by openssl (leaves,
//! intermediates, revocations and CRLs) for the revocation tests; `postfix` runs a private
//! Postfix instance as the partner organization and makes the certificates handed to it.

pub mod openssl_ca;
pub mod postfix;
pub mod proxy;
pub mod relay_util;
pub mod swaks;
pub mod tls;
pub mod util;
