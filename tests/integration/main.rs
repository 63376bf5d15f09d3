//! Integration tests, one binary with shared helpers: the `mailflow` command driven as an
//! administrator would, with openssl as the independent peer that checks our PKI output.

mod architecture;
mod bad_input;
mod certificates;
mod crash;
mod domain_security;
mod relay_attacks;
mod relay_basic;
mod relay_queue;
mod relay_util;
mod settings_cli;
mod util;
