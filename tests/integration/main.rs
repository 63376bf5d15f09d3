//! Integration tests, one binary with shared helpers: the `mailflow` command driven as an
//! administrator would, with openssl as the independent peer that checks our PKI output and a
//! private Postfix instance as the partner organization.

mod architecture;
mod bad_input;
mod certificates;
mod console_and_cli;
mod crash;
mod crl;
mod domain_security;
mod identity;
mod postfix;
mod postfix_interop;
mod postfix_revocation;
mod queue_failures;
mod relay_attacks;
mod relay_basic;
mod relay_queue;
mod relay_util;
mod revocation;
mod session_trust;
mod settings_cli;
mod util;
