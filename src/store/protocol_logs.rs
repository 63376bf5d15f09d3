//! The protocol logs on disk: where each direction's day file lives (the one home of the
//! names the writer, `engine::protolog`, uses) and reading them back for the console's viewer
//! and the command line — the days kept, and one day's lines filtered by session id,
//! connector and peer. Lines that do not parse (a file cut short by a crash, an edited file)
//! are counted and skipped, never fatal.

use super::error::{Result, StoreError};
use super::layout::DataDir;
use std::path::PathBuf;

/// Which log: sessions we received (`SmtpReceive`) or made (`SmtpSend`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum LogDirection {
    #[default]
    Receive,
    Send,
}

impl LogDirection {
    /// The folder under `logs/`.
    pub fn folder(self) -> &'static str {
        match self {
            LogDirection::Receive => "SmtpReceive",
            LogDirection::Send => "SmtpSend",
        }
    }

    /// The `#Log-type:` of the file header.
    pub fn title(self) -> &'static str {
        match self {
            LogDirection::Receive => "SMTP Receive Protocol Log",
            LogDirection::Send => "SMTP Send Protocol Log",
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            LogDirection::Receive => "RECV",
            LogDirection::Send => "SEND",
        }
    }

    /// The file name of `day` (`YYYYMMDD`): `RECV20261207.LOG`.
    pub fn file_name(self, day: &str) -> String {
        format!("{}{day}.LOG", self.prefix())
    }

    /// The file of `day` (`YYYYMMDD`).
    pub fn file(self, dir: &DataDir, day: &str) -> PathBuf {
        dir.logs().join(self.folder()).join(self.file_name(day))
    }
}

/// One line of a protocol log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogRow {
    /// RFC 3339, as written.
    pub time: String,
    pub connector: String,
    pub session: String,
    pub sequence: u32,
    pub local: String,
    pub remote: String,
    /// `+` connect, `-` disconnect, `>` sent, `<` received, `*` information.
    pub event: char,
    pub data: String,
    pub context: String,
}

/// Which lines to keep; blank fields match everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogFilter {
    /// Exact session id (case-insensitive).
    pub session: String,
    /// Connector name (case-insensitive substring).
    pub connector: String,
    /// The remote endpoint (substring: an IP address, or `ip:port`).
    pub peer: String,
}

impl LogFilter {
    fn keeps(&self, r: &LogRow) -> bool {
        let s = self.session.trim();
        let c = self.connector.trim().to_lowercase();
        let p = self.peer.trim();
        (s.is_empty() || r.session.eq_ignore_ascii_case(s))
            && (c.is_empty() || r.connector.to_lowercase().contains(&c))
            && (p.is_empty() || r.remote.contains(p))
    }
}

/// One day's lines, as filtered.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogDay {
    pub rows: Vec<LogRow>,
    /// More lines matched than were kept (the first `max` are kept).
    pub truncated: bool,
    /// Lines that are not protocol log records.
    pub skipped: usize,
}

/// The days with a log of `direction`, newest first, as `YYYYMMDD`.
pub fn days(dir: &DataDir, direction: LogDirection) -> Vec<String> {
    let folder = dir.logs().join(direction.folder());
    let Ok(entries) = std::fs::read_dir(&folder) else {
        return Vec::new();
    };
    let mut days: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let day = name
                .strip_prefix(direction.prefix())?
                .strip_suffix(".LOG")?
                .to_string();
            (day.len() == 8 && day.bytes().all(|b| b.is_ascii_digit())).then_some(day)
        })
        .collect();
    days.sort_unstable_by(|a, b| b.cmp(a));
    days
}

/// `YYYYMMDD` as `YYYY-MM-DD` (unchanged when it is not a day).
pub fn day_text(day: &str) -> String {
    if day.len() == 8 && day.is_ascii() {
        format!("{}-{}-{}", &day[..4], &day[4..6], &day[6..])
    } else {
        day.to_string()
    }
}

/// Reads the lines of `day` that `filter` keeps, at most `max` of them.
pub fn read_day(
    dir: &DataDir,
    direction: LogDirection,
    day: &str,
    filter: &LogFilter,
    max: usize,
) -> Result<LogDay> {
    let path = direction.file(dir, day);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(StoreError::Corrupt {
                path,
                why: format!(
                    "there is no {} for {}: the relay writes one on a day it has sessions with \
                     protocol logging on (Receive/Send connectors › Protocol logging)",
                    direction.title().to_lowercase(),
                    day_text(day)
                ),
            });
        }
        Err(source) => return Err(StoreError::Io { path, source }),
    };
    Ok(parse(&bytes, filter, max))
}

/// Parses a log file's bytes: header lines (`#…`) skipped, records kept as `filter` says.
pub fn parse(bytes: &[u8], filter: &LogFilter, max: usize) -> LogDay {
    let mut out = LogDay::default();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .comment(Some(b'#'))
        .from_reader(bytes);
    for record in reader.records() {
        let Ok(r) = record else {
            out.skipped += 1;
            continue;
        };
        if r.len() != 9 {
            out.skipped += 1;
            continue;
        }
        let field = |i: usize| r.get(i).unwrap_or("").to_string();
        let (Ok(sequence), Some(event)) = (field(3).parse::<u32>(), field(6).chars().next()) else {
            out.skipped += 1;
            continue;
        };
        let row = LogRow {
            time: field(0),
            connector: field(1),
            session: field(2),
            sequence,
            local: field(4),
            remote: field(5),
            event,
            data: field(7),
            context: field(8),
        };
        if !filter.keeps(&row) {
            continue;
        }
        if out.rows.len() >= max {
            out.truncated = true;
            break;
        }
        out.rows.push(row);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::csv::record;

    fn line(session: &str, connector: &str, remote: &str, seq: u32, data: &str) -> String {
        record([
            "2026-12-07T10:00:00Z",
            connector,
            session,
            &seq.to_string(),
            "127.0.0.1:25",
            remote,
            "<",
            data,
            "",
        ])
    }

    fn file() -> String {
        let mut s = String::from(
            "#Software: Mailflow\r\n#Fields: date-time,connector-id,session-id,sequence-number,local-endpoint,remote-endpoint,event,data,context\r\n",
        );
        s.push_str(&line("00A1", "Default", "192.0.2.7:4000", 0, "EHLO a"));
        s.push_str(&line(
            "00A2",
            "Internal relay",
            "192.0.2.8:4001",
            0,
            "EHLO b",
        ));
        s.push_str("not,a,record\r\n");
        s.push_str(&line(
            "00A1",
            "Default",
            "192.0.2.7:4000",
            1,
            "MAIL FROM:<x@y>, with a comma",
        ));
        s.push_str("2026-12-07T10:00:01Z,Default,00A1,notanumber,a,b,<,c,d\r\n");
        s
    }

    #[test]
    fn filters_by_session_connector_and_peer_and_skips_junk() {
        let all = parse(file().as_bytes(), &LogFilter::default(), 100);
        assert_eq!(all.rows.len(), 3);
        assert_eq!(all.skipped, 2);
        assert_eq!(all.rows[2].data, "MAIL FROM:<x@y>, with a comma");
        let by_session = LogFilter {
            session: "00a1".into(),
            ..Default::default()
        };
        let got = parse(file().as_bytes(), &by_session, 100);
        assert_eq!(got.rows.len(), 2);
        assert!(got.rows.iter().all(|r| r.session == "00A1"));
        let by_connector = LogFilter {
            connector: "internal".into(),
            ..Default::default()
        };
        assert_eq!(parse(file().as_bytes(), &by_connector, 100).rows.len(), 1);
        let by_peer = LogFilter {
            peer: "192.0.2.8".into(),
            ..Default::default()
        };
        let got = parse(file().as_bytes(), &by_peer, 100);
        assert_eq!(got.rows[0].data, "EHLO b");
        let capped = parse(file().as_bytes(), &LogFilter::default(), 2);
        assert!(capped.truncated);
        assert_eq!(capped.rows.len(), 2);
    }

    #[test]
    fn days_are_listed_newest_first_and_a_missing_day_says_why() {
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = DataDir::new(tmp.path());
        for day in ["20261205", "20261207", "20261206"] {
            let path = LogDirection::Receive.file(&dir, day);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(&path, file()).expect("write");
        }
        std::fs::write(dir.logs().join("SmtpReceive").join("notes.txt"), "x").expect("write");
        assert_eq!(
            days(&dir, LogDirection::Receive),
            vec!["20261207", "20261206", "20261205"]
        );
        assert!(days(&dir, LogDirection::Send).is_empty());
        let err = read_day(
            &dir,
            LogDirection::Send,
            "20261207",
            &LogFilter::default(),
            10,
        )
        .expect_err("no send log")
        .to_string();
        assert!(
            err.contains("there is no smtp send protocol log for 2026-12-07"),
            "{err}"
        );
        let day = read_day(
            &dir,
            LogDirection::Receive,
            "20261207",
            &LogFilter::default(),
            10,
        )
        .expect("read");
        assert_eq!(day.rows.len(), 3);
        assert_eq!(day_text("20261207"), "2026-12-07");
    }
}
