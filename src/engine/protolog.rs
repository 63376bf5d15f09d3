//! Protocol logs in Exchange's CSV form, one file per direction and day
//! (`logs/SmtpReceive/RECV20261129.LOG`, `logs/SmtpSend/SEND20261129.LOG`), fields date-time,
//! connector-id, session-id, sequence-number, local-endpoint, remote-endpoint, event (`+`
//! connect, `-` disconnect, `>` sent, `<` received, `*` information), data, context. Secrets
//! are redacted and message contents are never logged. Lines go through a channel to a writer
//! task, so sessions never wait on the disk.

use crate::store::protocol_logs::LogDirection;
use std::io::Write;
use std::path::PathBuf;
use tokio::sync::mpsc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogKind {
    Receive,
    Send,
}

#[derive(Debug)]
pub struct LogLine {
    pub kind: LogKind,
    pub time: time::OffsetDateTime,
    pub connector: String,
    pub session: String,
    pub sequence: u32,
    pub local: String,
    pub remote: String,
    pub event: char,
    pub data: String,
    pub context: String,
}

/// Handle to the protocol log writer.
#[derive(Clone)]
pub struct ProtocolLog {
    tx: mpsc::UnboundedSender<LogLine>,
}

/// A log field on one line: a line break inside a field would split one event over two
/// lines of the log, so it becomes a space (the CSV quoting itself is `store::csv`'s).
fn one_line(field: &str) -> String {
    field.replace(['\r', '\n'], " ")
}

/// Hides secrets: AUTH arguments and anything that looks like a credential exchange.
pub fn redact(line: &str) -> String {
    let upper = line.trim_start().to_ascii_uppercase();
    if upper.starts_with("AUTH ") {
        let mech = line.split_whitespace().nth(1).unwrap_or("");
        return format!("AUTH {mech} <redacted>");
    }
    line.to_string()
}

impl ProtocolLog {
    /// Starts the writer task (call inside the runtime).
    pub fn start(dir: PathBuf) -> ProtocolLog {
        let (tx, mut rx) = mpsc::unbounded_channel::<LogLine>();
        tokio::task::spawn_blocking(move || {
            let mut files: Vec<(LogKind, String, std::io::BufWriter<std::fs::File>)> = Vec::new();
            while let Some(first) = rx.blocking_recv() {
                let mut batch = vec![first];
                while let Ok(more) = rx.try_recv() {
                    batch.push(more);
                    if batch.len() > 1000 {
                        break;
                    }
                }
                for l in batch {
                    let day = format!(
                        "{:04}{:02}{:02}",
                        l.time.year(),
                        u8::from(l.time.month()),
                        l.time.day()
                    );
                    let pos = files.iter().position(|(k, d, _)| *k == l.kind && *d == day);
                    let idx = match pos {
                        Some(i) => i,
                        None => {
                            let direction = match l.kind {
                                LogKind::Receive => LogDirection::Receive,
                                LogKind::Send => LogDirection::Send,
                            };
                            let kind_name = direction.title();
                            let folder = dir.join(direction.folder());
                            let _ = std::fs::create_dir_all(&folder);
                            let path = folder.join(direction.file_name(&day));
                            let fresh = !path.exists();
                            match std::fs::OpenOptions::new()
                                .create(true)
                                .append(true)
                                .open(&path)
                            {
                                Ok(f) => {
                                    let mut w = std::io::BufWriter::new(f);
                                    if fresh {
                                        let _ = write!(
                                            w,
                                            "#Software: Mailflow\r\n#Version: {}\r\n#Log-type: {kind_name}\r\n#Date: {}\r\n#Fields: date-time,connector-id,session-id,sequence-number,local-endpoint,remote-endpoint,event,data,context\r\n",
                                            env!("CARGO_PKG_VERSION"),
                                            day
                                        );
                                    }
                                    files.push((l.kind, day.clone(), w));
                                    files.len() - 1
                                }
                                Err(e) => {
                                    tracing::error!(
                                        "protocol log {} cannot be written: {e}",
                                        path.display()
                                    );
                                    continue;
                                }
                            }
                        }
                    };
                    let ts = l
                        .time
                        .format(&time::format_description::well_known::Rfc3339)
                        .unwrap_or_default();
                    let sequence = l.sequence.to_string();
                    let event = l.event.to_string();
                    let line = crate::store::csv::record([
                        ts.as_str(),
                        &one_line(&l.connector),
                        &l.session,
                        &sequence,
                        &l.local,
                        &l.remote,
                        &event,
                        &one_line(&redact(&l.data)),
                        &one_line(&l.context),
                    ]);
                    let _ = files[idx].2.write_all(line.as_bytes());
                }
                for f in files.iter_mut() {
                    let _ = f.2.flush();
                }
                // Keep only today's files open.
                if files.len() > 4 {
                    files.drain(..files.len() - 4);
                }
            }
            for mut f in files {
                let _ = f.2.flush();
            }
        });
        ProtocolLog { tx }
    }

    pub fn write(&self, line: LogLine) {
        let _ = self.tx.send(line);
    }
}

/// The log of one session: numbering, endpoints, and whether the connector logs at all.
pub struct SessionLog {
    pub log: Option<ProtocolLog>,
    pub kind: LogKind,
    pub connector: String,
    pub session: String,
    pub local: String,
    pub remote: String,
    pub sequence: u32,
}

impl SessionLog {
    pub fn event(&mut self, event: char, data: &str, context: &str) {
        if let Some(log) = &self.log {
            log.write(LogLine {
                kind: self.kind,
                time: time::OffsetDateTime::now_utc(),
                connector: self.connector.clone(),
                session: self.session.clone(),
                sequence: self.sequence,
                local: self.local.clone(),
                remote: self.remote.clone(),
                event,
                data: data.to_string(),
                context: context.to_string(),
            });
        }
        self.sequence += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_and_fields_kept_on_one_line() {
        assert_eq!(
            redact("AUTH PLAIN AGJvYgBzZWNyZXQ="),
            "AUTH PLAIN <redacted>"
        );
        assert_eq!(redact("MAIL FROM:<a@b>"), "MAIL FROM:<a@b>");
        assert_eq!(one_line("two\r\nlines"), "two  lines");
    }
}
