//! `mailflow mta-sts ...`: publish our MTA-STS policy (served by the relay over HTTPS), show it
//! with the DNS records to publish, withdraw it, and list the policies cached from other
//! domains.

use super::output::{list, table};
use super::{CliError, CliResult, open};
use clap::Subcommand;
use mailflow::config::units::TimeSpan;
use mailflow::config::{MtaStsMode, MtaStsPublishing};
use mailflow::policy::mta_sts::{policy_id, published, txt_record};
use mailflow::store::sts_cache;
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum MtaStsCommand {
    /// Our policy, where it is served and the TXT record that announces it; the policies
    /// cached from other domains
    Show,
    /// Publish our policy: the relay serves it at https://mta-sts.<our domain>/.well-known/mta-sts.txt
    Publish {
        /// Where the HTTPS listener binds
        #[arg(long, default_value = "0.0.0.0:443")]
        listen: String,
        /// enforce, testing (senders report, deliver anyway) or none (withdraws a policy
        /// senders have cached: publish it before removing the policy)
        #[arg(long, value_enum)]
        mode: ModeArg,
        /// Our MX hosts, or patterns of one leftmost label (*.contoso.test); repeat or
        /// separate with commas
        #[arg(long, value_delimiter = ',', required = true)]
        mx: Vec<String>,
        /// How long senders keep the policy (e.g. 7d)
        #[arg(long, default_value = "7d")]
        max_age: String,
    },
    /// Stop serving our policy
    Withdraw,
}

/// `--mode`.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum ModeArg {
    Enforce,
    Testing,
    None,
}

pub fn run(dir: &Option<PathBuf>, cmd: &MtaStsCommand) -> CliResult {
    let mut workspace = open(dir)?;
    match cmd {
        MtaStsCommand::Show => {
            let domain = workspace
                .settings
                .our_domain()
                .unwrap_or_default()
                .to_string();
            match &workspace.settings.transport.mta_sts_policy {
                Some(p) => {
                    let text = published(p).to_text();
                    list(&[
                        ("Listen", p.listen.clone()),
                        (
                            "Url",
                            format!("https://mta-sts.{domain}/.well-known/mta-sts.txt"),
                        ),
                        ("Id", policy_id(&text)),
                        ("TxtRecord", txt_record(&domain, &policy_id(&text))),
                    ]);
                    println!("\n{}", text.replace("\r\n", "\n").trim_end());
                }
                None => println!("No MTA-STS policy is published for {domain}."),
            }
            let cache = sts_cache::load(&workspace.dir);
            if !cache.is_empty() {
                println!("\nPolicies cached from other domains:");
                let rows: Vec<Vec<String>> = cache
                    .iter()
                    .map(|(domain, c)| {
                        vec![
                            domain.clone(),
                            c.id.clone(),
                            c.policy.mode.to_string(),
                            c.policy.mx.join(", "),
                            mailflow::pki::text::format_date(
                                time::OffsetDateTime::from_unix_timestamp(
                                    c.fetched_ms / 1000
                                        + i64::try_from(c.policy.max_age).unwrap_or(0),
                                )
                                .unwrap_or(time::OffsetDateTime::UNIX_EPOCH),
                            ),
                        ]
                    })
                    .collect();
                table(&["Domain", "Id", "Mode", "Mx", "Expires"], &rows);
            }
        }
        MtaStsCommand::Publish {
            listen,
            mode,
            mx,
            max_age,
        } => {
            let max_age: TimeSpan = max_age
                .parse()
                .map_err(|e: mailflow::config::units::UnitError| CliError(e.0))?;
            let policy = MtaStsPublishing {
                listen: listen.trim().to_string(),
                mode: match mode {
                    ModeArg::Enforce => MtaStsMode::Enforce,
                    ModeArg::Testing => MtaStsMode::Testing,
                    ModeArg::None => MtaStsMode::None,
                },
                mx: mx
                    .iter()
                    .map(|m| m.trim().to_string())
                    .filter(|m| !m.is_empty())
                    .collect(),
                max_age,
            };
            workspace.set_transport(|t| t.mta_sts_policy = Some(policy.clone()))?;
            let domain = workspace
                .settings
                .our_domain()
                .unwrap_or_default()
                .to_string();
            let id = policy_id(&published(&policy).to_text());
            println!("MTA-STS policy saved; the relay serves it on {listen}.");
            println!("Publish in DNS:\n  {}", txt_record(&domain, &id));
            println!("  mta-sts.{domain}. IN A <the address of this relay>");
            println!(
                "and enable for SMTP a certificate that names mta-sts.{domain} (senders check it)."
            );
        }
        MtaStsCommand::Withdraw => {
            workspace.set_transport(|t| t.mta_sts_policy = None)?;
            println!(
                "MTA-STS policy withdrawn. Senders keep a cached policy until its max_age; publish mode none first to end it sooner."
            );
        }
    }
    Ok(())
}
