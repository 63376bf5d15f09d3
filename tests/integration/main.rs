//! Integration tests, one binary with shared helpers (in `support/`): the `mailflow` command driven as an
//! administrator would, with openssl as the independent peer that checks our PKI output and a
//! private Postfix instance as the partner organization.

mod architecture;
mod bad_input;
mod certificates;
mod console_and_cli;
mod crash;
mod dane;
mod dns_server;
mod domain_security;
mod dsn;
mod evidence;
mod identity;
mod mta_sts;
mod mx_routing;
mod partners;
mod postfix_interop;
mod postfix_revocation;
mod queue_failures;
mod refusals;
mod relay_attacks;
mod relay_basic;
mod relay_queue;
mod requiretls;
mod revocation;
mod session_trust;
mod settings_cli;
mod support;
mod tls_reports;
