//! `mailflow test-message --from A --to B [--connector NAME] [--host HOST[:PORT]]`: sends a
//! test message now through the running relay (its control socket), by the same operation as
//! the console's "Send test message", and prints each step, the TLS facts, the security it was
//! sent with and the session's transcript. It fails (exit 1) when the message was not sent.

use super::{CliError, CliResult, data_dir};
use mailflow::engine::control;
use mailflow::engine::test_message::{TestMessage, TestOutcome, TestReport};
use std::path::PathBuf;

pub fn run_test_message(dir: &Option<PathBuf>, request: TestMessage) -> CliResult {
    let d = data_dir(dir);
    let report = control::send_test_message(d.root(), &request).ok_or_else(|| {
        CliError(format!(
            "no relay is running on {}: a test message goes through the running relay; start it (`mailflow serve`, or the console) and try again",
            d.root().display()
        ))
    })?;
    let report = report.map_err(CliError)?;
    print_report(&report);
    match report.outcome {
        TestOutcome::Sent(_) => Ok(()),
        other => Err(CliError(format!(
            "the test message was not sent: {}",
            other.text()
        ))),
    }
}

fn print_report(r: &TestReport) {
    println!("Message-ID      {}", r.message_id);
    println!("Internal id     {}", r.internal_id);
    for step in &r.steps {
        println!(
            "{}  {}",
            if step.passed { "ok  " } else { "FAIL" },
            step.what
        );
    }
    if let Some(hop) = &r.hop {
        println!("Policy          {}", hop.policy);
        println!("TLS             {}", hop.tls_summary());
    }
    match r.security {
        Some(s) => println!("Security        {}", s.label()),
        None => println!("Security        (not sent)"),
    }
    for (session, transcript) in &r.sessions {
        println!("\nSession {session} (`mailflow log --send --session {session}`)");
        for line in transcript {
            println!("  {line}");
        }
    }
    println!(
        "\nFind it in tracking: mailflow track --message-id '{}'",
        r.message_id
    );
}
