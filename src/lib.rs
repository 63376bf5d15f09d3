//! Mailflow: a desktop console and embedded SMTP relay for secure mail flow between
//! organizations — opportunistic TLS with everyone, Domain Security (mandatory mutual TLS with
//! names checked against the partner domain) with partner organizations.
//!
//! # Layers
//!
//! One package; the arrows point down only (`tests/integration/architecture.rs` fails when an
//! import crosses a boundary the wrong way):
//!
//! ```text
//! cli      the command line (clap); no arguments opens the console
//! ui       the egui console: pages, wizards, widgets (never blocks, no sockets, no tokio)
//! admin    the administrator's operations: every rule of a change lives here once
//! engine   the only async code: listeners, sessions, queue, delivery, monitor
//! store    files on disk: settings, certificate store, spool, tracking database
//! policy   pure decisions: inbound and outbound TLS requirements, trust, routing
//! smtp     the pure protocol: commands, replies, server and client machines, DATA framing
//! pki      pure certificate work: requests, import, inspection, chains, names, lab CA
//! config   the settings model and its validation into checked settings
//! ```
//!
//! `policy`, `smtp`, `pki` and `config` do no I/O and read no clock (the time is passed in).
//!
//! # A message from receive to delivery
//!
//! 1. `engine::inbound::serve` takes a TCP connection, picks the receive connector by binding
//!    and remote address and drives `smtp::server::Server`, the sans-I/O machine, over it;
//!    after STARTTLS (`engine::tls`) the client certificate is evaluated by
//!    `policy::trust::evaluate`.
//! 2. At MAIL FROM the session asks `policy::inbound::sender_verdict` (Domain Security for a
//!    sender on the receive list, Exchange's replies in Exchange's order) and
//!    `policy::submission` (permission groups, no open relay) what to answer.
//! 3. After DATA, `engine::inbound` strips forged marks (the header firewall), adds our own
//!    marks and a `Received:` line (`smtp::headers`) and hands the message to the queue, which
//!    writes it to the spool (`store::spool`) and fsyncs it before the `250` is sent.
//! 4. `engine::delivery` schedules due work from `engine::queue` (groups of recipients by
//!    next hop): local recipients go to `engine::local` (Maildir), the others to
//!    `engine::outbound`. It connects to the connector's smart hosts or, without one, to the
//!    domain's MX hosts (`engine::dns` looks them up, `policy::mx` orders them), and there
//!    `policy::outbound` says what TLS the next hop must offer and judges its certificate
//!    before any SMTP command goes over the channel.
//! 5. Every step leaves a tracking event (`store::tracking`) and, where logging is on, a
//!    protocol log line (`engine::protolog`); the console reads both.
//!
//! # A Domain Security switch from the console to the engine's decision
//!
//! 1. The administrator ticks Domain Security on a connector or finishes the Domain Security
//!    wizard in `ui`; the page turns it into a change of `admin::Workspace` (the same
//!    operation `mailflow connector … set --domain-secure true` calls).
//! 2. `admin` checks the whole new settings with `config::validate` and writes them
//!    atomically through `store::settings`; a refused change writes nothing.
//! 3. The console hands the workspace to the running relay (`engine::EngineHandle::apply`);
//!    `engine::config::RunConfig::build` loads certificates and TLS configurations for it,
//!    and new sessions take the new `RunConfig`.
//! 4. The next MAIL FROM from a listed partner domain is decided by
//!    `policy::inbound::sender_verdict` with the connector's `domain_secure_enabled`; the next
//!    delivery to a listed domain gets `TlsRequirement::DomainSecure` from
//!    `policy::outbound::requirement`.

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
