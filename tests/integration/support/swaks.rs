//! swaks, the outside SMTP client of the tests: one run with the arguments the test gives (no
//! input), its transcript (what it printed, standard output then standard error) and whether it
//! succeeded. Whether swaks is installed is the test's question ([`crate::support::util::peer`]).

use crate::support::util::transcript;
use std::process::{Command, Stdio};

/// Runs swaks; returns whether it succeeded and its transcript.
pub fn run(args: &[&str]) -> (bool, String) {
    let out = Command::new("swaks")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("swaks runs");
    (out.status.success(), transcript(&out))
}

/// Runs swaks and expects it to succeed; returns its transcript.
pub fn run_ok(args: &[&str]) -> String {
    let (succeeded, text) = run(args);
    assert!(succeeded, "swaks {args:?} failed:\n{text}");
    text
}
