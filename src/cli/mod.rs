//! Command-line parsing (clap) and dispatch to the administrator's operations in
//! `mailflow::admin`. Output is plain text tables like the Exchange cmdlets print.

mod account;
mod cert;
mod mta_sts;
mod output;
mod partner;
mod policy;
mod protocol_log;
mod relay;
mod settings_cmd;
mod test_message;
mod tls_report;

use clap::{Parser, Subcommand};
use mailflow::admin::{self, AdminError, Workspace};
use mailflow::store::DataDir;
use std::path::PathBuf;
use time::OffsetDateTime;

#[derive(Parser, Debug)]
#[command(
    name = "mailflow",
    version,
    about = "Secure mail flow between organizations: console, relay and Domain Security"
)]
pub struct Cli {
    /// Data directory (default: the user's data directory, e.g. ~/.local/share/mailflow)
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create a new organization in the data directory (settings, self-signed SMTP certificate)
    Init {
        /// This server's fully qualified domain name, e.g. mail.contoso.test
        #[arg(long)]
        fqdn: String,
        /// The organization's mail domain (first accepted domain), e.g. contoso.test
        #[arg(long)]
        domain: String,
        /// Display name of the organization
        #[arg(long, default_value = "My Organization")]
        org: String,
    },
    /// Certificates: request, import, enable, list, show, remove
    #[command(subcommand)]
    Cert(cert::CertCommand),
    /// Trusted root CAs (a partner organization's root goes here)
    #[command(subcommand)]
    Trust(cert::TrustCommand),
    /// Certificate revocation lists (CRLs) of partner CAs: add, list, remove
    #[command(subcommand)]
    Crl(cert::CrlCommand),
    /// The lab CA: an organization CA for issuing certificates offline
    #[command(subcommand)]
    Ca(cert::CaCommand),
    /// Transport settings: the domain secure lists
    #[command(subcommand)]
    Transport(settings_cmd::TransportCommand),
    /// MTA-STS: publish our policy, show it with its TXT record, and the policies cached from
    /// other domains
    #[command(subcommand)]
    MtaSts(mta_sts::MtaStsCommand),
    /// TLS reports (RFC 8460): the aggregate report of a day for a recipient domain
    #[command(subcommand)]
    TlsReport(tls_report::TlsReportCommand),
    /// Receive and send connectors
    #[command(subcommand)]
    Connector(Box<settings_cmd::ConnectorCommand>),
    /// Accepted domains
    #[command(subcommand)]
    Domain(settings_cmd::DomainCommand),
    /// The effective policy: what the relay would do with a message (`policy explain`)
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
    /// The evidence report for an auditor: every message of a time range (optionally one
    /// partner's) with the security it was received and sent with, each hop's TLS and
    /// certificate, the refusals, totals per partner and security level; CSV, or one
    /// self-contained HTML file with charts (by the file's extension, or --format)
    Report {
        /// The start: a span back from now (30d) or a date (2026-11-01, midnight UTC)
        #[arg(long)]
        since: String,
        /// The end, exclusive (default: now)
        #[arg(long)]
        until: Option<String>,
        /// Only this partner domain's messages and refusals
        #[arg(long)]
        partner: Option<String>,
        /// The file to write (replaced if it exists)
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// csv or html (default: from the file's extension, .html for HTML)
        #[arg(long)]
        format: Option<String>,
    },
    /// Run the relay without a console until SIGTERM/SIGINT
    Serve,
    /// The queues: list, show, retry, suspend, resume, remove, quarantine, release (Queue Viewer)
    #[command(subcommand)]
    Queue(relay::QueueCommand),
    /// Message tracking: search events with their security status and TLS evidence
    Track {
        #[arg(long)]
        sender: Option<String>,
        #[arg(long)]
        recipient: Option<String>,
        #[arg(long)]
        message_id: Option<String>,
        /// Internal message id (GUID)
        #[arg(long)]
        id: Option<String>,
        /// A span back from now (1h, 2d) or a date (2026-11-29)
        #[arg(long)]
        since: Option<String>,
        /// domainsecure | encrypted | plaintext | refused, or an event: receive, send, deliver, defer, fail, dsn, quarantine, release, reject
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Every field of each event, with the TLS evidence
        #[arg(long)]
        details: bool,
    },
    /// The protocol log of a day (SmtpReceive, or SmtpSend with --send), filtered by session
    /// id, connector and peer; the session id is in `track --details` and the console
    Log {
        /// The send log (sessions we made) instead of the receive log
        #[arg(long)]
        send: bool,
        /// The day (2026-12-07); the newest kept when not given
        #[arg(long)]
        day: Option<String>,
        #[arg(long)]
        session: Option<String>,
        /// Connector name (part of it)
        #[arg(long)]
        connector: Option<String>,
        /// Remote address (part of it: an IP address, or ip:port)
        #[arg(long)]
        peer: Option<String>,
        /// List the days kept instead
        #[arg(long)]
        days: bool,
    },
    /// Connectivity probe: banner, capabilities, TLS, the chain and a verdict per policy
    Probe {
        /// HOST[:PORT] of the server to probe; without it, every host the domain's mail may go
        /// to (its send connector's smart hosts, or each of its MX hosts, best first)
        target: Option<String>,
        /// The domain to judge the certificate for (DomainValidation, Domain Security)
        #[arg(long)]
        domain: String,
        /// Present this certificate (thumbprint) as client certificate
        #[arg(long)]
        client_cert: Option<String>,
    },
    /// Send a test message now through the running relay (not queued): each step, the TLS
    /// facts, the security it was sent with, the transcript; findable in tracking
    TestMessage {
        /// The sender (`<>` for the null sender)
        #[arg(long)]
        from: String,
        /// The recipient
        #[arg(long)]
        to: String,
        /// Through this send connector (by name) instead of the one routing picks
        #[arg(long)]
        connector: Option<String>,
        /// Straight to HOST[:PORT] instead of the connector's smart hosts or MX hosts (the
        /// connector's TLS requirement still applies)
        #[arg(long)]
        host: Option<String>,
    },
    /// Direct Trust: our OWN relays, trusted by certificate or key pin (they may relay anywhere
    /// and their marks pass); for a partner's certificate use `partner pin`
    #[command(subcommand)]
    DirectTrust(cert::DirectTrustCommand),
    /// Partners: pin a partner domain to its own CA (anchor), or pin a partner's own
    /// self-signed or privately issued certificate for its domains
    #[command(subcommand)]
    Partner(cert::PartnerCommand),
    /// Accounts for SMTP AUTH on connectors with BasicAuth
    #[command(subcommand)]
    Account(account::AccountCommand),
    /// Open the console (the default without a command)
    Console,
}

/// An error for the command line: printed as one line.
pub struct CliError(pub String);

impl From<AdminError> for CliError {
    fn from(e: AdminError) -> Self {
        CliError(e.to_string())
    }
}

impl From<String> for CliError {
    fn from(s: String) -> Self {
        CliError(s)
    }
}

pub type CliResult = Result<(), CliError>;

pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

pub fn data_dir(cli_dir: &Option<PathBuf>) -> DataDir {
    DataDir::new(cli_dir.clone().unwrap_or_else(DataDir::default_location))
}

pub fn open(cli_dir: &Option<PathBuf>) -> Result<Workspace, CliError> {
    Ok(Workspace::open(&data_dir(cli_dir))?)
}

/// Parses arguments, runs the command, returns the exit code.
pub fn run() -> i32 {
    let cli = Cli::parse();
    let result = match cli.command {
        None | Some(Command::Console) => run_console(&cli.data_dir),
        Some(Command::Init {
            ref fqdn,
            ref domain,
            ref org,
        }) => init(&cli.data_dir, org, fqdn, domain),
        Some(Command::Cert(ref c)) => cert::run_cert(&cli.data_dir, c),
        Some(Command::Trust(ref c)) => cert::run_trust(&cli.data_dir, c),
        Some(Command::Crl(ref c)) => cert::run_crl(&cli.data_dir, c),
        Some(Command::Ca(ref c)) => cert::run_ca(&cli.data_dir, c),
        Some(Command::Transport(ref c)) => settings_cmd::run_transport(&cli.data_dir, c),
        Some(Command::MtaSts(ref c)) => mta_sts::run(&cli.data_dir, c),
        Some(Command::TlsReport(ref c)) => tls_report::run(&cli.data_dir, c),
        Some(Command::Connector(ref c)) => settings_cmd::run_connector(&cli.data_dir, c),
        Some(Command::Domain(ref c)) => settings_cmd::run_domain(&cli.data_dir, c),
        Some(Command::Serve) => relay::run_serve(&cli.data_dir),
        Some(Command::Report {
            ref since,
            ref until,
            ref partner,
            ref out,
            ref format,
        }) => partner::run_report(&cli.data_dir, since, until, partner, out, format),
        Some(Command::Policy(ref c)) => policy::run(&cli.data_dir, c),
        Some(Command::Probe {
            ref target,
            ref domain,
            ref client_cert,
        }) => relay::run_probe(&cli.data_dir, target, domain, client_cert),
        Some(Command::TestMessage {
            ref from,
            ref to,
            ref connector,
            ref host,
        }) => test_message::run_test_message(
            &cli.data_dir,
            mailflow::engine::test_message::TestMessage {
                from: from.clone(),
                to: to.clone(),
                connector: connector.clone(),
                host: host.clone(),
            },
        ),
        Some(Command::DirectTrust(ref c)) => cert::run_direct_trust(&cli.data_dir, c),
        Some(Command::Partner(ref c)) => cert::run_partner(&cli.data_dir, c),
        Some(Command::Account(ref c)) => account::run_account(&cli.data_dir, c),
        Some(Command::Log {
            send,
            ref day,
            ref session,
            ref connector,
            ref peer,
            days,
        }) => protocol_log::run_log(&cli.data_dir, send, day, session, connector, peer, days),
        Some(Command::Queue(ref c)) => relay::run_queue(&cli.data_dir, c),
        Some(Command::Track {
            ref sender,
            ref recipient,
            ref message_id,
            ref id,
            ref since,
            ref status,
            limit,
            details,
        }) => relay::run_track(
            &cli.data_dir,
            sender,
            recipient,
            message_id,
            id,
            since,
            status,
            limit,
            details,
        ),
    };
    match result {
        Ok(()) => 0,
        Err(CliError(msg)) => {
            let one_line = msg
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join("; ");
            eprintln!("mailflow: {one_line}");
            1
        }
    }
}

fn init(dir: &Option<PathBuf>, org: &str, fqdn: &str, domain: &str) -> CliResult {
    let d = data_dir(dir);
    let r = admin::init(&d, org, fqdn, domain, now())?;
    println!(
        "Created organization '{}' in {}",
        r.organization,
        r.data_dir.display()
    );
    println!("  FQDN             {}", r.fqdn);
    println!("  Accepted domain  {}", r.domain);
    println!(
        "  Receive connector Default on {}",
        mailflow::config::defaults::DEFAULT_BINDING
    );
    println!("  Send connector   Outbound for * (no smart host yet)");
    println!(
        "  SMTP certificate {} (self-signed, for opportunistic TLS)",
        r.certificate_thumbprint
    );
    Ok(())
}

fn run_console(dir: &Option<PathBuf>) -> CliResult {
    let d = data_dir(dir);
    #[cfg(feature = "console")]
    return mailflow::ui::run(d).map_err(CliError);
    #[cfg(not(feature = "console"))]
    {
        let _ = d;
        Err(CliError("this mailflow was built without the console (feature `console`); run the relay with `mailflow serve`".into()))
    }
}
