//! DATA framing. Receiving: only `<CRLF>.<CRLF>` ends the message — a `.` line reached through a
//! bare LF or bare CR never does, so SMTP smuggling (`\n.\r\n`, `\r.\r\n`, `\n.\n`) can never
//! start a second message; bare line endings inside the message are normalised to CRLF
//! (Postfix's "normalize"); leading dots are removed; size and line-length limits are noted
//! without stopping the read. Sending: canonical CRLF and dot-stuffing.

/// Longest text line, CRLF included (RFC 5321 §4.5.3.1.6).
pub const MAX_TEXT_LINE: usize = 1000;

/// What a finished DATA read found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DataOutcome {
    /// The message, CRLF line endings, dots unstuffed (empty when `too_big`).
    pub body: Vec<u8>,
    /// The message was larger than the limit (its bytes were counted, not kept).
    pub too_big: bool,
    /// Total octets received, as counted for the limit.
    pub size: u64,
    /// A line was longer than 1000 octets.
    pub line_too_long: bool,
    /// Bare CR or LF line endings were seen and normalised.
    pub bare_line_endings: usize,
}

/// Receives DATA bytes until `<CRLF>.<CRLF>`.
#[derive(Debug)]
pub struct DataReceiver {
    max_size: u64,
    line: Vec<u8>,
    /// Octets of the current line beyond [`MAX_TEXT_LINE`]: counted, never kept, so a client
    /// that sends no line ending cannot make the line buffer grow.
    overflow: u64,
    /// The previous line ended in a real CRLF (the DATA command's own CRLF counts).
    prev_crlf: bool,
    out: DataOutcome,
}

impl DataReceiver {
    pub fn new(max_size: u64) -> Self {
        DataReceiver {
            max_size,
            line: Vec::new(),
            overflow: 0,
            prev_crlf: true,
            out: DataOutcome::default(),
        }
    }

    /// Consumes bytes. Returns how many were used and, when the end was reached, the outcome.
    /// A trailing CR is left unconsumed until the next byte shows whether it is a CRLF.
    pub fn feed(&mut self, input: &[u8]) -> (usize, Option<DataOutcome>) {
        let mut i = 0;
        while i < input.len() {
            let b = input[i];
            match b {
                b'\r' => {
                    if i + 1 == input.len() {
                        return (i, None); // wait for the next byte
                    }
                    if input[i + 1] == b'\n' {
                        i += 2;
                        if let Some(done) = self.end_line(true) {
                            return (i, Some(done));
                        }
                    } else {
                        i += 1;
                        self.out.bare_line_endings += 1;
                        let _ = self.end_line(false);
                    }
                }
                b'\n' => {
                    i += 1;
                    self.out.bare_line_endings += 1;
                    let _ = self.end_line(false);
                }
                _ => {
                    // Copy the run of ordinary bytes at once.
                    let run = input[i..]
                        .iter()
                        .position(|c| *c == b'\r' || *c == b'\n')
                        .unwrap_or(input.len() - i);
                    let keep = run.min(MAX_TEXT_LINE.saturating_sub(self.line.len()));
                    self.line.extend_from_slice(&input[i..i + keep]);
                    self.overflow += (run - keep) as u64;
                    i += run;
                }
            }
        }
        (i, None)
    }

    /// Ends the current line; returns the outcome if it was the end-of-data marker.
    fn end_line(&mut self, crlf: bool) -> Option<DataOutcome> {
        let is_dot = self.line == b".";
        if is_dot && crlf && self.prev_crlf {
            self.line.clear();
            return Some(std::mem::take(&mut self.out));
        }
        let content: &[u8] = if self.line.first() == Some(&b'.') {
            &self.line[1..]
        } else {
            &self.line
        };
        if self.line.len() + 2 > MAX_TEXT_LINE {
            self.out.line_too_long = true;
        }
        let add = content.len() as u64 + std::mem::take(&mut self.overflow) + 2;
        self.out.size += add;
        if self.out.size > self.max_size {
            self.out.too_big = true;
            self.out.body = Vec::new();
        } else {
            self.out.body.extend_from_slice(content);
            self.out.body.extend_from_slice(b"\r\n");
        }
        self.line.clear();
        self.prev_crlf = crlf;
        None
    }
}

/// Converts bare CR and bare LF to CRLF (for BDAT content and for output).
pub fn normalize_line_endings(input: &[u8]) -> (Vec<u8>, usize) {
    let mut out = Vec::with_capacity(input.len() + 16);
    let mut bare = 0;
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'\r' if input.get(i + 1) == Some(&b'\n') => {
                out.extend_from_slice(b"\r\n");
                i += 2;
            }
            b'\r' | b'\n' => {
                out.extend_from_slice(b"\r\n");
                bare += 1;
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    (out, bare)
}

/// The DATA payload for sending: CRLF line endings, leading dots doubled, a final CRLF if the
/// message lacks one, and the `.<CRLF>` terminator.
pub fn dot_stuff(message: &[u8]) -> Vec<u8> {
    let (norm, _) = normalize_line_endings(message);
    let mut out = Vec::with_capacity(norm.len() + norm.len() / 64 + 8);
    let mut at_line_start = true;
    for &b in &norm {
        if at_line_start && b == b'.' {
            out.push(b'.');
        }
        out.push(b);
        at_line_start = b == b'\n';
    }
    if !out.is_empty() && !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(input: &[u8]) -> (usize, Option<DataOutcome>) {
        DataReceiver::new(1 << 20).feed(input)
    }

    #[test]
    fn a_plain_message_and_dot_unstuffing() {
        let (n, out) = read_all(b"Subject: x\r\n\r\n..leading dot\r\nbody\r\n.\r\nQUIT\r\n");
        let out = out.unwrap();
        assert_eq!(out.body, b"Subject: x\r\n\r\n.leading dot\r\nbody\r\n");
        assert_eq!(
            n,
            b"Subject: x\r\n\r\n..leading dot\r\nbody\r\n.\r\n".len(),
            "stops right after the end marker"
        );
        assert_eq!(out.bare_line_endings, 0);
    }

    #[test]
    fn smuggling_variants_never_end_the_message() {
        for evil in [
            &b"\n.\r\n"[..],
            b"\r.\r\n",
            b"\n.\n",
            b"\r\n.\n",
            b"\r\n.\r",
        ] {
            let mut msg = b"Subject: a\r\n\r\nhello".to_vec();
            msg.extend_from_slice(evil);
            msg.extend_from_slice(
                b"MAIL FROM:<evil@x.test>\r\nRCPT TO:<v@y.test>\r\nDATA\r\nspoofed\r\n.\r\n",
            );
            let (n, out) = read_all(&msg);
            let out = out.unwrap_or_else(|| panic!("{evil:?}: the real end was not found"));
            assert_eq!(n, msg.len(), "{evil:?}: one message up to the real end");
            let body = String::from_utf8_lossy(&out.body);
            assert!(
                body.contains("MAIL FROM:<evil@x.test>"),
                "{evil:?}: the smuggled text stays content: {body}"
            );
            let b = &out.body;
            assert!(
                b.iter().enumerate().all(|(i, c)| match *c {
                    b'\n' => i > 0 && b[i - 1] == b'\r',
                    b'\r' => b.get(i + 1) == Some(&b'\n'),
                    _ => true,
                }),
                "{evil:?}: normalised to CRLF"
            );
            assert!(out.bare_line_endings > 0, "{evil:?}");
        }
    }

    #[test]
    fn bytes_can_arrive_one_at_a_time() {
        let msg = b"a\r\n.b\r\n\r\n.\r\n";
        let mut r = DataReceiver::new(1000);
        let mut pending: Vec<u8> = Vec::new();
        let mut result = None;
        for &b in msg.iter() {
            pending.push(b);
            let (n, out) = r.feed(&pending);
            pending.drain(..n);
            if out.is_some() {
                result = out;
            }
        }
        assert_eq!(result.unwrap().body, b"a\r\nb\r\n\r\n");
    }

    #[test]
    fn limits_are_noted_and_reading_continues() {
        let mut r = DataReceiver::new(10);
        let (_, out) = r.feed(b"0123456789abcdef\r\n.\r\n");
        let out = out.unwrap();
        assert!(out.too_big && out.body.is_empty());
        let long = format!("{}\r\n.\r\n", "x".repeat(1000));
        let out = read_all(long.as_bytes()).1.unwrap();
        assert!(out.line_too_long);
        let ok = format!("{}\r\n.\r\n", "x".repeat(998));
        assert!(!read_all(ok.as_bytes()).1.unwrap().line_too_long);
    }

    #[test]
    fn a_line_without_end_is_counted_not_buffered() {
        let mut r = DataReceiver::new(1_000_000);
        for _ in 0..100 {
            let (used, done) = r.feed(&[b'x'; 100_000]);
            assert_eq!((used, done), (100_000, None));
            assert!(r.line.len() <= MAX_TEXT_LINE, "{}", r.line.len());
        }
        let (_, out) = r.feed(b"\r\n.\r\n");
        let out = out.unwrap();
        assert!(out.line_too_long && out.too_big, "{out:?}");
        assert_eq!(out.size, 10_000_002);
        assert!(out.body.is_empty());
    }

    #[test]
    fn sending_stuffs_dots_and_normalises() {
        assert_eq!(
            dot_stuff(b".a\nb\r\n.\r\nc"),
            b"..a\r\nb\r\n..\r\nc\r\n.\r\n"
        );
        assert_eq!(dot_stuff(b""), b".\r\n");
        // Round trip through the receiver gives the normalised message back.
        let original = b"Subject: t\r\n\r\n.x\r\n..y\r\nz\r\n";
        let out = read_all(&dot_stuff(original)).1.unwrap();
        assert_eq!(out.body, original);
    }
}
