//! `mailflow policy explain`: what the relay would do with a message, step by step, from the
//! settings and certificates in force ([`mailflow::admin::explain`], the same answer as the
//! console's What if page).

use super::{CliError, CliResult, now, open};
use clap::Subcommand;
use mailflow::admin::explain::{self, Question};
use mailflow::admin::partners;
use mailflow::engine::config::RunConfig;
use std::net::IpAddr;
use std::path::PathBuf;

/// The largest certificate file read.
const MAX_FILE: u64 = 10 * 1024 * 1024;

#[derive(Subcommand, Debug)]
pub enum PolicyCommand {
    /// What happens to a message from --from to --to: receiving it (when it comes from a
    /// client: a sender outside our accepted domains, or --client-cert, --connector or
    /// --client-ip given), then delivering it, each decision in the relay's order with its
    /// reply code or TLS requirement, the certificate checks and the marks
    Explain {
        /// The envelope sender (`<>` for the null sender)
        #[arg(long)]
        from: String,
        /// The recipient
        #[arg(long)]
        to: String,
        /// The certificate (chain) the client presents: PEM, DER or PKCS#7
        #[arg(long, value_name = "FILE")]
        client_cert: Option<PathBuf>,
        /// The receive connector the client reaches (default: the one serving --client-ip)
        #[arg(long)]
        connector: Option<String>,
        /// The client's address (default 192.0.2.1, a host on the Internet)
        #[arg(long)]
        client_ip: Option<IpAddr>,
        /// The client does not use STARTTLS
        #[arg(long)]
        no_starttls: bool,
        /// Deliver through this send connector instead of the one routing picks
        #[arg(long)]
        send_connector: Option<String>,
    },
}

fn read_chain(path: &PathBuf) -> Result<Vec<Vec<u8>>, CliError> {
    let shown = path.display();
    let meta =
        std::fs::metadata(path).map_err(|e| CliError(format!("cannot read {shown}: {e}")))?;
    if meta.len() > MAX_FILE {
        return Err(CliError(format!(
            "{shown} is larger than 10 MB: not a certificate file"
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| CliError(format!("cannot read {shown}: {e}")))?;
    let contents = mailflow::pki::import::read_file(&bytes, None)
        .map_err(|e| CliError(format!("{shown}: {e}")))?;
    if contents.certificates.is_empty() {
        return Err(CliError(format!("{shown} holds no certificate")));
    }
    Ok(contents.certificates)
}

pub fn run(dir: &Option<PathBuf>, cmd: &PolicyCommand) -> CliResult {
    let PolicyCommand::Explain {
        from,
        to,
        client_cert,
        connector,
        client_ip,
        no_starttls,
        send_connector,
    } = cmd;
    let ws = open(dir)?;
    let at = now();
    let client_certificate = client_cert.as_ref().map(read_chain).transpose()?;
    let ours = |address: &str| {
        address.rsplit_once('@').is_some_and(|(_, d)| {
            ws.settings
                .accepted_domains
                .iter()
                .any(|a| a.domain.eq_ignore_ascii_case(d.trim_end_matches('>')))
        })
    };
    let receive =
        client_certificate.is_some() || connector.is_some() || client_ip.is_some() || !ours(from);
    let question = Question {
        from: from.clone(),
        to: to.clone(),
        receive,
        client_certificate,
        starttls: !no_starttls,
        receive_connector: connector.clone(),
        client_ip: *client_ip,
        send_connector: send_connector.clone(),
    };
    let run = RunConfig::build(&ws, at).map_err(|e| CliError(e.to_string()))?;
    let (sightings, note) = partners::sightings(&ws);
    let answer = explain::explain(&run, &sightings, &question, at)?;
    print!("{}", answer.text());
    if let Some(n) = note {
        println!("Note: {n}");
    }
    Ok(())
}
