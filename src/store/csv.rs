//! CSV records (RFC 4180) written with the `csv` crate: the one writer for the protocol log and
//! every export, so that quoting is done in one place. A field is quoted only when it needs it
//! (a comma, a quote or a line break); quotes inside are doubled; records end with CRLF.

/// One record (a line ending with CRLF) of `fields`.
pub fn record<I, T>(fields: I) -> String
where
    I: IntoIterator<Item = T>,
    T: AsRef<[u8]>,
{
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .quote_style(csv::QuoteStyle::Necessary)
        .from_writer(Vec::new());
    // Writing to memory fails only when memory does; an empty line is then the answer.
    if w.write_record(fields).is_err() {
        return String::from("\r\n");
    }
    match w.into_inner() {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(_) => String::from("\r\n"),
    }
}

/// A cell a spreadsheet does not take for a formula: text starting with `=`, `+`, `-`, `@`, a
/// tab or a carriage return gets a leading `'` (OWASP's advice for CSV injection). For exports
/// holding what clients sent (senders, subjects).
pub fn spreadsheet_safe(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_only_what_needs_it() {
        assert_eq!(record(["a", "b"]), "a,b\r\n");
        assert_eq!(record(["a,b", "c"]), "\"a,b\",c\r\n");
        assert_eq!(record(["say \"hi\""]), "\"say \"\"hi\"\"\"\r\n");
        assert_eq!(record(["two\r\nlines", "x"]), "\"two\r\nlines\",x\r\n");
        assert_eq!(record(["", "x"]), ",x\r\n");
    }

    #[test]
    fn formulas_are_defused() {
        assert_eq!(spreadsheet_safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(spreadsheet_safe("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(spreadsheet_safe("-1+1"), "'-1+1");
        assert_eq!(spreadsheet_safe("alice@contoso.test"), "alice@contoso.test");
        assert_eq!(spreadsheet_safe(""), "");
    }

    /// What the writer writes, a reader reads back field for field.
    #[test]
    fn round_trips_through_a_reader() {
        let fields = ["plain", "a,b", "q\"uote", "line\nbreak", "", "é"];
        let line = record(fields);
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(line.as_bytes());
        let got: Vec<String> = r
            .records()
            .next()
            .expect("a record")
            .expect("readable")
            .iter()
            .map(str::to_string)
            .collect();
        assert_eq!(got, fields);
    }
}
