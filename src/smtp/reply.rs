//! SMTP replies (RFC 5321 §4.2) with enhanced status codes (RFC 3463): building them, writing
//! them (multi-line with `-`), and reading them back on the client side.

use super::printable::printable;
use std::fmt;

/// A reply: code, optional enhanced status code, one or more text lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub enhanced: Option<(u8, u16, u16)>,
    pub lines: Vec<String>,
}

impl Reply {
    /// A one-line reply with an enhanced status code: `Reply::new(250, (2,1,0), "Sender OK")`.
    /// The relay's own replies come from the named table in [`super::replies`] (a source test
    /// keeps it so); this is for that table and for replies read or made up in tests.
    pub fn new(code: u16, enhanced: (u8, u16, u16), text: impl Into<String>) -> Reply {
        Reply {
            code,
            enhanced: Some(enhanced),
            lines: vec![text.into()],
        }
    }

    /// A reply without an enhanced code (greeting, EHLO, 354).
    pub fn plain(code: u16, text: impl Into<String>) -> Reply {
        Reply {
            code,
            enhanced: None,
            lines: vec![text.into()],
        }
    }

    /// A multi-line reply without enhanced code (EHLO keywords).
    pub fn multi(code: u16, lines: Vec<String>) -> Reply {
        Reply {
            code,
            enhanced: None,
            lines,
        }
    }

    pub fn is_positive(&self) -> bool {
        self.code < 400
    }
    pub fn is_transient(&self) -> bool {
        (400..500).contains(&self.code)
    }

    /// The wire form, each line ending in CRLF; control characters in the text (an echoed
    /// argument, say) become `?`, so a reply is always the lines it says it is.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = String::new();
        let n = self.lines.len().max(1);
        for i in 0..n {
            let sep = if i + 1 == n { ' ' } else { '-' };
            let text = printable(self.lines.get(i).map(String::as_str).unwrap_or(""));
            match self.enhanced {
                Some((a, b, c)) => {
                    out.push_str(&format!("{}{sep}{a}.{b}.{c} {text}\r\n", self.code))
                }
                None => out.push_str(&format!("{}{sep}{text}\r\n", self.code)),
            }
        }
        out.into_bytes()
    }

    /// The whole reply on one line, for logs and tracking (`250 2.1.0 Sender OK`).
    pub fn one_line(&self) -> String {
        let text = printable(&self.lines.join(" ")).into_owned();
        match self.enhanced {
            Some((a, b, c)) => format!("{} {a}.{b}.{c} {text}", self.code),
            None => format!("{} {text}", self.code),
        }
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.one_line())
    }
}

/// Reads replies from a byte stream on the client side: multi-line aware, tolerant of a
/// missing enhanced code. `push` bytes, then `next_reply` until it returns None.
#[derive(Default, Debug)]
pub struct ReplyReader {
    buf: Vec<u8>,
    pending: Vec<String>,
    code: Option<u16>,
}

/// A reply line that is not SMTP.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the server sent something that is not an SMTP reply: {0}")]
pub struct ReplyError(pub String);

/// Longest reply line accepted (RFC 5321 says 512; be generous with real servers).
pub const MAX_REPLY_LINE: usize = 4096;

/// Most lines in one multi-line reply (a long EHLO reply has twenty).
pub const MAX_REPLY_LINES: usize = 200;

impl ReplyReader {
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes received but not yet part of a complete reply.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next complete reply, if one has arrived.
    pub fn next_reply(&mut self) -> Result<Option<Reply>, ReplyError> {
        loop {
            let Some(pos) = self.buf.iter().position(|b| *b == b'\n') else {
                if self.buf.len() > MAX_REPLY_LINE {
                    return Err(ReplyError("a reply line longer than 4096 octets".into()));
                }
                return Ok(None);
            };
            let line: Vec<u8> = self.buf.drain(..=pos).collect();
            let line = String::from_utf8_lossy(&line);
            // A bare CR inside a remote server's text must not reach a DSN or a log as a
            // line break.
            let line = printable(line.trim_end_matches(['\r', '\n']));
            let line = line.as_ref();
            if line.len() < 3 || !line.as_bytes()[..3].iter().all(u8::is_ascii_digit) {
                return Err(ReplyError(line.chars().take(80).collect()));
            }
            let code: u16 = line[..3].parse().map_err(|_| ReplyError(line.into()))?;
            if !(200..600).contains(&code) {
                return Err(ReplyError(line.chars().take(80).collect()));
            }
            if let Some(c) = self.code
                && c != code
            {
                return Err(ReplyError(format!(
                    "a multi-line reply changed its code: {line}"
                )));
            }
            self.code = Some(code);
            let sep = line.as_bytes().get(3).copied().unwrap_or(b' ');
            let text = line.get(4..).unwrap_or("").to_string();
            self.pending.push(text);
            if self.pending.len() > MAX_REPLY_LINES {
                return Err(ReplyError(format!(
                    "a reply of more than {MAX_REPLY_LINES} lines"
                )));
            }
            if sep != b'-' {
                let lines = std::mem::take(&mut self.pending);
                self.code = None;
                return Ok(Some(parse_enhanced(code, lines)));
            }
        }
    }
}

fn parse_enhanced(code: u16, mut lines: Vec<String>) -> Reply {
    let first = lines.first().cloned().unwrap_or_default();
    let mut enhanced = None;
    if let Some((head, rest)) = first.split_once(' ').or(Some((first.as_str(), ""))) {
        let parts: Vec<&str> = head.split('.').collect();
        if parts.len() == 3
            && let (Ok(a), Ok(b), Ok(c)) = (
                parts[0].parse::<u8>(),
                parts[1].parse::<u16>(),
                parts[2].parse::<u16>(),
            )
            && u16::from(a) == code / 100
        {
            enhanced = Some((a, b, c));
            // Strip the code from every line that carries it.
            let prefix = format!("{a}.{b}.{c}");
            for l in lines.iter_mut() {
                if let Some(r) = l.strip_prefix(&prefix) {
                    *l = r.trim_start().to_string();
                }
            }
            let _ = rest;
        }
    }
    Reply {
        code,
        enhanced,
        lines,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_write_single_and_multi_line() {
        assert_eq!(
            Reply::new(250, (2, 1, 0), "Sender OK").to_bytes(),
            b"250 2.1.0 Sender OK\r\n"
        );
        let r = Reply::multi(
            250,
            vec![
                "mail.test Hello".into(),
                "PIPELINING".into(),
                "STARTTLS".into(),
            ],
        );
        assert_eq!(
            r.to_bytes(),
            b"250-mail.test Hello\r\n250-PIPELINING\r\n250 STARTTLS\r\n"
        );
    }

    #[test]
    fn control_characters_never_break_a_reply_line() {
        let echoed = Reply::new(501, (5, 5, 4), "bad <a\rX-Injected: 1>").to_bytes();
        assert_eq!(echoed, b"501 5.5.4 bad <a?X-Injected: 1>\r\n");
        let mut rd = ReplyReader::default();
        rd.push(b"550 5.7.1 no\rX-Injected: 1\r\n");
        let r = rd.next_reply().unwrap().unwrap();
        assert_eq!(r.one_line(), "550 5.7.1 no?X-Injected: 1");
    }

    #[test]
    fn an_endless_multi_line_reply_is_an_error() {
        let mut rd = ReplyReader::default();
        for _ in 0..MAX_REPLY_LINES {
            rd.push(b"250-x\r\n");
            assert_eq!(rd.next_reply(), Ok(None));
        }
        rd.push(b"250-x\r\n");
        assert!(rd.next_reply().is_err());
    }

    #[test]
    fn replies_read_back_across_chunks() {
        let mut rd = ReplyReader::default();
        rd.push(b"250-mail.test Hello\r\n250-PIPELI");
        assert_eq!(rd.next_reply().unwrap(), None);
        rd.push(b"NING\r\n250 STARTTLS\r\n354 go ahead\r\n");
        let r = rd.next_reply().unwrap().unwrap();
        assert_eq!(r.lines, vec!["mail.test Hello", "PIPELINING", "STARTTLS"]);
        assert_eq!(rd.next_reply().unwrap().unwrap().code, 354);
        rd.push(b"550 5.7.1 Unable to relay\n");
        let r = rd.next_reply().unwrap().unwrap();
        assert_eq!(
            (r.code, r.enhanced, r.lines[0].as_str()),
            (550, Some((5, 7, 1)), "Unable to relay")
        );
        rd.push(b"HTTP/1.1 400 Bad\r\n");
        assert!(rd.next_reply().is_err());
    }
}
