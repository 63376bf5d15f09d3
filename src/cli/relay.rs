//! `mailflow serve` (the relay without a console), `mailflow queue ...` (Queue Viewer) and
//! `mailflow track ...` (message tracking).

use super::output::table;
use super::{CliError, CliResult, data_dir};
use clap::Subcommand;
use mailflow::admin::{self, Workspace};
use mailflow::engine::{self, EngineHandle, QueueOp, QueueReply};
use mailflow::smtp::evidence::SecurityStatus;
use mailflow::store::tracking::{EventKind, TrackingDb, TrackingQuery};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

#[derive(Subcommand, Debug)]
pub enum QueueCommand {
    /// Queues by next hop: status, messages, next retry, last error
    List,
    /// Messages of one queue (or of all)
    Show { queue: Option<String> },
    /// Retry a queue now
    Retry { queue: String },
    /// Suspend a queue or a message (by id)
    Suspend { target: String },
    /// Resume a queue or a message
    Resume { target: String },
    /// Remove a message (by id) or every message of a queue
    Remove {
        target: String,
        /// Send a non-delivery report to the sender
        #[arg(long)]
        ndr: bool,
    },
    /// Messages found damaged in the queue and set aside, with why
    Quarantine,
    /// Put a quarantined message back into the queue (by the name `queue quarantine` shows)
    Release { name: String },
    /// The header section of a queued message (by id)
    Headers { id: String },
}

fn ms_text(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map(|t| {
            t.format(&time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second]"
            ))
            .unwrap_or_default()
        })
        .unwrap_or_default()
}

pub fn run_queue(dir: &Option<PathBuf>, cmd: &QueueCommand) -> CliResult {
    let op = match cmd {
        QueueCommand::List => QueueOp::List,
        QueueCommand::Show { queue } => QueueOp::Messages {
            queue: queue.clone(),
        },
        QueueCommand::Retry { queue } => QueueOp::Retry {
            queue: queue.clone(),
        },
        QueueCommand::Suspend { target } => QueueOp::Suspend {
            target: target.clone(),
        },
        QueueCommand::Resume { target } => QueueOp::Resume {
            target: target.clone(),
        },
        QueueCommand::Quarantine => QueueOp::Quarantined,
        QueueCommand::Release { name } => QueueOp::Release { name: name.clone() },
        QueueCommand::Headers { id } => QueueOp::Headers { id: id.clone() },
        QueueCommand::Remove { target, ndr } => QueueOp::Remove {
            target: target.clone(),
            ndr: *ndr,
        },
    };
    let d = data_dir(dir);
    let reply = match engine::control::send(d.root(), &op) {
        Some(r) => r,
        None => {
            let ws = Workspace::open(&d)?;
            engine::offline_queue_op(&ws, &op).map_err(|e| CliError(e.to_string()))?
        }
    };
    match reply {
        QueueReply::Queues(rows) => {
            let rows: Vec<Vec<String>> = rows
                .into_iter()
                .map(|q| {
                    vec![
                        q.name,
                        q.status,
                        q.messages.to_string(),
                        q.next_retry.map(ms_text).unwrap_or_default(),
                        q.last_error.unwrap_or_default(),
                    ]
                })
                .collect();
            table(
                &[
                    "NextHop",
                    "Status",
                    "MessageCount",
                    "NextRetryTime",
                    "LastError",
                ],
                &rows,
            );
        }
        QueueReply::Messages(rows) => {
            let rows: Vec<Vec<String>> = rows
                .into_iter()
                .map(|m| {
                    vec![
                        m.id,
                        if m.sender.is_empty() {
                            "<>".into()
                        } else {
                            m.sender
                        },
                        m.recipients
                            .iter()
                            .map(|(a, s)| format!("{a} ({s})"))
                            .collect::<Vec<_>>()
                            .join(", "),
                        m.subject.unwrap_or_default(),
                        m.status,
                        m.attempts.to_string(),
                        m.last_error.unwrap_or_default(),
                    ]
                })
                .collect();
            table(
                &[
                    "Identity",
                    "FromAddress",
                    "Recipients",
                    "Subject",
                    "Status",
                    "Attempts",
                    "LastError",
                ],
                &rows,
            );
        }
        QueueReply::Quarantine(rows) if rows.is_empty() => {
            println!("The quarantine is empty.");
        }
        QueueReply::Quarantine(rows) => {
            let rows: Vec<Vec<String>> = rows
                .into_iter()
                .map(|q| {
                    vec![
                        q.name,
                        ms_text(q.since),
                        q.sender
                            .map(|s| if s.is_empty() { "<>".into() } else { s })
                            .unwrap_or_else(|| "(unreadable)".into()),
                        q.recipients.join(", "),
                        q.subject.unwrap_or_default(),
                        q.reason,
                    ]
                })
                .collect();
            table(
                &[
                    "Name",
                    "Quarantined",
                    "FromAddress",
                    "Recipients",
                    "Subject",
                    "Reason",
                ],
                &rows,
            );
        }
        QueueReply::Headers { text, .. } => println!("{text}"),
        QueueReply::Done(msg) => println!("{msg}."),
        QueueReply::Error(e) => return Err(CliError(e)),
    }
    Ok(())
}

/// `--since`: a span back from now (`1h`, `2d`) or a date (`2026-11-29` or RFC 3339).
pub(super) fn parse_since(text: &str) -> Result<i64, CliError> {
    let now = time::OffsetDateTime::now_utc();
    if let Ok(span) = text.parse::<mailflow::config::units::TimeSpan>() {
        let t = now - time::Duration::try_from(span.as_duration()).unwrap_or(time::Duration::ZERO);
        return Ok((t.unix_timestamp_nanos() / 1_000_000) as i64);
    }
    if let Ok(t) = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
    {
        return Ok((t.unix_timestamp_nanos() / 1_000_000) as i64);
    }
    if let Ok(d) = time::Date::parse(
        text,
        &time::macros::format_description!("[year]-[month]-[day]"),
    ) {
        return Ok(d.midnight().assume_utc().unix_timestamp() * 1000);
    }
    Err(CliError(format!(
        "'{text}' is neither a span back from now (1h, 2d) nor a date (2026-11-29)"
    )))
}

#[allow(clippy::too_many_arguments)]
pub fn run_track(
    dir: &Option<PathBuf>,
    sender: &Option<String>,
    recipient: &Option<String>,
    message_id: &Option<String>,
    id: &Option<String>,
    since: &Option<String>,
    status: &Option<String>,
    limit: usize,
    details: bool,
) -> CliResult {
    let d = data_dir(dir);
    let db = TrackingDb::open_read_only(&d.tracking_db()).map_err(|e| CliError(e.to_string()))?;
    let mut q = TrackingQuery {
        sender: sender.clone(),
        recipient: recipient.clone(),
        message_id: message_id.clone(),
        internal_id: id.clone(),
        limit: Some(limit),
        ..Default::default()
    };
    if let Some(s) = since {
        q.since = Some(parse_since(s)?);
    }
    if let Some(st) = status {
        if let Some(sec) = SecurityStatus::parse(st) {
            q.security = Some(sec);
        } else if let Some(k) = EventKind::parse(st) {
            q.kind = Some(k);
        } else if st.trim().eq_ignore_ascii_case("refused") {
            q.kind = Some(EventKind::Reject);
        } else {
            return Err(CliError(format!(
                "'{st}' is not a status: use domainsecure, encrypted, plaintext, refused, or an event: receive, send, deliver, defer, fail, dsn, quarantine, release, reject"
            )));
        }
    }
    let events = db.search(&q).map_err(|e| CliError(e.to_string()))?;
    if details {
        for e in &events {
            println!(
                "{} {} {} ({})",
                ms_text(e.time),
                e.kind.as_str(),
                e.internal_id,
                e.security.label()
            );
            println!(
                "  Sender      {}",
                if e.sender.is_empty() { "<>" } else { &e.sender }
            );
            println!("  Recipients  {}", e.recipients.join(", "));
            println!("  Subject     {}", e.subject.clone().unwrap_or_default());
            println!("  Message-ID  {}", e.message_id.clone().unwrap_or_default());
            println!(
                "  Connector   {}  client {}  server {}",
                e.connector.clone().unwrap_or_default(),
                e.client.clone().unwrap_or_default(),
                e.server.clone().unwrap_or_default()
            );
            match &e.tls {
                Some(t) => {
                    println!(
                        "  TLS         {} {} ({} bits{}) — {}",
                        t.version,
                        t.cipher,
                        t.cipher_bits,
                        t.key_exchange
                            .as_ref()
                            .map(|k| format!(", {k}"))
                            .unwrap_or_default(),
                        t.trust
                    );
                    if let Some(c) = &t.peer_certificate {
                        println!(
                            "  Peer cert   {} / issuer {} / thumbprint {}",
                            c.subject, c.issuer, c.thumbprint
                        );
                    }
                    if let Some(d) = &t.trust_detail {
                        println!("  Trust       {d}");
                    }
                }
                None => println!("  TLS         none"),
            }
            println!("  Response    {}", e.response.clone().unwrap_or_default());
            if let Some(d) = &e.detail {
                println!("  Detail      {d}");
            }
            if let Some(h) = &e.helo {
                println!("  EHLO name   {h}");
            }
            if let Some(s) = &e.session {
                println!("  Session     {s} (protocol log)");
            }
            if !e.why.is_empty() {
                println!("  Why");
                for (i, step) in e.why.iter().enumerate() {
                    println!("    {}. {:<11} {}", i + 1, step.outcome.label(), step.check);
                    if !step.detail.is_empty() {
                        println!("       {}", step.detail);
                    }
                    if let Some(fix) = &step.fix {
                        println!("       To change it: {fix}");
                    }
                }
            }
            println!();
        }
        return Ok(());
    }
    let rows: Vec<Vec<String>> = events
        .into_iter()
        .map(|e| {
            vec![
                ms_text(e.time),
                e.kind.as_str().to_string(),
                if e.sender.is_empty() {
                    "<>".into()
                } else {
                    e.sender
                },
                e.recipients.join(", "),
                e.subject.unwrap_or_default(),
                e.security.label().to_string(),
                e.tls
                    .map(|t| format!("{} {}", t.version, t.cipher))
                    .unwrap_or_default(),
                e.response.unwrap_or_default(),
            ]
        })
        .collect();
    table(
        &[
            "Timestamp",
            "EventId",
            "Sender",
            "Recipients",
            "MessageSubject",
            "Security",
            "TLS",
            "RecipientStatus",
        ],
        &rows,
    );
    Ok(())
}

fn modified(paths: &[PathBuf]) -> Vec<Option<SystemTime>> {
    paths
        .iter()
        .map(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
        .collect()
}

/// Runs the relay until SIGTERM or SIGINT; settings and certificate changes made with the
/// command line are applied to new sessions within two seconds.
pub fn run_serve(dir: &Option<PathBuf>) -> CliResult {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    let d = data_dir(dir);
    let (ws, created) = admin::open_or_create(&d, time::OffsetDateTime::now_utc())?;
    if let Some(r) = created {
        tracing::info!(
            "created a new organization in {} (FQDN {})",
            r.data_dir.display(),
            r.fqdn
        );
    }
    let handle = EngineHandle::start(ws, None).map_err(|e| CliError(e.to_string()))?;
    let snap = handle.snapshot();
    for l in &snap.listeners {
        match &l.error {
            None => tracing::info!(
                "receive connector {} listening on {}",
                l.connector,
                l.address
            ),
            Some(e) => tracing::error!("receive connector {}: {e}", l.connector),
        }
    }
    for p in &snap.problems {
        tracing::warn!("{p}");
    }
    let watched = [d.settings(), d.cert_index()];
    let mut last = modified(&watched);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError(e.to_string()))?;
    rt.block_on(async {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
            return;
        };
        let mut tick = tokio::time::interval(Duration::from_secs(2));
        loop {
            tokio::select! {
                _ = term.recv() => break,
                _ = int.recv() => break,
                _ = tick.tick() => {
                    let now = modified(&watched);
                    if now != last {
                        last = now;
                        match Workspace::open(&d) {
                            Ok(ws) => {
                                tracing::info!("settings changed on disk: applying them to new sessions");
                                handle.apply(ws);
                            }
                            Err(e) => tracing::error!("settings changed on disk but cannot be used: {e}; the relay keeps the previous settings"),
                        }
                    }
                    for ev in handle.poll_events() {
                        if let engine::EngineEvent::SettingsApplied { problems } = ev {
                            for p in problems {
                                tracing::warn!("{p}");
                            }
                        }
                    }
                }
            }
        }
    });
    tracing::info!("stopping: in-flight messages finish, new ones get 421");
    handle.stop();
    tracing::info!("stopped");
    Ok(())
}

/// `mailflow probe HOST:PORT --domain D [--client-cert THUMBPRINT]`.
pub fn run_probe(
    dir: &Option<PathBuf>,
    target: &Option<String>,
    domain: &str,
    client_cert: &Option<String>,
) -> CliResult {
    let ws = Workspace::open(&data_dir(dir))?;
    if target.is_none() && client_cert.is_none() {
        // Where the domain's mail goes: every MX host (or smart host), best first.
        let reports =
            engine::probe_each_host_now(&ws, domain).map_err(|e| CliError(e.to_string()))?;
        let count = reports.len();
        let mut failed = None;
        for (i, r) in reports.iter().enumerate() {
            if count > 1 {
                println!("=== Host {} of {count}: {}\n", i + 1, r.target);
            }
            if let Err(e) = print_probe(r) {
                println!("Error           {}\n", e.0);
                failed.get_or_insert(e);
            }
        }
        // One host that cannot be probed is said; all of them failing is an error.
        return match failed {
            Some(e) if reports.iter().all(|r| r.error.is_some()) => Err(e),
            _ => Ok(()),
        };
    }
    let r = engine::probe_now(&ws, target.as_deref(), domain, client_cert.as_deref())
        .map_err(|e| CliError(e.to_string()))?;
    print_probe(&r)
}

/// One probe's findings, as `mailflow probe` prints them.
fn print_probe(r: &engine::probe::ProbeReport) -> CliResult {
    println!("Target          {}", r.target);
    if let Some(b) = &r.banner {
        println!("Banner          {b}");
    }
    if !r.capabilities.is_empty() {
        println!("Capabilities    {}", r.capabilities.join(", "));
    }
    println!(
        "STARTTLS        {}",
        if r.starttls_offered {
            "offered"
        } else {
            "not offered"
        }
    );
    if let Some(t) = &r.tls {
        println!(
            "TLS             {} with cipher {} ({} bits{})",
            t.version,
            t.cipher,
            t.cipher_bits,
            t.key_exchange
                .as_ref()
                .map(|k| format!(", key exchange {k}"))
                .unwrap_or_default()
        );
        println!(
            "Trust           {}{}",
            t.trust,
            t.trust_detail
                .as_ref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default()
        );
    }
    if let Some(route) = &r.route {
        println!("Found by        {route}");
    }
    if let Some(dane) = &r.dane {
        println!("DANE            {dane}");
    }
    if let Some(sts) = &r.mta_sts {
        println!("MTA-STS         {sts}");
    }
    println!(
        "Our certificate {}",
        r.client_certificate
            .clone()
            .unwrap_or_else(|| "none".into())
    );
    for (i, c) in r.chain.iter().enumerate() {
        println!("\nCertificate {} of {}", i + 1, r.chain.len());
        println!("  Subject     {}", c.subject);
        println!("  Issuer      {}", c.issuer);
        println!("  Thumbprint  {}", c.thumbprint);
        println!("  NotAfter    {}", c.not_after);
        println!("  Names       {}", c.names.join(", "));
        for f in &c.findings {
            println!("  {f}");
        }
    }
    if let Some(e) = &r.error {
        return Err(CliError(e.clone()));
    }
    println!("\nPolicy verdicts for {}:", r.domain);
    for v in &r.verdicts {
        println!(
            "  [{}] {:<40} {}",
            if v.pass { "PASS" } else { "FAIL" },
            v.policy,
            v.reason
        );
    }
    Ok(())
}
