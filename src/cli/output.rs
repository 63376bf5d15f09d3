//! Plain-text tables and key/value blocks for command output.

/// Prints rows under headers, columns padded to their widest cell, with a dashed rule like
/// PowerShell's default table view.
pub fn table(headers: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, cell) in r.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<String>| {
        let mut out = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                out.push_str(c);
            } else {
                out.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        println!("{}", out.trim_end());
    };
    line(headers.iter().map(|h| h.to_string()).collect());
    line(
        headers
            .iter()
            .map(|h| "-".repeat(h.chars().count()))
            .collect(),
    );
    for r in rows {
        line(r.clone());
    }
}

/// Prints `key : value` lines aligned like Format-List.
pub fn list(items: &[(&str, String)]) {
    let w = items
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    for (k, v) in items {
        let mut lines = v.lines();
        println!("{k:<w$} : {}", lines.next().unwrap_or(""));
        for more in lines {
            println!("{:<w$}   {more}", "");
        }
    }
}

pub fn yes_no(b: bool) -> String {
    if b { "True".into() } else { "False".into() }
}

pub fn date(t: time::OffsetDateTime) -> String {
    mailflow::pki::text::format_date(t)
}
