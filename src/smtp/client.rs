//! The client side of SMTP, sans I/O: what the server offers (EHLO keywords), the commands of
//! one transaction (with PIPELINING they go out in one write), and how each reply settles a
//! recipient — delivered, deferred (4xx) or failed (5xx).

use super::address::ReversePath;
use super::dsn_request::DsnRequest;
use super::replies;
use super::reply::Reply;

/// The extensions a server offered in its EHLO reply.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Capabilities {
    pub starttls: bool,
    pub pipelining: bool,
    pub size: Option<u64>,
    pub eight_bit_mime: bool,
    pub smtputf8: bool,
    pub chunking: bool,
    pub enhanced_status_codes: bool,
    /// REQUIRETLS (RFC 8689), offered only inside TLS.
    pub require_tls: bool,
    /// DSN (RFC 3461): the server takes over the sender's notification request.
    pub dsn: bool,
}

impl Capabilities {
    /// Reads the keywords of a `250` EHLO reply (the first line is the greeting).
    pub fn from_ehlo(reply: &Reply) -> Capabilities {
        let mut c = Capabilities::default();
        for line in reply.lines.iter().skip(1) {
            let mut words = line.split_whitespace();
            let kw = words.next().unwrap_or("").to_ascii_uppercase();
            match kw.as_str() {
                "STARTTLS" => c.starttls = true,
                "PIPELINING" => c.pipelining = true,
                "SIZE" => c.size = words.next().and_then(|n| n.parse().ok()).filter(|n| *n > 0),
                "8BITMIME" => c.eight_bit_mime = true,
                "SMTPUTF8" => c.smtputf8 = true,
                "CHUNKING" => c.chunking = true,
                "ENHANCEDSTATUSCODES" => c.enhanced_status_codes = true,
                "REQUIRETLS" => c.require_tls = true,
                "DSN" => c.dsn = true,
                _ => {}
            }
        }
        c
    }
}

/// Why a message cannot go to this server at all (before any command is sent).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EnvelopeProblem {
    /// The message is larger than the server's SIZE.
    TooBig { size: u64, limit: u64 },
    /// Internationalized addresses need SMTPUTF8.
    NeedsSmtpUtf8,
}

/// What a message asks of the MAIL FROM command beyond its sender and size.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MailFlags<'a> {
    /// `BODY=8BITMIME`, when the server offers it.
    pub eight_bit: bool,
    /// `SMTPUTF8`: the server must offer it.
    pub smtputf8: bool,
    /// `REQUIRETLS` (RFC 8689): the server must offer it (the caller checks, with TLS).
    pub require_tls: bool,
    /// The sender's DSN request: `RET`/`ENVID` go on when the server offers DSN.
    pub dsn: Option<&'a DsnRequest>,
}

/// The MAIL FROM line (with CRLF) for a message, using only extensions the server offers.
pub fn mail_command(
    sender: &ReversePath,
    size: u64,
    flags: MailFlags,
    caps: &Capabilities,
) -> Result<String, EnvelopeProblem> {
    let MailFlags {
        eight_bit,
        smtputf8,
        require_tls,
        dsn,
    } = flags;
    if let Some(limit) = caps.size
        && size > limit
    {
        return Err(EnvelopeProblem::TooBig { size, limit });
    }
    if smtputf8 && !caps.smtputf8 {
        return Err(EnvelopeProblem::NeedsSmtpUtf8);
    }
    let mut cmd = format!("MAIL FROM:<{sender}>");
    if caps.size.is_some() {
        cmd.push_str(&format!(" SIZE={size}"));
    }
    if eight_bit && caps.eight_bit_mime {
        cmd.push_str(" BODY=8BITMIME");
    }
    if smtputf8 {
        cmd.push_str(" SMTPUTF8");
    }
    if require_tls {
        cmd.push_str(" REQUIRETLS");
    }
    if let Some(d) = dsn.filter(|_| caps.dsn) {
        cmd.push_str(&d.mail_params());
    }
    cmd.push_str("\r\n");
    Ok(cmd)
}

/// The RCPT TO line (with CRLF); with `NOTIFY`/`ORCPT` when the server offers DSN.
pub fn rcpt_command(recipient: &str, dsn: &DsnRequest, caps: &Capabilities) -> String {
    let params = if caps.dsn {
        dsn.rcpt_params(recipient)
    } else {
        String::new()
    };
    format!("RCPT TO:<{recipient}>{params}\r\n")
}

/// How one recipient came out of a transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecipientOutcome {
    Delivered(Reply),
    Deferred(Reply),
    Failed(Reply),
}

impl RecipientOutcome {
    /// Settles a recipient by a reply: 2xx delivered, 4xx deferred, 5xx failed.
    pub fn from_reply(reply: &Reply) -> RecipientOutcome {
        if reply.is_positive() {
            RecipientOutcome::Delivered(reply.clone())
        } else if reply.is_transient() {
            RecipientOutcome::Deferred(reply.clone())
        } else {
            RecipientOutcome::Failed(reply.clone())
        }
    }
}

/// Settles all recipients of one transaction from its replies: the MAIL reply, one reply per
/// RCPT, and the reply to the end of data (None when DATA was not reached).
pub fn settle(mail: &Reply, rcpts: &[Reply], data_end: Option<&Reply>) -> Vec<RecipientOutcome> {
    rcpts
        .iter()
        .map(|rr| {
            if !mail.is_positive() {
                return RecipientOutcome::from_reply(mail);
            }
            if !rr.is_positive() {
                return RecipientOutcome::from_reply(rr);
            }
            match data_end {
                Some(d) => RecipientOutcome::from_reply(d),
                None => RecipientOutcome::Deferred(replies::TRANSACTION_ENDED.reply()),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::address::Mailbox;

    fn ehlo(lines: &[&str]) -> Reply {
        Reply::multi(250, lines.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn capabilities_from_ehlo() {
        let c = Capabilities::from_ehlo(&ehlo(&[
            "mx.test Hello",
            "PIPELINING",
            "SIZE 10240000",
            "STARTTLS",
            "8BITMIME",
            "ENHANCEDSTATUSCODES",
            "smtputf8",
        ]));
        assert!(
            c.pipelining
                && c.starttls
                && c.eight_bit_mime
                && c.enhanced_status_codes
                && c.smtputf8
                && !c.chunking
        );
        assert_eq!(c.size, Some(10_240_000));
        let c = Capabilities::from_ehlo(&ehlo(&["mx.test", "SIZE"]));
        assert_eq!(c.size, None);
    }

    #[test]
    fn mail_command_uses_only_offered_extensions() {
        let from = ReversePath::Mailbox(Mailbox::parse("a@contoso.test").unwrap());
        let none = Capabilities::default();
        let flags = |eight_bit, smtputf8| MailFlags {
            eight_bit,
            smtputf8,
            require_tls: false,
            dsn: None,
        };
        assert_eq!(
            mail_command(&from, 100, flags(true, false), &none).unwrap(),
            "MAIL FROM:<a@contoso.test>\r\n"
        );
        let all = Capabilities {
            size: Some(1000),
            eight_bit_mime: true,
            smtputf8: true,
            ..Default::default()
        };
        assert_eq!(
            mail_command(&ReversePath::Null, 100, flags(true, true), &all).unwrap(),
            "MAIL FROM:<> SIZE=100 BODY=8BITMIME SMTPUTF8\r\n"
        );
        let required = MailFlags {
            require_tls: true,
            ..flags(false, false)
        };
        assert_eq!(
            mail_command(&from, 10, required, &none).unwrap(),
            "MAIL FROM:<a@contoso.test> REQUIRETLS\r\n"
        );
        assert_eq!(
            mail_command(&from, 2000, flags(false, false), &all),
            Err(EnvelopeProblem::TooBig {
                size: 2000,
                limit: 1000
            })
        );
        assert_eq!(
            mail_command(&from, 10, flags(false, true), &none),
            Err(EnvelopeProblem::NeedsSmtpUtf8)
        );
    }

    #[test]
    fn dsn_parameters_go_on_only_to_a_server_that_offers_dsn() {
        use crate::smtp::dsn_request::{Notify, RecipientDsn, Ret};
        let from = ReversePath::Mailbox(Mailbox::parse("a@contoso.test").unwrap());
        let mut req = DsnRequest {
            ret: Some(Ret::Full),
            envid: Some("id 1".into()),
            ..Default::default()
        };
        req.recipients.insert(
            "b@w.test".into(),
            RecipientDsn {
                notify: Some(Notify::NEVER),
                orcpt: None,
            },
        );
        let flags = MailFlags {
            dsn: Some(&req),
            ..Default::default()
        };
        let dsn = Capabilities {
            dsn: true,
            ..Default::default()
        };
        let plain = Capabilities::default();
        assert_eq!(
            mail_command(&from, 1, flags, &dsn).unwrap(),
            "MAIL FROM:<a@contoso.test> RET=FULL ENVID=id+201\r\n"
        );
        assert_eq!(
            mail_command(&from, 1, flags, &plain).unwrap(),
            "MAIL FROM:<a@contoso.test>\r\n"
        );
        assert_eq!(
            rcpt_command("b@w.test", &req, &dsn),
            "RCPT TO:<b@w.test> NOTIFY=NEVER ORCPT=rfc822;b@w.test\r\n"
        );
        assert_eq!(
            rcpt_command("b@w.test", &req, &plain),
            "RCPT TO:<b@w.test>\r\n"
        );
        assert!(Capabilities::from_ehlo(&ehlo(&["mx.test", "DSN"])).dsn);
    }

    #[test]
    fn recipients_settle_by_the_first_failing_reply() {
        let ok = Reply::new(250, (2, 1, 5), "OK");
        let no = Reply::new(550, (5, 1, 1), "unknown user");
        let later = Reply::new(451, (4, 3, 0), "try later");
        let queued = Reply::new(250, (2, 6, 0), "queued");
        let out = settle(
            &Reply::new(250, (2, 1, 0), "OK"),
            &[ok.clone(), no.clone(), later.clone()],
            Some(&queued),
        );
        assert_eq!(
            out,
            vec![
                RecipientOutcome::Delivered(queued.clone()),
                RecipientOutcome::Failed(no),
                RecipientOutcome::Deferred(later.clone())
            ]
        );
        let out = settle(&later, std::slice::from_ref(&ok), None);
        assert_eq!(out, vec![RecipientOutcome::Deferred(later)]);
        assert!(matches!(
            settle(&Reply::new(250, (2, 1, 0), "OK"), &[ok], None)[0],
            RecipientOutcome::Deferred(_)
        ));
    }
}
