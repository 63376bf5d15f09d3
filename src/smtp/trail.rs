//! What a client has said in a session so far, read from its command lines and our replies in
//! the order they happened (pipelined commands included): its EHLO name, the sender of the
//! transaction under way and the recipients we accepted. A refusal is recorded with these
//! facts as they stood when it was given, not as the server state stands after the rest of a
//! pipelined batch.

use super::reply::Reply;

/// The session's story up to the last reply.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trail {
    /// The EHLO/HELO name given.
    pub helo: Option<String>,
    /// The MAIL FROM address of the transaction under way (`""` for the null sender).
    pub sender: Option<String>,
    /// The recipients accepted in this transaction, in order.
    pub recipients: Vec<String>,
    /// The command the next reply answers, as logged (AUTH arguments hidden).
    pub command: String,
    /// The address in the command under way (MAIL FROM or RCPT TO), when it has one.
    pending_address: Option<String>,
}

/// The verb of a command line, upper-cased.
fn verb(line: &str) -> String {
    line.split([' ', ':'])
        .next()
        .unwrap_or("")
        .to_ascii_uppercase()
}

/// The address between the first `<` and the next `>`, when there is one.
fn address(line: &str) -> Option<String> {
    address_of(line).map(str::to_string)
}

/// The address between `<` and `>` of a `MAIL FROM:` or `RCPT TO:` line.
pub fn address_of(line: &str) -> Option<&str> {
    let start = line.find('<')? + 1;
    let end = start + line[start..].find('>')?;
    Some(&line[start..end])
}

impl Trail {
    /// A command line arrived (it is answered by the next reply).
    pub fn command(&mut self, line: &str) {
        self.command = line.to_string();
        self.pending_address = None;
        match verb(line).as_str() {
            "EHLO" | "HELO" => {
                let name = line.get(5..).unwrap_or("").trim();
                self.helo = (!name.is_empty()).then(|| name.to_string());
                self.reset();
            }
            "MAIL" => {
                self.reset();
                self.pending_address = address(line);
                self.sender = self.pending_address.clone();
            }
            "RCPT" => self.pending_address = address(line),
            "RSET" => self.reset(),
            _ => {}
        }
    }

    /// The address the current command is about (the refused recipient of a RCPT).
    pub fn pending_address(&self) -> Option<&str> {
        self.pending_address.as_deref()
    }

    /// We answered the current command.
    pub fn reply(&mut self, reply: &Reply) {
        let positive = reply.code < 400;
        match verb(&self.command).as_str() {
            "RCPT" if positive => {
                if let Some(a) = self.pending_address.take() {
                    self.recipients.push(a);
                }
            }
            "MAIL" if !positive => {
                // The refused sender stays on record until the next command replaces it.
            }
            // The message was taken (`250 2.6.0 … Queued`), not just a chunk.
            "DATA" | "BDAT" if reply.enhanced == Some((2, 6, 0)) => self.reset(),
            _ => {}
        }
    }

    /// The transaction ended (RSET, EHLO, a message taken): no sender, no recipients.
    fn reset(&mut self) {
        self.sender = None;
        self.recipients.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok() -> Reply {
        Reply::new(250, (2, 0, 0), "OK")
    }

    /// A pipelined transaction read back in order: the refusal of the second recipient sees
    /// the sender and the first recipient only.
    #[test]
    fn follows_a_transaction_in_order() {
        let mut t = Trail::default();
        t.command("EHLO mail.woodgrove.test");
        t.reply(&ok());
        assert_eq!(t.helo.as_deref(), Some("mail.woodgrove.test"));
        t.command("MAIL FROM:<alice@woodgrove.test> SIZE=100");
        t.reply(&ok());
        t.command("RCPT TO:<bob@contoso.test>");
        t.reply(&ok());
        t.command("RCPT TO:<eve@crimson.test>");
        assert_eq!(t.pending_address(), Some("eve@crimson.test"));
        let refused = Reply::new(550, (5, 7, 1), "Unable to relay");
        assert_eq!(t.sender.as_deref(), Some("alice@woodgrove.test"));
        assert_eq!(t.recipients, vec!["bob@contoso.test"]);
        t.reply(&refused);
        assert_eq!(t.recipients, vec!["bob@contoso.test"]);
        t.command("DATA");
        t.reply(&Reply::new(354, (2, 0, 0), "go"));
        t.reply(&Reply::new(250, (2, 0, 0), "100 octets received"));
        assert_eq!(t.recipients, vec!["bob@contoso.test"]);
        t.reply(&Reply::new(250, (2, 6, 0), "queued"));
        assert_eq!(t.sender, None);
        assert!(t.recipients.is_empty());
    }

    #[test]
    fn a_refused_sender_stays_on_record_and_rset_clears() {
        let mut t = Trail::default();
        t.command("HELO x");
        t.command("MAIL FROM:<>");
        t.reply(&Reply::new(530, (5, 7, 1), "Not authenticated"));
        assert_eq!(t.sender.as_deref(), Some(""));
        t.command("RSET");
        assert_eq!(t.sender, None);
        t.command("EHLO");
        assert_eq!(t.helo, None);
    }
}
