//! Text from outside (a HELO name, a certificate's CN, a remote server's reply) made safe to
//! put into a header field, a reply line, a log or a DSN: every control character becomes `?`,
//! as Postfix's `printable()` does, so no CR or LF taken from a peer can start a new header
//! field or a new reply line.

use std::borrow::Cow;

fn is_control(c: char) -> bool {
    c.is_control() && c != '\t'
}

/// `s` with every control character except TAB replaced by `?`.
pub fn printable(s: &str) -> Cow<'_, str> {
    if s.chars().any(is_control) {
        Cow::Owned(
            s.chars()
                .map(|c| if is_control(c) { '?' } else { c })
                .collect(),
        )
    } else {
        Cow::Borrowed(s)
    }
}

/// Like [`printable`], and also `"` and `\` replaced, for a value put between double quotes.
pub fn quotable(s: &str) -> Cow<'_, str> {
    if s.chars().any(|c| is_control(c) || c == '"' || c == '\\') {
        Cow::Owned(
            s.chars()
                .map(|c| {
                    if is_control(c) || c == '"' || c == '\\' {
                        '?'
                    } else {
                        c
                    }
                })
                .collect(),
        )
    } else {
        Cow::Borrowed(s)
    }
}

/// Whether a command line (without its CRLF) holds a control character other than TAB.
pub fn has_control_bytes(line: &[u8]) -> bool {
    line.iter()
        .any(|b| (*b < 0x20 && *b != b'\t') || *b == 0x7f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_become_question_marks() {
        assert_eq!(printable("mail.contoso.test"), "mail.contoso.test");
        assert!(matches!(printable("plain\ttext"), Cow::Borrowed(_)));
        assert_eq!(
            printable("x\r\nX-Mailflow-AuthAs: Partner\rY\0\u{7f}\u{85}"),
            "x??X-Mailflow-AuthAs: Partner?Y???"
        );
        assert_eq!(quotable("a \"b\" \\c\r\n"), "a ?b? ?c??");
        assert!(has_control_bytes(b"HELO a\rb"));
        assert!(has_control_bytes(b"HELO a\0"));
        assert!(!has_control_bytes(b"MAIL FROM:<a@b.test>\tSIZE=1"));
    }
}
