//! What the integration tests share, none of it a test:
//!
//! - `util` runs the `mailflow` command against a temporary data directory (an
//!   [`util::Org`]), hashes a data directory to prove a refused command changed nothing, and
//!   finds the peer tools (openssl, swaks) and runs openssl;
//! - `relay_util` starts relays in-process on free loopback ports, waits for their tracking
//!   events, protocol logs and mailboxes, and talks SMTP to them with a small blocking client;
//! - `serve` runs `mailflow serve` as a child process, on an organization set up from the
//!   command line, and stops it with SIGTERM;
//! - `dns` is an authoritative DNS server in process on loopback, serving test zones (MX,
//!   addresses, CNAMEs, TXT; signed, unsigned or with broken signatures, under a trust anchor
//!   it writes) to the resolver of the relay's DNS routing;
//! - `mx` starts the two sides of an MX-routed delivery: a relay routing by that DNS and
//!   relays as MX hosts on 127.0.0.2 and 127.0.0.3;
//! - `next_hop` makes scripted SMTP servers for a relay to deliver to, and the sink that
//!   records which test messages arrived;
//! - `partners` makes two organizations (relays with their own lab CAs) that secure mail
//!   between them, for the Domain Security tests;
//! - `tls` opens TLS client sessions (STARTTLS, a client certificate) against a relay;
//! - `proxy` records or holds what passes between a relay and its next hop;
//! - `swaks` runs swaks, the outside SMTP client;
//! - `collector` is an HTTPS collector of TLS reports (axum over tokio-rustls);
//! - `openssl_ca` is a certificate authority run by openssl (leaves, intermediates,
//!   revocations and CRLs) for the revocation tests;
//! - `postfix` runs a private Postfix instance as the partner organization and makes the
//!   certificates handed to it.

pub mod collector;
pub mod dns;
pub mod mx;
pub mod next_hop;
pub mod openssl_ca;
pub mod partners;
pub mod postfix;
pub mod proxy;
pub mod relay_util;
pub mod serve;
pub mod swaks;
pub mod tls;
pub mod util;
