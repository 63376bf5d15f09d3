//! SMTP command lines (RFC 5321 §4.1): lenient where real clients are — lower-case verbs,
//! `mail from:administrator@domaene.tld` without angle brackets as typed in Telnet, extra
//! spaces — and strict about what the command means.

use super::address::{Mailbox, ReversePath};
use super::dsn_request::{self, Notify, OriginalRecipient, RecipientDsn, Ret};
use std::fmt;

/// Longest command line, CRLF included (RFC 5321 §4.5.3.1.4).
pub const MAX_COMMAND_LINE: usize = 512;

/// `BODY=` of MAIL FROM (RFC 6152, RFC 3030).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyType {
    SevenBit,
    EightBitMime,
    BinaryMime,
}

/// The ESMTP parameters of MAIL FROM that matter here.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MailParams {
    pub size: Option<u64>,
    pub body: Option<BodyType>,
    pub smtputf8: bool,
    /// `REQUIRETLS` (RFC 8689): the message may travel only over authenticated TLS.
    pub require_tls: bool,
    /// `RET=` (RFC 3461): what a failure notice returns.
    pub ret: Option<Ret>,
    /// `ENVID=` (RFC 3461), decoded from xtext.
    pub envid: Option<String>,
    /// Other parameters, kept for logs (`AUTH=...`).
    pub other: Vec<String>,
}

/// A recipient: a mailbox, or plain `<postmaster>` (RFC 5321 §4.5.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recipient {
    Postmaster,
    Mailbox(Mailbox),
}

/// A parsed command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Helo(String),
    Ehlo(String),
    Mail {
        from: ReversePath,
        params: MailParams,
    },
    Rcpt {
        to: Recipient,
        /// `NOTIFY=` and `ORCPT=` (RFC 3461).
        dsn: RecipientDsn,
    },
    Data,
    Bdat {
        size: u64,
        last: bool,
    },
    Rset,
    Noop,
    Quit,
    Vrfy(String),
    Expn(String),
    Help,
    StartTls {
        has_argument: bool,
    },
    /// `AUTH mechanism [initial-response]` (RFC 4954).
    Auth {
        mechanism: String,
        initial: Option<String>,
    },
}

/// Why a line is not a command we can act on; each maps to a reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommandError {
    /// Unknown verb: `500 5.3.3 Unrecognized command`.
    Unrecognized(String),
    /// Known verb, bad arguments: `501 5.5.4 <why>`.
    Syntax(String),
    /// Known verb, bad address: `501 5.1.3 <why>` (recipient) or `501 5.1.7` (sender).
    BadAddress { sender: bool, why: String },
    /// A parameter we do not offer: `555 5.5.4 <why>`.
    BadParameter(String),
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::Unrecognized(v) => write!(f, "unrecognized command {v}"),
            CommandError::Syntax(s) | CommandError::BadParameter(s) => f.write_str(s),
            CommandError::BadAddress { why, .. } => f.write_str(why),
        }
    }
}

/// Parses one command line (without its CRLF).
pub fn parse(line: &str) -> Result<Command, CommandError> {
    let line = line.trim_matches([' ', '\t']);
    let (verb, rest) = match line.find([' ', '\t']) {
        Some(i) => (&line[..i], line[i..].trim_start()),
        None => (line, ""),
    };
    match verb.to_ascii_uppercase().as_str() {
        "HELO" => Ok(Command::Helo(rest.trim().to_string())),
        "EHLO" => {
            let name = rest.split_whitespace().next().unwrap_or("");
            if name.is_empty() {
                return Err(CommandError::Syntax(
                    "EHLO needs the client's domain name or address literal".into(),
                ));
            }
            Ok(Command::Ehlo(name.to_string()))
        }
        "MAIL" => {
            let arg = after_keyword(rest, "FROM")
                .ok_or_else(|| CommandError::Syntax("write MAIL FROM:<address>".into()))?;
            let (path, params) =
                split_path(arg).map_err(|why| CommandError::BadAddress { sender: true, why })?;
            let from = if path.is_empty() {
                ReversePath::Null
            } else {
                ReversePath::Mailbox(Mailbox::parse(&path).map_err(|e| {
                    CommandError::BadAddress {
                        sender: true,
                        why: e.0,
                    }
                })?)
            };
            Ok(Command::Mail {
                from,
                params: parse_mail_params(&params)?,
            })
        }
        "RCPT" => {
            let arg = after_keyword(rest, "TO")
                .ok_or_else(|| CommandError::Syntax("write RCPT TO:<address>".into()))?;
            let (path, params) =
                split_path(arg).map_err(|why| CommandError::BadAddress { sender: false, why })?;
            let dsn = parse_rcpt_params(&params)?;
            if path.eq_ignore_ascii_case("postmaster") {
                return Ok(Command::Rcpt {
                    to: Recipient::Postmaster,
                    dsn,
                });
            }
            if path.is_empty() {
                return Err(CommandError::BadAddress {
                    sender: false,
                    why: "a recipient address is required".into(),
                });
            }
            let mb = Mailbox::parse(&path).map_err(|e| CommandError::BadAddress {
                sender: false,
                why: e.0,
            })?;
            Ok(Command::Rcpt {
                to: Recipient::Mailbox(mb),
                dsn,
            })
        }
        "DATA" => no_args(rest, Command::Data, "DATA"),
        "BDAT" => {
            let mut parts = rest.split_whitespace();
            let size = parts
                .next()
                .and_then(|s| s.parse::<u64>().ok())
                .ok_or_else(|| CommandError::Syntax("write BDAT <size> [LAST]".into()))?;
            let last = match parts.next() {
                None => false,
                Some(w) if w.eq_ignore_ascii_case("LAST") => true,
                Some(_) => return Err(CommandError::Syntax("write BDAT <size> [LAST]".into())),
            };
            if parts.next().is_some() {
                return Err(CommandError::Syntax("write BDAT <size> [LAST]".into()));
            }
            Ok(Command::Bdat { size, last })
        }
        "RSET" => no_args(rest, Command::Rset, "RSET"),
        "NOOP" => Ok(Command::Noop),
        "QUIT" => no_args(rest, Command::Quit, "QUIT"),
        "VRFY" => Ok(Command::Vrfy(rest.to_string())),
        "EXPN" => Ok(Command::Expn(rest.to_string())),
        "HELP" => Ok(Command::Help),
        "STARTTLS" => Ok(Command::StartTls {
            has_argument: !rest.is_empty(),
        }),
        "AUTH" => {
            let mut words = rest.split_whitespace();
            Ok(Command::Auth {
                mechanism: words.next().unwrap_or("").to_ascii_uppercase(),
                initial: words.next().map(str::to_string),
            })
        }
        _ => Err(CommandError::Unrecognized(verb.chars().take(20).collect())),
    }
}

fn no_args(rest: &str, cmd: Command, name: &str) -> Result<Command, CommandError> {
    if rest.is_empty() {
        Ok(cmd)
    } else {
        Err(CommandError::Syntax(format!("{name} takes no arguments")))
    }
}

/// `FROM:<x>`, `from: <x>`, `FROM :x` → the text after the colon.
fn after_keyword<'a>(rest: &'a str, keyword: &str) -> Option<&'a str> {
    let head = rest.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let after = rest[keyword.len()..].trim_start();
    after.strip_prefix(':').map(str::trim_start)
}

/// Splits `<path> PARAM PARAM` (or, leniently, `path PARAM`) into the path and parameters.
/// A source route (`<@a,@b:user@d>`) is dropped (RFC 5321 §4.1.2, obsolete).
fn split_path(arg: &str) -> Result<(String, Vec<String>), String> {
    let (path, rest) = if let Some(inner) = arg.strip_prefix('<') {
        let mut in_quotes = false;
        let mut end = None;
        for (i, c) in inner.char_indices() {
            match c {
                '"' => in_quotes = !in_quotes,
                '>' if !in_quotes => {
                    end = Some(i);
                    break;
                }
                _ => {}
            }
        }
        let end = end.ok_or_else(|| "the address is missing its closing '>'".to_string())?;
        (inner[..end].to_string(), &inner[end + 1..])
    } else {
        match arg.find([' ', '\t']) {
            Some(i) => (arg[..i].to_string(), &arg[i..]),
            None => (arg.to_string(), ""),
        }
    };
    let path = match path.split_once(':') {
        Some((route, addr)) if route.starts_with('@') => addr.to_string(),
        _ => path,
    };
    if path.chars().any(|c| c == '<' || c == '>' || c.is_control()) {
        return Err(format!("<{path}> is not a valid address"));
    }
    let params = rest.split_whitespace().map(str::to_string).collect();
    Ok((path.trim().to_string(), params))
}

/// One ESMTP parameter: its key upper-cased, its value, the parameter as written.
type Param<'a> = (String, Option<&'a str>, &'a String);

/// Splits `KEY=value` (the key upper-cased); refuses a key given twice (RFC 3461 §4: 501).
fn split_params(params: &[String]) -> Result<Vec<Param<'_>>, CommandError> {
    let mut out: Vec<Param<'_>> = Vec::new();
    for raw in params {
        let (key, value) = match raw.split_once('=') {
            Some((k, v)) => (k.to_ascii_uppercase(), Some(v)),
            None => (raw.to_ascii_uppercase(), None),
        };
        if out.iter().any(|(k, _, _)| *k == key) {
            return Err(CommandError::Syntax(format!(
                "the parameter {key} is given twice"
            )));
        }
        out.push((key, value, raw));
    }
    Ok(out)
}

/// `NOTIFY=` and `ORCPT=` of RCPT TO; anything else is a parameter we do not offer.
fn parse_rcpt_params(params: &[String]) -> Result<RecipientDsn, CommandError> {
    let mut dsn = RecipientDsn::default();
    for (key, value, raw) in split_params(params)? {
        match (key.as_str(), value) {
            ("NOTIFY", Some(v)) => {
                dsn.notify = Some(Notify::parse(v).map_err(CommandError::Syntax)?)
            }
            ("ORCPT", Some(v)) => {
                dsn.orcpt = Some(OriginalRecipient::parse(v).map_err(CommandError::Syntax)?)
            }
            _ => {
                return Err(CommandError::BadParameter(format!(
                    "the RCPT TO parameter {raw} is not supported"
                )));
            }
        }
    }
    Ok(dsn)
}

fn parse_mail_params(params: &[String]) -> Result<MailParams, CommandError> {
    let mut p = MailParams::default();
    for (key, value, raw) in split_params(params)? {
        match (key.as_str(), value) {
            ("SIZE", Some(v)) => {
                p.size = Some(
                    v.parse()
                        .map_err(|_| CommandError::Syntax(format!("SIZE={v} is not a number")))?,
                );
            }
            ("BODY", Some(v)) => {
                p.body = Some(match v.to_ascii_uppercase().as_str() {
                    "7BIT" => BodyType::SevenBit,
                    "8BITMIME" => BodyType::EightBitMime,
                    "BINARYMIME" => BodyType::BinaryMime,
                    _ => {
                        return Err(CommandError::BadParameter(format!(
                            "BODY={v} is not supported"
                        )));
                    }
                });
            }
            ("SMTPUTF8", None) => p.smtputf8 = true,
            ("REQUIRETLS", None) => p.require_tls = true,
            ("RET", Some(v)) => {
                p.ret = Some(dsn_request::parse_ret(v).map_err(CommandError::Syntax)?)
            }
            ("ENVID", Some(v)) => {
                p.envid = Some(dsn_request::parse_envid(v).map_err(CommandError::Syntax)?)
            }
            ("AUTH", Some(_)) => p.other.push(raw.clone()),
            _ => {
                return Err(CommandError::BadParameter(format!(
                    "the MAIL FROM parameter {raw} is not supported"
                )));
            }
        }
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mb(s: &str) -> Mailbox {
        Mailbox::parse(s).unwrap()
    }

    #[test]
    fn the_articles_telnet_commands_parse() {
        assert_eq!(parse("helo").unwrap(), Command::Helo(String::new()));
        assert_eq!(
            parse("mail from:administrator@domaene.tld").unwrap(),
            Command::Mail {
                from: ReversePath::Mailbox(mb("administrator@domaene.tld")),
                params: MailParams::default()
            }
        );
        assert_eq!(
            parse("rcpt to:administrator@domaene.tld").unwrap(),
            Command::Rcpt {
                to: Recipient::Mailbox(mb("administrator@domaene.tld")),
                dsn: RecipientDsn::default()
            }
        );
        assert_eq!(parse("data").unwrap(), Command::Data);
    }

    #[test]
    fn lenient_spacing_and_case() {
        let table = [
            ("MAIL FROM:<a@b.test>", "a@b.test"),
            ("Mail From: <a@b.test>", "a@b.test"),
            ("MAIL  FROM :<a@b.test>", "a@b.test"),
            ("mail from:<@relay.test:a@b.test>", "a@b.test"),
            ("  MAIL FROM:<a@b.test>  ", "a@b.test"),
        ];
        for (line, addr) in table {
            match parse(line).unwrap() {
                Command::Mail { from, .. } => assert_eq!(from.to_string(), addr, "{line}"),
                other => panic!("{line}: {other:?}"),
            }
        }
        assert_eq!(
            parse("MAIL FROM:<>").unwrap(),
            Command::Mail {
                from: ReversePath::Null,
                params: MailParams::default()
            }
        );
        assert_eq!(
            parse("RCPT TO:<Postmaster>").unwrap(),
            Command::Rcpt {
                to: Recipient::Postmaster,
                dsn: RecipientDsn::default()
            }
        );
        assert_eq!(
            parse("EHLO client.test extra").unwrap(),
            Command::Ehlo("client.test".into())
        );
    }

    #[test]
    fn mail_parameters() {
        match parse("MAIL FROM:<a@b.test> SIZE=1000 BODY=8BITMIME SMTPUTF8 RET=HDRS").unwrap() {
            Command::Mail { params, .. } => {
                assert_eq!(params.size, Some(1000));
                assert_eq!(params.body, Some(BodyType::EightBitMime));
                assert!(params.smtputf8);
                assert_eq!(params.ret, Some(Ret::Hdrs));
                assert!(params.other.is_empty());
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse("MAIL FROM:<a@b.test> FOO=1"),
            Err(CommandError::BadParameter(_))
        ));
        assert!(matches!(
            parse("MAIL FROM:<a@b.test> SIZE=x"),
            Err(CommandError::Syntax(_))
        ));
    }

    #[test]
    fn dsn_parameters_of_mail_and_rcpt() {
        match parse("MAIL FROM:<a@b.test> RET=FULL ENVID=QQ314159+2B1").unwrap() {
            Command::Mail { params, .. } => {
                assert_eq!(params.ret, Some(Ret::Full));
                assert_eq!(params.envid.as_deref(), Some("QQ314159+1"));
            }
            other => panic!("{other:?}"),
        }
        match parse("RCPT TO:<b@c.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;B+2B1@c.test").unwrap()
        {
            Command::Rcpt { dsn, .. } => {
                let n = dsn.notify.unwrap();
                assert!(n.success && n.failure && !n.delay);
                assert_eq!(dsn.orcpt.unwrap().address, "B+1@c.test");
            }
            other => panic!("{other:?}"),
        }
        // Given twice, a bad value, NEVER with others: 501 (syntax); unknown: 555.
        for bad in [
            "MAIL FROM:<a@b.test> RET=FULL RET=HDRS",
            "MAIL FROM:<a@b.test> RET=ALL",
            "MAIL FROM:<a@b.test> ENVID=a=b",
            "RCPT TO:<b@c.test> NOTIFY=NEVER,DELAY",
            "RCPT TO:<b@c.test> NOTIFY=DELAY notify=FAILURE",
            "RCPT TO:<b@c.test> ORCPT=b@c.test",
        ] {
            assert!(matches!(parse(bad), Err(CommandError::Syntax(_))), "{bad}");
        }
        assert!(matches!(
            parse("RCPT TO:<b@c.test> FOO=1"),
            Err(CommandError::BadParameter(_))
        ));
    }

    #[test]
    fn errors_are_classified() {
        assert_eq!(
            parse("FOO bar"),
            Err(CommandError::Unrecognized("FOO".into()))
        );
        assert!(matches!(
            parse("MAIL TO:<a@b.test>"),
            Err(CommandError::Syntax(_))
        ));
        assert!(matches!(
            parse("MAIL FROM:<a@b.test"),
            Err(CommandError::BadAddress { sender: true, .. })
        ));
        assert!(matches!(
            parse("RCPT TO:<>"),
            Err(CommandError::BadAddress { sender: false, .. })
        ));
        assert!(matches!(
            parse("RCPT TO:<a b@x.test>"),
            Err(CommandError::BadAddress { .. })
        ));
        assert!(matches!(parse("EHLO"), Err(CommandError::Syntax(_))));
        assert!(matches!(parse("DATA now"), Err(CommandError::Syntax(_))));
        assert_eq!(
            parse("BDAT 100 LAST").unwrap(),
            Command::Bdat {
                size: 100,
                last: true
            }
        );
        assert!(parse("BDAT x").is_err() && parse("BDAT 1 FIRST").is_err());
        assert_eq!(
            parse("starttls").unwrap(),
            Command::StartTls {
                has_argument: false
            }
        );
    }
}
