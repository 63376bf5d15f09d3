//! Every reply the relay writes or records, by name, in one table an auditor can read against
//! the RFCs and Exchange's Domain Security codes: the basic code (RFC 5321 §4.2), the enhanced
//! status code (RFC 3463, RFC 5248 registry) and the text. Each row names its source. A text
//! with a variable part is a template with `{}` placeholders, filled only by the constructor
//! function below the table (so a caller cannot send a half-filled template); the other rows
//! are used directly with [`NamedReply::reply`].
//!
//! Sources: RFC 5321 (SMTP), RFC 1870 (SIZE), RFC 3030 (CHUNKING/BDAT), RFC 3207 (STARTTLS),
//! RFC 3463 (enhanced status codes), RFC 4954 (AUTH), RFC 6531 (SMTPUTF8), and Exchange 2007
//! Domain Security (the receive-side decision table, see policy::inbound).

use super::reply::Reply;

/// One row of the table: basic code, enhanced status code, text (or text template).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NamedReply {
    pub code: u16,
    pub enhanced: (u8, u16, u16),
    pub text: &'static str,
}

impl NamedReply {
    /// The reply as written on the wire. Only for rows without a placeholder.
    pub fn reply(self) -> Reply {
        debug_assert!(!self.text.contains("{}"), "{} is a template", self.text);
        Reply::new(self.code, self.enhanced, self.text)
    }

    /// The reply with each `{}` of the template replaced by the next of `parts`, in order.
    fn fill(self, parts: &[&str]) -> Reply {
        debug_assert_eq!(
            self.text.matches("{}").count(),
            parts.len(),
            "{}",
            self.text
        );
        let mut text = String::new();
        for (i, piece) in self.text.split("{}").enumerate() {
            if i > 0 {
                text.push_str(parts.get(i - 1).copied().unwrap_or(""));
            }
            text.push_str(piece);
        }
        Reply::new(self.code, self.enhanced, text)
    }
}

/// Declares the rows as constants and [`TABLE`] as the list of all of them.
macro_rules! replies {
    ($( $(#[$doc:meta])* $vis:vis $name:ident = $code:literal ($a:literal, $b:literal, $c:literal) $text:literal; )*) => {
        $( $(#[$doc])* $vis const $name: NamedReply = NamedReply { code: $code, enhanced: ($a, $b, $c), text: $text }; )*
        /// Every row, by name: for the table's own tests and for anyone listing what the
        /// relay can answer.
        pub const TABLE: &[(&str, NamedReply)] = &[$((stringify!($name), $name)),*];
    };
}

replies! {
    // ----- Session: RFC 5321 §4.2.2 (codes by function), RFC 3463 §3 (enhanced codes) -----

    /// QUIT (RFC 5321 §4.1.1.10, §4.2.2 "221 Service closing transmission channel"); X.0.0.
    pub SERVICE_CLOSING = 221 (2, 0, 0) "Service closing transmission channel";
    /// RSET (RFC 5321 §4.1.1.5: 250 OK); X.0.0.
    pub RESETTING = 250 (2, 0, 0) "Resetting";
    /// NOOP (RFC 5321 §4.1.1.9: 250 OK); X.0.0.
    pub OK = 250 (2, 0, 0) "OK";
    /// VRFY is not answered (RFC 5321 §4.2.2 gives this 252 text, see §3.5.3 and §7.3); X.1.5
    /// "destination address valid".
    pub CANNOT_VRFY = 252 (2, 1, 5) "Cannot VRFY user, but will accept message and attempt delivery";
    /// HELP, first line (RFC 5321 §4.1.1.8, 214 help message); X.0.0. Built by [`help`].
    HELP = 214 (2, 0, 0) "Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH";
    /// EXPN refused (RFC 5321 §4.2.2 "502 Command not implemented", §7.3); X.3.3 "system not
    /// capable of selected features".
    pub EXPN_NOT_IMPLEMENTED = 502 (5, 3, 3) "Command not implemented";
    /// An unknown verb (RFC 5321 §4.2.2 "500 Syntax error, command unrecognized"); X.3.3 (RFC 3463
    /// would also allow X.5.1 "invalid command"; kept as sent since the first release).
    UNRECOGNIZED_COMMAND = 500 (5, 3, 3) "Unrecognized command '{}'";
    /// A command's arguments do not parse (RFC 5321 §4.2.2 "501 Syntax error in parameters or
    /// arguments"); X.5.4 "invalid command arguments". Text: what is wrong.
    SYNTAX_ERROR = 501 (5, 5, 4) "{}";
    /// MAIL FROM address unparsable (RFC 5321 501); X.1.7 "bad sender's mailbox address syntax".
    BAD_SENDER_ADDRESS = 501 (5, 1, 7) "{}";
    /// RCPT TO address unparsable (RFC 5321 501); X.1.3 "bad destination mailbox address syntax".
    BAD_RECIPIENT_ADDRESS = 501 (5, 1, 3) "{}";
    /// An unknown MAIL/RCPT parameter (RFC 5321 §4.2.2 "555 MAIL FROM/RCPT TO parameters not
    /// recognized or not implemented"); X.5.4.
    PARAMETER_NOT_RECOGNIZED = 555 (5, 5, 4) "{}";
    /// A CR, NUL or other control byte inside a command line (RFC 5321 §2.3.8 lines end only in
    /// CRLF; 501); X.5.2 "syntax error".
    pub CONTROL_CHARACTERS = 501 (5, 5, 2) "Syntax error: control characters are not allowed in commands";
    /// A command line over 512 octets (RFC 5321 §4.5.3.1.4; §4.2.2: 500 covers "command line
    /// too long"); X.5.2.
    pub COMMAND_LINE_TOO_LONG = 500 (5, 5, 2) "Line too long";
    /// A message line over 1000 octets (RFC 5321 §4.5.3.1.6; 500 as for a long command line);
    /// X.5.2.
    pub MESSAGE_LINE_TOO_LONG = 500 (5, 5, 2) "Line too long: a message line exceeds 1000 octets";
    /// MAIL before HELO/EHLO (RFC 5321 §4.1.4, "503 Bad sequence of commands"); X.5.1 "invalid
    /// command".
    pub SEND_HELO_FIRST = 503 (5, 5, 1) "Send HELO/EHLO first";
    /// RCPT, DATA or BDAT before MAIL (RFC 5321 §4.1.4, 503); X.5.1.
    pub NEED_MAIL = 503 (5, 5, 1) "Need MAIL command";
    /// A second MAIL in one transaction (RFC 5321 §4.1.4, 503); X.5.1.
    pub SENDER_ALREADY_SPECIFIED = 503 (5, 5, 1) "Sender already specified";
    /// DATA without an accepted recipient (RFC 5321 §3.3: "554 No valid recipients"); X.5.1.
    pub NO_VALID_RECIPIENTS = 554 (5, 5, 1) "No valid recipients";
    /// BDAT without an accepted recipient (RFC 3030 §2: the chunk is still read, then refused;
    /// RFC 5321 §3.3 allows 503 here); X.5.1.
    pub NO_VALID_RECIPIENTS_FOR_BDAT = 503 (5, 5, 1) "No valid recipients";
    /// DATA inside a BDAT transaction (RFC 3030 §2: DATA and BDAT do not mix in one
    /// transaction; 503 bad sequence); X.5.1.
    pub DATA_AFTER_BDAT = 503 (5, 5, 1) "DATA cannot follow BDAT";
    /// The recipient limit (RFC 5321 §4.5.3.1.10: MUST be 452; 4.5.3 "too many recipients").
    pub TOO_MANY_RECIPIENTS = 452 (4, 5, 3) "Too many recipients";
    /// Declared or actual size over the connector's limit (RFC 1870 §6.1: "552 message size
    /// exceeds fixed maximum message size"); X.3.4 "message too big for system".
    pub MESSAGE_TOO_BIG = 552 (5, 3, 4) "Message size exceeds fixed maximum message size";
    /// MAIL accepted (RFC 5321 §4.2.2 250; Exchange's text); X.1.0 "other address status".
    pub SENDER_OK = 250 (2, 1, 0) "Sender OK";
    /// RCPT accepted (RFC 5321 §4.2.2 250; Exchange's text); X.1.5 "destination address valid".
    pub RECIPIENT_OK = 250 (2, 1, 5) "Recipient OK";
    /// A BDAT chunk that is not the last, received (RFC 3030 §2: 250; the octet count as in
    /// RFC 3030's examples); X.0.0.
    CHUNK_RECEIVED = 250 (2, 0, 0) "{} octets received";
    /// End of DATA / last BDAT: the message is fsynced in the queue (RFC 5321 §4.1.1.4 250;
    /// Exchange's text with the message id); X.6.0 "other or undefined media error" (Exchange's
    /// choice for success).
    QUEUED = 250 (2, 6, 0) "<{}> Queued mail for delivery";
    /// The message could not be stored (RFC 5321 §4.2.2 "451 Requested action aborted: local
    /// error in processing"); X.3.0 "other or undefined mail system status".
    pub NOT_STORED = 451 (4, 3, 0) "Temporary failure: the message could not be stored; try again later";
    /// No random bytes for a message id (451 local error); X.3.0.
    pub NO_RANDOMNESS = 451 (4, 3, 0) "Temporary failure: no randomness";

    // ----- Closing the session: RFC 5321 §3.8 (421 and close) -----

    /// Too many errors (RFC 5321 §4.2.2 421; Postfix's smtpd_hard_error_limit); X.7.0 "other
    /// security status" (an abusive client).
    pub TOO_MANY_ERRORS = 421 (4, 7, 0) "Too many errors on this connection, closing transmission channel";
    /// The session reached its longest duration (RFC 5321 §4.5.3.2, 421); X.3.2 "system not
    /// accepting network messages".
    pub SESSION_TOO_LONG = 421 (4, 3, 2) "Connection timed out: the session lasted too long";
    /// No command within the idle timeout (RFC 5321 §4.5.3.2.7, 421); X.3.2.
    pub NO_COMMAND_RECEIVED = 421 (4, 3, 2) "Connection timed out: no command received";
    /// The relay stops (RFC 5321 §3.8 "421 ... Service not available, closing transmission
    /// channel"); X.3.2.
    pub SHUTTING_DOWN = 421 (4, 3, 2) "Service shutting down, closing transmission channel";
    /// No receive connector's bindings and remote ranges take this client (Exchange: a
    /// connection no connector accepts is refused; 421); X.3.2.
    NO_RECEIVE_CONNECTOR = 421 (4, 3, 2) "No receive connector accepts connections from [{}]";
    /// The connector's MaxInboundConnection(PerSource) is reached (Exchange: "421 4.3.2 The
    /// maximum number of concurrent connections has exceeded a limit"); X.3.2.
    pub TOO_MANY_CONNECTIONS = 421 (4, 3, 2) "The maximum number of concurrent connections has been exceeded, closing transmission channel";

    // ----- STARTTLS: RFC 3207 §4 -----

    /// STARTTLS accepted (RFC 3207 §4 "220 Ready to start TLS"); X.0.0.
    pub READY_TO_START_TLS = 220 (2, 0, 0) "SMTP server ready";
    /// STARTTLS on a connector without TLS (RFC 5321 502 not implemented); X.5.1.
    pub STARTTLS_NOT_OFFERED = 502 (5, 5, 1) "STARTTLS is not offered on this connector";
    /// STARTTLS inside TLS (RFC 3207 §4.2: not advertised after TLS; 503); X.5.1.
    pub TLS_ALREADY_ACTIVE = 503 (5, 5, 1) "TLS is already active";
    /// STARTTLS with an argument (RFC 3207 §4 "501 Syntax error (no parameters allowed)");
    /// X.5.4.
    pub STARTTLS_TAKES_NO_ARGUMENTS = 501 (5, 5, 4) "STARTTLS takes no arguments";
    /// Mail before STARTTLS on a connector requiring TLS (RFC 3207 §4 "530 Must issue a
    /// STARTTLS command first"); X.7.0.
    pub STARTTLS_FIRST = 530 (5, 7, 0) "Must issue a STARTTLS command first";
    /// MAIL FROM with REQUIRETLS outside TLS, where it is not offered (RFC 8689 §4; X.7.10
    /// "encryption needed").
    pub REQUIRETLS_NEEDS_TLS = 530 (5, 7, 10) "REQUIRETLS needs TLS: issue STARTTLS first";

    // ----- AUTH: RFC 4954 §4 and §6 -----

    /// Credentials hold (RFC 4954 §6 "235 2.7.0 Authentication Succeeded").
    pub AUTH_SUCCEEDED = 235 (2, 7, 0) "Authentication successful";
    /// Credentials do not hold (RFC 4954 §6 "535 5.7.8 Authentication credentials invalid").
    pub AUTH_CREDENTIALS_INVALID = 535 (5, 7, 8) "Authentication credentials invalid";
    /// The accounts cannot be read now (RFC 4954 §6 "454 4.7.0 Temporary authentication
    /// failure").
    pub AUTH_TEMPORARY_FAILURE = 454 (4, 7, 0) "Temporary authentication failure";
    /// AUTH on a connector that offers none (RFC 4954 §4 "504 Unrecognized authentication
    /// type"); X.7.4 "security features not supported".
    pub AUTH_NOT_OFFERED = 504 (5, 7, 4) "Unrecognized authentication type";
    /// AUTH before STARTTLS where it needs TLS (RFC 4954 §6 "538 5.7.11 Encryption required for
    /// requested authentication mechanism").
    pub AUTH_NEEDS_TLS = 538 (5, 7, 11) "Encryption required for requested authentication mechanism: issue STARTTLS first";
    /// AUTH after HELO (RFC 4954 §3: AUTH is an EHLO extension; 503); X.5.1.
    pub AUTH_NEEDS_EHLO = 503 (5, 5, 1) "Send EHLO first";
    /// A second AUTH (RFC 4954 §4: after a successful AUTH, another is rejected with 503); X.5.1.
    pub ALREADY_AUTHENTICATED = 503 (5, 5, 1) "Already authenticated";
    /// AUTH after MAIL (RFC 4954 §4: AUTH during a mail transaction "MUST be rejected with a
    /// 503 reply"); X.5.1.
    pub AUTH_IN_TRANSACTION = 503 (5, 5, 1) "AUTH is not allowed during a mail transaction";
    /// A mechanism other than PLAIN or LOGIN (RFC 4954 §4 "504 5.5.4 Unrecognized authentication
    /// type").
    pub AUTH_UNKNOWN_MECHANISM = 504 (5, 5, 4) "Unrecognized authentication type: use PLAIN or LOGIN";
    /// The client answered `*` (RFC 4954 §4: the exchange is cancelled with a 501 reply); X.0.0.
    pub AUTH_CANCELLED = 501 (5, 0, 0) "Authentication cancelled";
    /// PLAIN/LOGIN with an empty user name (RFC 4954 §4 501, RFC 4616 §2); X.5.2.
    pub AUTH_EMPTY_USER = 501 (5, 5, 2) "The user name is empty";
    /// A response that is not valid base64 or text (RFC 4954 §4: a response the server cannot
    /// decode is rejected with 501 and 5.5.2). Text: what is wrong.
    AUTH_BAD_RESPONSE = 501 (5, 5, 2) "{}";

    // ----- Domain Security at MAIL FROM: Exchange 2007 (reference facts §1.4, rows 1-6) -----

    /// Row 1: the sender domain is on the receive list but the connector has Domain Security
    /// off (Exchange: "451 4.7.3 The admin has temporarily disallowed this secure domain").
    pub DOMAIN_SECURE_DISALLOWED = 451 (4, 7, 3) "The admin has temporarily disallowed this secure domain";
    /// Rows 2 and 4: STARTTLS advertised but not used, or TLS without a client certificate
    /// (Exchange: "530 5.7.1 Not authenticated").
    pub DOMAIN_SECURE_NOT_AUTHENTICATED = 530 (5, 7, 1) "Not authenticated";
    /// Row 3: the connector does not advertise STARTTLS (Exchange: "454 4.7.0 Temporary
    /// authentication failure").
    pub DOMAIN_SECURE_NO_STARTTLS = 454 (4, 7, 0) "Temporary authentication failure";
    /// Rows 5 and 6: the certificate does not name the sender domain, or its chain is not valid
    /// (Exchange: "454 4.7.5 Certificate validation failure"; RFC 3463 X.7.5 "cryptographic
    /// failure").
    pub DOMAIN_SECURE_CERTIFICATE_FAILURE = 454 (4, 7, 5) "Certificate validation failure";

    // ----- Who may send and to whom: Exchange permission groups and accepted domains -----

    /// The connector's permission groups do not admit the client (Exchange: "530 5.7.1 Client
    /// was not authenticated").
    pub CLIENT_NOT_AUTHENTICATED = 530 (5, 7, 1) "Client was not authenticated";
    /// A remote recipient without a relay permission (Exchange: "550 5.7.1 Unable to relay").
    pub UNABLE_TO_RELAY = 550 (5, 7, 1) "Unable to relay";
    /// An accepted domain with a recipient list that lacks this mailbox (Exchange: "550 5.1.1
    /// User unknown"; RFC 3463 X.1.1 "bad destination mailbox address").
    USER_UNKNOWN = 550 (5, 1, 1) "User unknown: no mailbox {} here";
    /// No send connector's address space covers the domain (RFC 3463 X.4.4 "unable to route").
    NO_SEND_CONNECTOR = 550 (5, 4, 4) "No send connector covers {}";

    // ----- Recorded for outbound recipients (never sent: the outcome of our own session) -----

    /// The session ended between RCPT and the end of DATA (RFC 5321 451); X.4.0 "other or
    /// undefined network or routing status". Retried.
    pub TRANSACTION_ENDED = 451 (4, 4, 0) "The transaction ended before the message was sent";
    /// The message is bigger than the next hop's SIZE (RFC 1870 §6.1, 552); X.3.4.
    TOO_BIG_FOR_NEXT_HOP = 552 (5, 3, 4) "Message of {} octets exceeds the {} octets {} accepts";
    /// The addresses need SMTPUTF8 and the next hop lacks it (RFC 5321 553 "mailbox name not
    /// allowed"; RFC 6531 registers X.6.7 "non-ASCII addresses not permitted").
    NEXT_HOP_LACKS_SMTPUTF8 = 553 (5, 6, 7) "{} does not support SMTPUTF8, which the addresses need";
    /// A recorded failure whose text is not an SMTP reply (RFC 3463 X.0.0 "other undefined
    /// status"), for its delivery status notification.
    UNPARSED_FAILURE = 550 (5, 0, 0) "{}";

    // ----- Deferrals of our own outbound sessions (recorded, never sent) -----

    /// The next hop did not answer: refused, timed out (RFC 3463 X.4.1 "no answer from host").
    /// Text: what was tried and how it failed.
    NO_ANSWER_FROM_HOST = 451 (4, 4, 1) "{}";
    /// The connection broke or the next hop's replies made no sense (X.4.2 "bad connection").
    BAD_CONNECTION = 451 (4, 4, 2) "{}";
    /// The delivery cannot be routed as configured now: the send connector is gone or has no
    /// smart host (X.4.0 "other or undefined network or routing status").
    ROUTING_DEFERRED = 451 (4, 4, 0) "{}";
    /// The recipient's domain is covered by no enabled send connector (X.4.4 "unable to route").
    NO_ENABLED_SEND_CONNECTOR = 451 (4, 4, 4) "no enabled send connector covers {}: add an address space for it";
    /// TLS is mandatory and the next hop does not offer or refuses STARTTLS (X.7.4 "security
    /// features not supported").
    TLS_NOT_AVAILABLE = 451 (4, 7, 4) "{}";
    /// The TLS negotiation failed or was attacked (X.7.0 "other or undefined security status").
    TLS_FAILED = 451 (4, 7, 0) "{}";
    /// The next hop's certificate does not satisfy the requirement (X.7.5 "cryptographic
    /// failure"; Exchange defers Domain Security certificate failures the same way).
    CERTIFICATE_NOT_ACCEPTED = 451 (4, 7, 5) "{}";
    /// The relay will not send to this domain under the settings of now, e.g. a domain on the
    /// send list whose connector has Domain Security off (Exchange's 4.7.3, as in
    /// DOMAIN_SECURE_DISALLOWED).
    SENDING_DISALLOWED = 451 (4, 7, 3) "{}";
    /// Domain Security needs our client certificate and the send connector has none it can
    /// present (Exchange: "454 4.7.5", transient, so the message waits instead of meeting the
    /// partner's 530 5.7.1).
    NO_CLIENT_CERTIFICATE = 454 (4, 7, 5) "send connector '{}' cannot present a client certificate for Domain Security: {}; enable a certificate with serverAuth and clientAuth for SMTP, with its own key";

    /// The recipient domain publishes a null MX (RFC 7505 §4.2: "556 5.1.10 Recipient address
    /// has null MX").
    NULL_MX = 556 (5, 1, 10) "Recipient address has null MX: {} accepts no mail";
    /// The recipient domain does not exist, or has neither MX nor address (RFC 3463 X.1.2
    /// "bad destination system address").
    NO_SUCH_DOMAIN = 550 (5, 1, 2) "{}";
    /// Every MX host is this server or one it is preferred to (RFC 3463 X.4.6 "routing loop
    /// detected"; Postfix says "mail for … loops back to myself").
    MAIL_LOOPS = 554 (5, 4, 6) "mail for {} loops back to myself: this server is its best MX";
    /// DNS did not answer usefully (RFC 3463 X.4.3 "directory server failure").
    DNS_FAILURE = 451 (4, 4, 3) "{}";
    /// REQUIRETLS (RFC 8689 §4.2.1): the next hop was not found securely (X.7.10 "encryption
    /// needed").
    REQUIRETLS_NOT_FOUND_SECURELY = 550 (5, 7, 10) "Sender requested REQUIRETLS, but {} was not found securely: {}";
    /// REQUIRETLS: the next hop does not offer TLS (X.7.30 "REQUIRETLS support required", as
    /// Postfix words it).
    REQUIRETLS_NO_TLS = 550 (5, 7, 30) "Sender requested REQUIRETLS, but TLS service was not offered by host {}";
    /// REQUIRETLS: the next hop's certificate cannot be authenticated (X.7.10).
    REQUIRETLS_NOT_TRUSTED = 550 (5, 7, 10) "Sender requested REQUIRETLS, but no trusted/matching server certificate was found at host {}: {}";
    /// REQUIRETLS: the next hop does not offer REQUIRETLS inside TLS (X.7.30).
    REQUIRETLS_NOT_OFFERED = 550 (5, 7, 30) "REQUIRETLS support required: host {} does not offer REQUIRETLS";
    /// The recipient domain's MTA-STS policy (enforce) allows none of its MX hosts (RFC 8461
    /// §4.1: such hosts are not used; X.7.5, as a certificate that does not satisfy a policy).
    NO_MX_ALLOWED_BY_MTA_STS = 451 (4, 7, 5) "MTA-STS: the policy of {} (mode enforce, mx {}) allows none of its MX hosts ({}); mail waits until it does";

    // ----- The queue's own outcomes (recorded, never sent) -----

    /// Local delivery wrote the message into the mailbox.
    pub DELIVERED_TO_MAILBOX = 250 (2, 0, 0) "delivered to mailbox";
    /// A message put back from the quarantine by the administrator.
    pub RELEASED_FROM_QUARANTINE = 250 (2, 0, 0) "released from the quarantine by the administrator";
    /// Our own disk or mailbox failed for now (RFC 3463 X.3.0 "other or undefined mail system
    /// status"). Text: what failed; the message stays queued.
    MAIL_SYSTEM_DEFERRED = 451 (4, 3, 0) "{}";
    /// A notice could not be stored: the disk is full or failing (X.3.1 "mail system full").
    NOTICE_NOT_STORED = 452 (4, 3, 1) "the {} could not be stored in the queue ({}); the message stays queued until it is";
    /// A recipient not yet delivered or not attempted in this job (X.4.0).
    pub NOT_DELIVERED_YET = 451 (4, 4, 0) "not delivered yet";
    pub NOT_ATTEMPTED = 451 (4, 4, 0) "not attempted";
    /// The message's expiration timeout passed (X.4.7 "delivery time expired").
    EXPIRED = 550 (5, 4, 7) "{}";
    /// The administrator removed the message with an NDR (X.3.0: a mail system decision).
    pub REMOVED_BY_ADMINISTRATOR = 550 (5, 3, 0) "The message was removed from the queue by the administrator";
    /// A spool file that cannot be read as a message (X.3.0); it is quarantined.
    DAMAGED_IN_SPOOL = 554 (5, 3, 0) "the message is damaged in the spool: {}";
}

/// DATA accepted, go ahead (RFC 5321 §4.2.2 "354 Start mail input; end with <CRLF>.<CRLF>"):
/// an intermediate reply, sent without an enhanced code as it always has been.
pub const START_MAIL_INPUT: &str = "Start mail input; end with <CRLF>.<CRLF>";

/// `214 2.0.0` HELP: the commands, then `End of HELP info`.
pub fn help() -> Reply {
    let mut reply = HELP.reply();
    reply.lines.push("End of HELP info".into());
    reply
}

/// `500 5.3.3 Unrecognized command 'VERB'`.
pub fn unrecognized_command(verb: &str) -> Reply {
    UNRECOGNIZED_COMMAND.fill(&[verb])
}

/// `501 5.5.4` with what is wrong with the arguments.
pub fn syntax_error(why: &str) -> Reply {
    SYNTAX_ERROR.fill(&[why])
}

/// `501 5.1.7` with what is wrong with the MAIL FROM address.
pub fn bad_sender_address(why: &str) -> Reply {
    BAD_SENDER_ADDRESS.fill(&[why])
}

/// `501 5.1.3` with what is wrong with the RCPT TO address.
pub fn bad_recipient_address(why: &str) -> Reply {
    BAD_RECIPIENT_ADDRESS.fill(&[why])
}

/// `555 5.5.4` with the parameter that is not recognized.
pub fn parameter_not_recognized(why: &str) -> Reply {
    PARAMETER_NOT_RECOGNIZED.fill(&[why])
}

/// `250 2.0.0 N octets received` after a BDAT chunk that is not the last.
pub fn chunk_received(octets: u64) -> Reply {
    CHUNK_RECEIVED.fill(&[&octets.to_string()])
}

/// `250 2.6.0 <id> Queued mail for delivery`: only once the message is fsynced.
pub fn queued(id: &str) -> Reply {
    QUEUED.fill(&[id])
}

/// `421 4.3.2` to a client no receive connector takes.
pub fn no_receive_connector(client_ip: &str) -> Reply {
    NO_RECEIVE_CONNECTOR.fill(&[client_ip])
}

/// `501 5.5.2` with what is wrong with an AUTH response.
pub fn auth_bad_response(why: &str) -> Reply {
    AUTH_BAD_RESPONSE.fill(&[why])
}

/// `550 5.1.1` for a mailbox not on an accepted domain's recipient list.
pub fn user_unknown(mailbox: &str) -> Reply {
    USER_UNKNOWN.fill(&[mailbox])
}

/// `550 5.4.4` for a domain no send connector covers.
pub fn no_send_connector(domain: &str) -> Reply {
    NO_SEND_CONNECTOR.fill(&[domain])
}

/// `552 5.3.4` for a message bigger than the next hop accepts.
pub fn too_big_for_next_hop(size: u64, limit: u64, host: &str) -> Reply {
    TOO_BIG_FOR_NEXT_HOP.fill(&[&size.to_string(), &limit.to_string(), host])
}

/// `553 5.6.7` when the next hop cannot carry the message's SMTPUTF8 addresses.
pub fn next_hop_lacks_smtputf8(host: &str) -> Reply {
    NEXT_HOP_LACKS_SMTPUTF8.fill(&[host])
}

/// `550 5.0.0` carrying a recorded failure text that is not itself an SMTP reply.
pub fn unparsed_failure(text: &str) -> Reply {
    UNPARSED_FAILURE.fill(&[text])
}

/// `451 4.4.1`: the next hop did not answer (`why` says what was tried).
pub fn no_answer_from_host(why: &str) -> Reply {
    NO_ANSWER_FROM_HOST.fill(&[why])
}

/// `451 4.4.2`: the connection broke or made no sense.
pub fn bad_connection(why: &str) -> Reply {
    BAD_CONNECTION.fill(&[why])
}

/// `451 4.4.0`: the delivery cannot be routed as configured now.
pub fn routing_deferred(why: &str) -> Reply {
    ROUTING_DEFERRED.fill(&[why])
}

/// `451 4.4.4`: no enabled send connector covers `domain`.
pub fn no_enabled_send_connector(domain: &str) -> Reply {
    NO_ENABLED_SEND_CONNECTOR.fill(&[domain])
}

/// `451 4.7.4`: mandatory TLS that the next hop does not offer or refuses.
pub fn tls_not_available(why: &str) -> Reply {
    TLS_NOT_AVAILABLE.fill(&[why])
}

/// `451 4.7.0`: the TLS negotiation failed.
pub fn tls_failed(why: &str) -> Reply {
    TLS_FAILED.fill(&[why])
}

/// `451 4.7.5`: the next hop's certificate does not satisfy the requirement.
pub fn certificate_not_accepted(why: &str) -> Reply {
    CERTIFICATE_NOT_ACCEPTED.fill(&[why])
}

/// `451 4.7.3`: the settings of now do not allow sending to this domain.
pub fn sending_disallowed(why: &str) -> Reply {
    SENDING_DISALLOWED.fill(&[why])
}

/// `454 4.7.5`: send connector `connector` has no client certificate it can present.
pub fn no_client_certificate(connector: &str, why: &str) -> Reply {
    NO_CLIENT_CERTIFICATE.fill(&[connector, why])
}

/// `556 5.1.10`: `domain` publishes a null MX.
pub fn null_mx(domain: &str) -> Reply {
    NULL_MX.fill(&[domain])
}

/// `550 5.1.2`: the recipient domain does not exist or has nowhere to deliver.
pub fn no_such_domain(why: &str) -> Reply {
    NO_SUCH_DOMAIN.fill(&[why])
}

/// `554 5.4.6`: mail for `domain` would come back to this server.
pub fn mail_loops(domain: &str) -> Reply {
    MAIL_LOOPS.fill(&[domain])
}

/// `451 4.4.3`: DNS did not answer usefully.
pub fn dns_failure(why: &str) -> Reply {
    DNS_FAILURE.fill(&[why])
}

/// `550 5.7.10`: REQUIRETLS, and the next hop was not found securely.
pub fn requiretls_not_found_securely(host: &str, why: &str) -> Reply {
    REQUIRETLS_NOT_FOUND_SECURELY.fill(&[host, why])
}

/// `550 5.7.30`: REQUIRETLS, and the next hop does not offer TLS.
pub fn requiretls_no_tls(host: &str) -> Reply {
    REQUIRETLS_NO_TLS.fill(&[host])
}

/// `550 5.7.10`: REQUIRETLS, and the next hop's certificate cannot be authenticated.
pub fn requiretls_not_trusted(host: &str, why: &str) -> Reply {
    REQUIRETLS_NOT_TRUSTED.fill(&[host, why])
}

/// `550 5.7.30`: REQUIRETLS, and the next hop does not offer REQUIRETLS.
pub fn requiretls_not_offered(host: &str) -> Reply {
    REQUIRETLS_NOT_OFFERED.fill(&[host])
}

/// `451 4.7.5`: MTA-STS (enforce) allows none of the domain's MX hosts.
pub fn no_mx_allowed_by_mta_sts(domain: &str, patterns: &str, hosts: &str) -> Reply {
    NO_MX_ALLOWED_BY_MTA_STS.fill(&[domain, patterns, hosts])
}

/// `451 4.3.0`: our own disk or mailbox failed for now.
pub fn mail_system_deferred(why: &str) -> Reply {
    MAIL_SYSTEM_DEFERRED.fill(&[why])
}

/// `452 4.3.1`: the notice (`what`: "NDR" or "delay notice") could not be stored.
pub fn notice_not_stored(what: &str, error: &str) -> Reply {
    NOTICE_NOT_STORED.fill(&[what, error])
}

/// `550 5.4.7`: the message expired in the queue.
pub fn expired(why: &str) -> Reply {
    EXPIRED.fill(&[why])
}

/// `554 5.3.0`: a spool file that cannot be read as a message.
pub fn damaged_in_spool(why: &str) -> Reply {
    DAMAGED_IN_SPOOL.fill(&[why])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 3463 §2: the class of the enhanced code is the first digit of the basic code (2xx
    /// with 2.x.x, 4xx with 4.x.x, 5xx with 5.x.x), and only 2, 4 and 5 are classes.
    #[test]
    fn every_row_agrees_in_class_with_its_enhanced_code() {
        for (name, row) in TABLE {
            let (class, _, _) = row.enhanced;
            assert!(
                matches!(class, 2 | 4 | 5),
                "{name}: class {class} is not 2, 4 or 5"
            );
            assert!((200..600).contains(&row.code), "{name}: code {}", row.code);
            assert_eq!(
                row.code / 100,
                u16::from(class),
                "{name}: {} with {class}.x.x",
                row.code
            );
        }
    }

    /// A row's text is one line (a line break would forge a reply line) and says something.
    #[test]
    fn every_text_is_one_line_and_not_empty() {
        for (name, row) in TABLE {
            assert!(!row.text.is_empty(), "{name} has no text");
            assert!(!row.text.contains(['\r', '\n']), "{name} breaks its line");
        }
    }

    #[test]
    fn templates_are_filled_in_order() {
        assert_eq!(
            queued("ABC").to_bytes(),
            b"250 2.6.0 <ABC> Queued mail for delivery\r\n"
        );
        assert_eq!(
            too_big_for_next_hop(10, 5, "mx.test").one_line(),
            "552 5.3.4 Message of 10 octets exceeds the 5 octets mx.test accepts"
        );
        assert_eq!(
            no_receive_connector("192.0.2.1").to_bytes(),
            b"421 4.3.2 No receive connector accepts connections from [192.0.2.1]\r\n"
        );
        assert_eq!(
            next_hop_lacks_smtputf8("mx.test").one_line(),
            "553 5.6.7 mx.test does not support SMTPUTF8, which the addresses need"
        );
        assert_eq!(
            user_unknown("bob@contoso.test").one_line(),
            "550 5.1.1 User unknown: no mailbox bob@contoso.test here"
        );
        assert_eq!(
            no_enabled_send_connector("woodgrove.test").one_line(),
            "451 4.4.4 no enabled send connector covers woodgrove.test: add an address space for it"
        );
        assert_eq!(
            notice_not_stored("NDR", "No space left on device").one_line(),
            "452 4.3.1 the NDR could not be stored in the queue (No space left on device); the message stays queued until it is"
        );
        assert_eq!(
            no_client_certificate("To partners", "no SMTP certificate is selected").one_line(),
            "454 4.7.5 send connector 'To partners' cannot present a client certificate for Domain Security: no SMTP certificate is selected; enable a certificate with serverAuth and clientAuth for SMTP, with its own key"
        );
        assert_eq!(
            null_mx("woodgrove.test").one_line(),
            "556 5.1.10 Recipient address has null MX: woodgrove.test accepts no mail"
        );
        // A placeholder inside a filled-in part stays as it came.
        assert_eq!(syntax_error("a {} b").one_line(), "501 5.5.4 a {} b");
        assert_eq!(
            help().to_bytes(),
            b"214-2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH\r\n214 2.0.0 End of HELP info\r\n"
        );
    }

    #[test]
    fn exchange_domain_security_rows_are_exchanges_wording() {
        let rows = [
            DOMAIN_SECURE_DISALLOWED,
            DOMAIN_SECURE_NOT_AUTHENTICATED,
            DOMAIN_SECURE_NO_STARTTLS,
            DOMAIN_SECURE_CERTIFICATE_FAILURE,
        ]
        .map(|r| r.reply().one_line());
        assert_eq!(
            rows,
            [
                "451 4.7.3 The admin has temporarily disallowed this secure domain",
                "530 5.7.1 Not authenticated",
                "454 4.7.0 Temporary authentication failure",
                "454 4.7.5 Certificate validation failure",
            ]
        );
    }
}
