//! The server side of an SMTP session as a sans-I/O state machine: bytes in, actions out
//! (replies to write, STARTTLS to perform, a message to queue, close). Decisions about senders
//! and recipients are asked of a [`SessionPolicy`]; queueing is done by the caller, which then
//! reports back with [`Server::message_queued`]. Protocol hygiene lives here: command lines up
//! to 512 octets, strict end of DATA, nothing after STARTTLS is processed by this machine
//! until the caller has upgraded (the caller must drop what it had buffered), and all session
//! state is reset after STARTTLS (RFC 3207 §4.2).

use super::address::{Mailbox, ReversePath};
use super::command::{self, Command, CommandError, MAX_COMMAND_LINE, MailParams, Recipient};
use super::data::{DataReceiver, normalize_line_endings};
use super::dsn_request::{DsnRequest, RecipientDsn};
use super::printable::has_control_bytes;
use super::replies;
use super::reply::Reply;
use super::sasl::{self, Credentials};
use std::collections::BTreeMap;

/// How one session behaves (from the receive connector and the certificate store).
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Our name in replies.
    pub hostname: String,
    /// The greeting line without its CRLF, starting with `220`.
    pub banner: String,
    /// The peer's address as shown in `Hello [ip]`.
    pub peer_ip: String,
    /// STARTTLS is offered.
    pub starttls: bool,
    /// Mail is accepted only after STARTTLS.
    pub require_tls: bool,
    pub max_message_size: u64,
    pub max_recipients: usize,
    /// Protocol errors allowed before `421` and close.
    pub max_errors: u32,
    /// Domain for plain `RCPT TO:<postmaster>`.
    pub postmaster_domain: String,
    /// Whether AUTH (PLAIN, LOGIN) is offered.
    pub auth: AuthOffer,
}

/// When a connector offers SMTP AUTH (its BasicAuth / BasicAuthRequireTls mechanisms).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AuthOffer {
    /// No AUTH: the command is answered `504 5.7.4`.
    #[default]
    None,
    /// AUTH with or without TLS.
    Basic,
    /// AUTH only inside TLS; before STARTTLS it is not advertised and refused with `538`.
    BasicAfterTls,
}

/// What the session knows, for the policy.
#[derive(Clone, Debug, Default)]
pub struct SessionInfo {
    pub helo: Option<String>,
    pub esmtp: bool,
    pub tls: bool,
    pub sender: Option<ReversePath>,
    pub recipients: usize,
    /// The user that authenticated with AUTH in this session.
    pub authenticated: Option<String>,
}

/// Decisions the session asks of the relay's policy (pure functions of the session's facts).
pub trait SessionPolicy {
    /// MAIL FROM: `Ok` to accept (`250 2.1.0`), or the rejection reply.
    fn mail_from(
        &mut self,
        session: &SessionInfo,
        from: &ReversePath,
        params: &MailParams,
    ) -> Result<(), Reply>;
    /// RCPT TO: `Ok` to accept (`250 2.1.5`), or the rejection reply.
    fn rcpt_to(&mut self, session: &SessionInfo, to: &Mailbox) -> Result<(), Reply>;
}

/// A message whose DATA (or last BDAT) is complete.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcceptedMessage {
    pub helo: String,
    pub sender: ReversePath,
    pub recipients: Vec<Mailbox>,
    pub params: MailParams,
    /// What the sender asked of delivery status notifications (RFC 3461).
    pub dsn: DsnRequest,
    /// CRLF line endings, dots unstuffed.
    pub body: Vec<u8>,
    pub bare_line_endings: usize,
    pub chunked: bool,
}

/// What the caller must do, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// A command line as received (AUTH arguments hidden), for the protocol log.
    Command(String),
    Reply(Reply),
    /// Write the replies so far, discard any input already buffered (STARTTLS injection,
    /// CVE-2011-0411), do the TLS handshake, then call [`Server::tls_established`].
    StartTls,
    /// Queue the message durably, then call [`Server::message_queued`] and write its reply.
    Message(Box<AcceptedMessage>),
    /// Check these credentials (off the protocol thread: password hashing is slow on purpose),
    /// then call [`Server::auth_result`].
    Authenticate(Credentials),
    /// Write the replies so far and close the connection.
    Close,
}

/// Where an AUTH exchange stands while the client answers `334` challenges.
#[derive(Debug)]
enum AuthStep {
    PlainResponse,
    LoginUser,
    LoginPassword { user: String },
}

#[derive(Debug)]
enum Phase {
    Command,
    Data(DataReceiver),
    Bdat {
        remaining: u64,
        last: bool,
        discard: bool,
    },
    Auth(AuthStep),
    WaitTls,
    WaitQueue,
    WaitAuth,
    Closed,
}

#[derive(Debug, Default)]
struct Transaction {
    sender: Option<ReversePath>,
    params: MailParams,
    recipients: Vec<Mailbox>,
    /// `NOTIFY`/`ORCPT` of the recipients that gave them, by address.
    recipient_dsn: BTreeMap<String, RecipientDsn>,
    chunks: Vec<u8>,
    chunked: bool,
    chunk_size: u64,
}

/// The state machine of one inbound session.
#[derive(Debug)]
pub struct Server {
    cfg: ServerConfig,
    phase: Phase,
    helo: Option<String>,
    esmtp: bool,
    tls: bool,
    tx: Transaction,
    authenticated: Option<String>,
    errors: u32,
    /// Discarding the rest of an over-long command line.
    overlong: bool,
    line: Vec<u8>,
}

impl Server {
    pub fn new(cfg: ServerConfig) -> Server {
        Server {
            cfg,
            phase: Phase::Command,
            helo: None,
            esmtp: false,
            tls: false,
            tx: Transaction::default(),
            authenticated: None,
            errors: 0,
            overlong: false,
            line: Vec::new(),
        }
    }

    /// The `220` greeting.
    pub fn greeting(&self) -> Reply {
        let text = self
            .cfg
            .banner
            .strip_prefix("220")
            .unwrap_or(&self.cfg.banner)
            .trim_start();
        Reply::plain(220, text)
    }

    pub fn info(&self) -> SessionInfo {
        SessionInfo {
            helo: self.helo.clone(),
            esmtp: self.esmtp,
            tls: self.tls,
            sender: self.tx.sender.clone(),
            recipients: self.tx.recipients.len(),
            authenticated: self.authenticated.clone(),
        }
    }

    pub fn is_closed(&self) -> bool {
        matches!(self.phase, Phase::Closed)
    }

    /// True while message content (DATA or BDAT) is being read.
    pub fn in_message(&self) -> bool {
        matches!(self.phase, Phase::Data(_) | Phase::Bdat { .. })
    }

    pub fn errors(&self) -> u32 {
        self.errors
    }

    /// After the TLS handshake: forget everything (RFC 3207 §4.2); the client must EHLO again.
    pub fn tls_established(&mut self) {
        self.tls = true;
        self.helo = None;
        self.esmtp = false;
        self.authenticated = None;
        self.tx = Transaction::default();
        self.line.clear();
        self.overlong = false;
        self.phase = Phase::Command;
    }

    /// After the credentials of [`Action::Authenticate`] were checked: `Some(user)` when they
    /// hold (`235`), `None` when not (`535`, counted as an error like any other).
    pub fn auth_result(&mut self, user: Option<String>, out: &mut Vec<Action>) {
        self.phase = Phase::Command;
        match user {
            Some(u) => {
                self.authenticated = Some(u);
                Self::ok(out, replies::AUTH_SUCCEEDED.reply());
            }
            None => self.fail(out, replies::AUTH_CREDENTIALS_INVALID.reply()),
        }
    }

    /// When the accounts cannot be read: `454 4.7.0`, the client may try again later (not
    /// counted as the client's error).
    pub fn auth_unavailable(&mut self, out: &mut Vec<Action>) {
        self.phase = Phase::Command;
        Self::ok(out, replies::AUTH_TEMPORARY_FAILURE.reply());
    }

    /// After queueing: the reply to the end of DATA (or last BDAT).
    pub fn message_queued(&mut self, result: Result<String, Reply>) -> Reply {
        self.tx = Transaction::default();
        self.phase = Phase::Command;
        match result {
            Ok(id) => replies::queued(&id),
            Err(reply) => reply,
        }
    }

    /// Consumes bytes and appends the resulting actions. Returns how many bytes were used;
    /// the rest must be offered again with more input (or, after `StartTls`, discarded).
    pub fn feed(
        &mut self,
        input: &[u8],
        policy: &mut dyn SessionPolicy,
        out: &mut Vec<Action>,
    ) -> usize {
        let mut used = 0;
        while used < input.len() {
            match &mut self.phase {
                Phase::WaitTls | Phase::WaitQueue | Phase::WaitAuth | Phase::Closed => break,
                Phase::Data(rx) => {
                    let (n, done) = rx.feed(&input[used..]);
                    used += n;
                    match done {
                        Some(outcome) => {
                            if outcome.too_big {
                                self.reset_transaction();
                                self.fail(out, replies::MESSAGE_TOO_BIG.reply());
                            } else if outcome.line_too_long {
                                self.reset_transaction();
                                self.fail(out, replies::MESSAGE_LINE_TOO_LONG.reply());
                            } else {
                                let msg = self.take_message(
                                    outcome.body,
                                    outcome.bare_line_endings,
                                    false,
                                );
                                out.push(Action::Message(Box::new(msg)));
                                self.phase = Phase::WaitQueue;
                            }
                        }
                        None => break, // need more input
                    }
                }
                Phase::Bdat {
                    remaining,
                    last,
                    discard,
                } => {
                    let take = (*remaining).min((input.len() - used) as u64) as usize;
                    let (last, discard) = (*last, *discard);
                    if !discard {
                        self.tx.chunk_size += take as u64;
                        if self.tx.chunk_size <= self.cfg.max_message_size {
                            self.tx.chunks.extend_from_slice(&input[used..used + take]);
                        }
                    }
                    used += take;
                    if let Phase::Bdat { remaining, .. } = &mut self.phase {
                        *remaining -= take as u64;
                        if *remaining > 0 {
                            break;
                        }
                    }
                    self.phase = Phase::Command;
                    self.chunk_done(last, discard, out);
                }
                Phase::Command | Phase::Auth(_) => {
                    let rest = &input[used..];
                    match rest.iter().position(|b| *b == b'\n') {
                        None => {
                            if self.overlong || self.line.len() + rest.len() > MAX_COMMAND_LINE {
                                self.overlong = true;
                                self.line.clear();
                            } else {
                                self.line.extend_from_slice(rest);
                            }
                            used = input.len();
                        }
                        Some(pos) => {
                            let too_long =
                                self.overlong || self.line.len() + pos + 1 > MAX_COMMAND_LINE;
                            self.line.extend_from_slice(&rest[..pos]);
                            used += pos + 1;
                            let mut line = std::mem::take(&mut self.line);
                            self.overlong = false;
                            if line.last() == Some(&b'\r') {
                                line.pop();
                            }
                            if too_long {
                                if matches!(self.phase, Phase::Auth(_)) {
                                    self.phase = Phase::Command;
                                }
                                self.fail(out, replies::COMMAND_LINE_TOO_LONG.reply());
                            } else if let Phase::Auth(_) = self.phase {
                                self.auth_response(&line, out);
                            } else {
                                self.command(&line, policy, out);
                            }
                        }
                    }
                }
            }
            if matches!(
                self.phase,
                Phase::WaitTls | Phase::WaitQueue | Phase::WaitAuth | Phase::Closed
            ) {
                break;
            }
        }
        used
    }

    /// Back to the command phase with an empty transaction. Call it before [`Self::fail`],
    /// which may close the session: `fail` is the last word on the phase.
    fn reset_transaction(&mut self) {
        self.tx = Transaction::default();
        self.phase = Phase::Command;
    }

    /// An error reply; too many of them close the session.
    fn fail(&mut self, out: &mut Vec<Action>, reply: Reply) {
        self.errors += 1;
        out.push(Action::Reply(reply));
        if self.errors >= self.cfg.max_errors {
            out.push(Action::Reply(replies::TOO_MANY_ERRORS.reply()));
            out.push(Action::Close);
            self.phase = Phase::Closed;
        }
    }

    fn ok(out: &mut Vec<Action>, reply: Reply) {
        out.push(Action::Reply(reply));
    }

    fn command(&mut self, line: &[u8], policy: &mut dyn SessionPolicy, out: &mut Vec<Action>) {
        if has_control_bytes(line) {
            // A bare CR or NUL inside a command would travel on into a Received: field or a
            // log line: refused before anything reads the command.
            // (Not logged as sent: it may be an AUTH line.)
            out.push(Action::Command(
                "(a command with control characters)".into(),
            ));
            return self.fail(out, replies::CONTROL_CHARACTERS.reply());
        }
        let text = String::from_utf8_lossy(line);
        let logged = if text.trim_start().to_ascii_uppercase().starts_with("AUTH ") {
            format!(
                "AUTH {} <redacted>",
                text.split_whitespace().nth(1).unwrap_or("")
            )
        } else {
            text.to_string()
        };
        out.push(Action::Command(logged));
        let cmd = match command::parse(&text) {
            Ok(c) => c,
            Err(e) => {
                let reply = match e {
                    CommandError::Unrecognized(v) => replies::unrecognized_command(&v),
                    CommandError::Syntax(why) => replies::syntax_error(&why),
                    CommandError::BadAddress { sender: true, why } => {
                        replies::bad_sender_address(&why)
                    }
                    CommandError::BadAddress { sender: false, why } => {
                        replies::bad_recipient_address(&why)
                    }
                    CommandError::BadParameter(why) => replies::parameter_not_recognized(&why),
                };
                self.fail(out, reply);
                return;
            }
        };
        match cmd {
            Command::Helo(name) => {
                self.helo = Some(name);
                self.esmtp = false;
                self.tx = Transaction::default();
                Self::ok(
                    out,
                    Reply::plain(
                        250,
                        format!("{} Hello [{}]", self.cfg.hostname, self.cfg.peer_ip),
                    ),
                );
            }
            Command::Ehlo(name) => {
                self.helo = Some(name);
                self.esmtp = true;
                self.tx = Transaction::default();
                let mut lines = vec![
                    format!("{} Hello [{}]", self.cfg.hostname, self.cfg.peer_ip),
                    format!("SIZE {}", self.cfg.max_message_size),
                    "PIPELINING".to_string(),
                    "ENHANCEDSTATUSCODES".to_string(),
                ];
                if self.cfg.starttls && !self.tls {
                    lines.push("STARTTLS".into());
                }
                if self.auth_allowed() {
                    lines.push(format!("AUTH {}", sasl::MECHANISMS));
                }
                lines.extend(["8BITMIME", "CHUNKING", "SMTPUTF8", "DSN"].map(String::from));
                if self.tls {
                    // RFC 8689 §4: offered only over TLS.
                    lines.push("REQUIRETLS".into());
                }
                Self::ok(out, Reply::multi(250, lines));
            }
            Command::Mail { from, params } => {
                if self.helo.is_none() {
                    return self.fail(out, replies::SEND_HELO_FIRST.reply());
                }
                if self.cfg.require_tls && !self.tls {
                    return self.fail(out, replies::STARTTLS_FIRST.reply());
                }
                if self.tx.sender.is_some() {
                    return self.fail(out, replies::SENDER_ALREADY_SPECIFIED.reply());
                }
                if params.size.is_some_and(|s| s > self.cfg.max_message_size) {
                    return self.fail(out, replies::MESSAGE_TOO_BIG.reply());
                }
                if params.require_tls && !self.tls {
                    return self.fail(out, replies::REQUIRETLS_NEEDS_TLS.reply());
                }
                match policy.mail_from(&self.info(), &from, &params) {
                    Ok(()) => {
                        self.tx.sender = Some(from);
                        self.tx.params = params;
                        Self::ok(out, replies::SENDER_OK.reply());
                    }
                    Err(reply) => self.fail(out, reply),
                }
            }
            Command::Rcpt { to, dsn } => {
                if self.tx.sender.is_none() {
                    return self.fail(out, replies::NEED_MAIL.reply());
                }
                if self.tx.recipients.len() >= self.cfg.max_recipients {
                    // RFC 5321 §4.5.3.1.10: the recipient limit MUST be answered with 452.
                    return self.fail(out, replies::TOO_MANY_RECIPIENTS.reply());
                }
                let mb = match to {
                    Recipient::Postmaster => Mailbox {
                        local: "postmaster".into(),
                        domain: self.cfg.postmaster_domain.clone(),
                    },
                    Recipient::Mailbox(m) => m,
                };
                match policy.rcpt_to(&self.info(), &mb) {
                    Ok(()) => {
                        if !self.tx.recipients.contains(&mb) {
                            if !dsn.is_empty() {
                                self.tx.recipient_dsn.insert(mb.to_string(), dsn);
                            }
                            self.tx.recipients.push(mb);
                        }
                        Self::ok(out, replies::RECIPIENT_OK.reply());
                    }
                    Err(reply) => self.fail(out, reply),
                }
            }
            Command::Data => {
                if self.tx.sender.is_none() {
                    return self.fail(out, replies::NEED_MAIL.reply());
                }
                if self.tx.recipients.is_empty() {
                    return self.fail(out, replies::NO_VALID_RECIPIENTS.reply());
                }
                if self.tx.chunked {
                    return self.fail(out, replies::DATA_AFTER_BDAT.reply());
                }
                Self::ok(out, Reply::plain(354, replies::START_MAIL_INPUT));
                self.phase = Phase::Data(DataReceiver::new(self.cfg.max_message_size));
            }
            Command::Bdat { size, last } => {
                let discard = self.tx.sender.is_none() || self.tx.recipients.is_empty();
                if !discard {
                    self.tx.chunked = true;
                }
                if size == 0 {
                    self.chunk_done(last, discard, out);
                } else {
                    self.phase = Phase::Bdat {
                        remaining: size,
                        last,
                        discard,
                    };
                }
            }
            Command::Rset => {
                self.tx = Transaction::default();
                Self::ok(out, replies::RESETTING.reply());
            }
            Command::Noop => Self::ok(out, replies::OK.reply()),
            Command::Quit => {
                Self::ok(out, replies::SERVICE_CLOSING.reply());
                out.push(Action::Close);
                self.phase = Phase::Closed;
            }
            Command::Vrfy(_) => Self::ok(out, replies::CANNOT_VRFY.reply()),
            Command::Expn(_) => self.fail(out, replies::EXPN_NOT_IMPLEMENTED.reply()),
            Command::Help => Self::ok(out, replies::help()),
            Command::StartTls { has_argument } => {
                if !self.cfg.starttls {
                    return self.fail(out, replies::STARTTLS_NOT_OFFERED.reply());
                }
                if self.tls {
                    return self.fail(out, replies::TLS_ALREADY_ACTIVE.reply());
                }
                if has_argument {
                    return self.fail(out, replies::STARTTLS_TAKES_NO_ARGUMENTS.reply());
                }
                Self::ok(out, replies::READY_TO_START_TLS.reply());
                out.push(Action::StartTls);
                self.phase = Phase::WaitTls;
            }
            Command::Auth { mechanism, initial } => self.auth(&mechanism, initial, out),
        }
    }

    /// AUTH is offered in the session's present state.
    fn auth_allowed(&self) -> bool {
        match self.cfg.auth {
            AuthOffer::None => false,
            AuthOffer::Basic => true,
            AuthOffer::BasicAfterTls => self.tls,
        }
    }

    fn auth(&mut self, mechanism: &str, initial: Option<String>, out: &mut Vec<Action>) {
        if self.cfg.auth == AuthOffer::None {
            return self.fail(out, replies::AUTH_NOT_OFFERED.reply());
        }
        if !self.auth_allowed() {
            return self.fail(out, replies::AUTH_NEEDS_TLS.reply());
        }
        if !self.esmtp {
            return self.fail(out, replies::AUTH_NEEDS_EHLO.reply());
        }
        if self.authenticated.is_some() {
            return self.fail(out, replies::ALREADY_AUTHENTICATED.reply());
        }
        if self.tx.sender.is_some() {
            return self.fail(out, replies::AUTH_IN_TRANSACTION.reply());
        }
        match (mechanism, initial) {
            ("PLAIN", None) => {
                Self::ok(out, Reply::plain(334, ""));
                self.phase = Phase::Auth(AuthStep::PlainResponse);
            }
            ("PLAIN", Some(resp)) => self.credentials(sasl::decode_plain(&resp), out),
            ("LOGIN", None) => {
                Self::ok(out, Reply::plain(334, sasl::LOGIN_USER_PROMPT));
                self.phase = Phase::Auth(AuthStep::LoginUser);
            }
            ("LOGIN", Some(resp)) => match sasl::decode_text(&resp) {
                Ok(user) => {
                    Self::ok(out, Reply::plain(334, sasl::LOGIN_PASSWORD_PROMPT));
                    self.phase = Phase::Auth(AuthStep::LoginPassword {
                        user: user.to_string(),
                    });
                }
                Err(e) => self.fail(out, replies::auth_bad_response(e.0)),
            },
            _ => self.fail(out, replies::AUTH_UNKNOWN_MECHANISM.reply()),
        }
    }

    /// A response line to a `334` challenge.
    fn auth_response(&mut self, line: &[u8], out: &mut Vec<Action>) {
        out.push(Action::Command("<redacted>".into()));
        let Phase::Auth(step) = std::mem::replace(&mut self.phase, Phase::Command) else {
            return;
        };
        let text = String::from_utf8_lossy(line);
        if text.trim() == "*" {
            return self.fail(out, replies::AUTH_CANCELLED.reply());
        }
        match step {
            AuthStep::PlainResponse => self.credentials(sasl::decode_plain(&text), out),
            AuthStep::LoginUser => match sasl::decode_text(&text) {
                Ok(user) => {
                    Self::ok(out, Reply::plain(334, sasl::LOGIN_PASSWORD_PROMPT));
                    self.phase = Phase::Auth(AuthStep::LoginPassword {
                        user: user.to_string(),
                    });
                }
                Err(e) => self.fail(out, replies::auth_bad_response(e.0)),
            },
            AuthStep::LoginPassword { user } => match sasl::decode_text(&text) {
                Ok(password) => self.credentials(Ok(Credentials { user, password }), out),
                Err(e) => self.fail(out, replies::auth_bad_response(e.0)),
            },
        }
    }

    fn credentials(
        &mut self,
        decoded: Result<Credentials, sasl::SaslError>,
        out: &mut Vec<Action>,
    ) {
        match decoded {
            Ok(c) if c.user.is_empty() => self.fail(out, replies::AUTH_EMPTY_USER.reply()),
            Ok(c) => {
                out.push(Action::Authenticate(c));
                self.phase = Phase::WaitAuth;
            }
            Err(e) => self.fail(out, replies::auth_bad_response(e.0)),
        }
    }

    fn chunk_done(&mut self, last: bool, discard: bool, out: &mut Vec<Action>) {
        if discard {
            let reply = if self.tx.sender.is_none() {
                replies::NEED_MAIL
            } else {
                replies::NO_VALID_RECIPIENTS_FOR_BDAT
            };
            return self.fail(out, reply.reply());
        }
        if !last {
            let n = self.tx.chunk_size;
            return Self::ok(out, replies::chunk_received(n));
        }
        if self.tx.chunk_size > self.cfg.max_message_size {
            self.reset_transaction();
            return self.fail(out, replies::MESSAGE_TOO_BIG.reply());
        }
        let (body, bare) = normalize_line_endings(&self.tx.chunks);
        let msg = self.take_message(body, bare, true);
        out.push(Action::Message(Box::new(msg)));
        self.phase = Phase::WaitQueue;
    }
}

impl Server {
    /// The complete message of the transaction (which is taken, leaving it empty).
    fn take_message(
        &mut self,
        body: Vec<u8>,
        bare_line_endings: usize,
        chunked: bool,
    ) -> AcceptedMessage {
        let params = std::mem::take(&mut self.tx.params);
        let dsn = DsnRequest {
            ret: params.ret,
            envid: params.envid.clone(),
            recipients: std::mem::take(&mut self.tx.recipient_dsn),
        };
        AcceptedMessage {
            helo: self.helo.clone().unwrap_or_default(),
            sender: self.tx.sender.clone().unwrap_or(ReversePath::Null),
            recipients: std::mem::take(&mut self.tx.recipients),
            params,
            dsn,
            body,
            bare_line_endings,
            chunked,
        }
    }
}

#[cfg(test)]
#[path = "server_tests.rs"]
mod tests;
