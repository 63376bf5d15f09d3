//! Message tracking: every RECEIVE, SEND, DELIVER, DEFER, FAIL and DSN event of every message
//! and every REJECT of a client's session or command (with the decision steps that refused it),
//! with its hop's addresses, connector, TLS facts, security status and SMTP response, kept in an
//! embedded SQLite database (`tracking.db`) sized for a million events. This module owns the
//! schema (versioned with `PRAGMA user_version`), searching (by sender, recipient, Message-ID,
//! internal id, time range, security status, event kind), retention pruning, and
//! [`TrackingWriter`], the background thread that batches inserts so the relay's hot path never
//! waits on SQLite. The database runs in WAL mode, so `mailflow track` and the console can read
//! ([`TrackingDb::open_read_only`]) while a relay writes.

use super::clock::now_ms;
use super::error::{Result, StoreError};
use super::partner_watch::{self, Seen, Sighting};
use crate::smtp::evidence::{DecisionStep, SecurityStatus, TlsFacts};
use rusqlite::types::{Type, Value};
use rusqlite::{Connection, ErrorCode, OpenFlags, Row, TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The schema this build reads and writes. Bump it with a migration in [`TrackingDb::open`].
const SCHEMA_VERSION: i64 = 3;

/// Schema version 1. Recipients are kept twice: in `events.recipients` (newline-joined, original
/// case and order, NULL when there are none) to give them back exactly, and lower-cased in
/// `event_recipients` to search them.
const SCHEMA_V1: &str = "
CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    time        INTEGER NOT NULL,   -- unix milliseconds
    kind        TEXT    NOT NULL,   -- RECEIVE, SEND, DELIVER, DEFER, FAIL, DSN
    internal_id TEXT    NOT NULL,
    message_id  TEXT,               -- the Message-ID header as given
    sender      TEXT    NOT NULL,   -- '' for the null sender
    sender_lc   TEXT    NOT NULL,
    recipients  TEXT,               -- newline-joined, original case and order; NULL for none
    subject     TEXT,
    size        INTEGER NOT NULL,
    client      TEXT,
    server      TEXT,
    connector   TEXT,
    security    TEXT    NOT NULL,   -- DomainSecure, Encrypted, Plaintext
    tls         TEXT,               -- TlsFacts as RON; NULL without TLS
    response    TEXT,
    detail      TEXT
);
CREATE TABLE event_recipients (
    event_id   INTEGER NOT NULL,    -- events.id
    address_lc TEXT    NOT NULL
);
CREATE INDEX events_time           ON events(time);
CREATE INDEX events_internal_id    ON events(internal_id);
CREATE INDEX events_message_id     ON events(message_id);
CREATE INDEX events_sender_lc      ON events(sender_lc);
CREATE INDEX events_security_time  ON events(security, time);
CREATE INDEX event_recipients_address ON event_recipients(address_lc, event_id);
CREATE INDEX event_recipients_event   ON event_recipients(event_id);
";

/// Schema version 2 adds, for refusals (`REJECT` events) and for opening the protocol log from
/// an event: the session id of the protocol log, the client's EHLO name, and the decision
/// steps of a refusal ("Why", RON).
const SCHEMA_V2_UPGRADE: &str = "
ALTER TABLE events ADD COLUMN session TEXT;
ALTER TABLE events ADD COLUMN helo    TEXT;
ALTER TABLE events ADD COLUMN why     TEXT;
CREATE INDEX events_kind_time ON events(kind, time);
CREATE INDEX events_session   ON events(session);
";

const COLUMNS: &str = "SELECT e.time, e.kind, e.internal_id, e.message_id, e.sender, e.recipients, \
     e.subject, e.size, e.client, e.server, e.connector, e.tls, e.security, e.response, e.detail, \
     e.session, e.helo, e.why FROM events e";

/// [`COLUMNS`] for a schema 1 database opened read-only (not upgraded yet).
const COLUMNS_V1: &str = "SELECT e.time, e.kind, e.internal_id, e.message_id, e.sender, \
     e.recipients, e.subject, e.size, e.client, e.server, e.connector, e.tls, e.security, \
     e.response, e.detail, NULL, NULL, NULL FROM events e";

const INSERT_EVENT: &str = "INSERT INTO events (time, kind, internal_id, message_id, sender, \
     sender_lc, recipients, subject, size, client, server, connector, security, tls, response, \
     detail, session, helo, why) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, \
     ?14, ?15, ?16, ?17, ?18, ?19)";

const INSERT_RECIPIENT: &str =
    "INSERT INTO event_recipients (event_id, address_lc) VALUES (?1, ?2)";

/// How many events [`TrackingDb::search`] returns when the query sets no limit.
pub const DEFAULT_LIMIT: usize = 1000;

/// What happened to a message at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventKind {
    /// We accepted the message from a client (`250` after DATA).
    Receive,
    /// We handed the message to the next hop (its `250` after DATA).
    Send,
    /// We delivered the message to a local mailbox.
    Deliver,
    /// A delivery attempt failed transiently; the message stays queued.
    Defer,
    /// Delivery failed permanently (or the message expired).
    Fail,
    /// We generated a delivery status notification for the message.
    Dsn,
    /// The message was found damaged in the queue and moved to the quarantine (Exchange's
    /// POISONMESSAGE/BADMAIL); the administrator can release it.
    Quarantine,
    /// The administrator released the message from the quarantine back into the queue.
    Release,
    /// We refused a client's session or command (Domain Security, relay denied, TLS
    /// handshake, limits, AUTH): no message was taken. Its internal id names the session and
    /// the refusal (`<session>-R<n>`), its `why` the decision steps.
    Reject,
}

impl EventKind {
    pub const ALL: [EventKind; 9] = [
        EventKind::Receive,
        EventKind::Send,
        EventKind::Deliver,
        EventKind::Defer,
        EventKind::Fail,
        EventKind::Dsn,
        EventKind::Quarantine,
        EventKind::Release,
        EventKind::Reject,
    ];

    /// `RECEIVE`, `SEND`, `DELIVER`, `DEFER`, `FAIL`, `DSN`, `QUARANTINE`, `RELEASE` (as
    /// stored and shown).
    pub fn as_str(&self) -> &'static str {
        match self {
            EventKind::Receive => "RECEIVE",
            EventKind::Send => "SEND",
            EventKind::Deliver => "DELIVER",
            EventKind::Defer => "DEFER",
            EventKind::Fail => "FAIL",
            EventKind::Dsn => "DSN",
            EventKind::Quarantine => "QUARANTINE",
            EventKind::Release => "RELEASE",
            EventKind::Reject => "REJECT",
        }
    }

    /// Parses the upper-case name, ignoring case and surrounding spaces (`deliver` works too).
    pub fn parse(s: &str) -> Option<EventKind> {
        let s = s.trim();
        EventKind::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s))
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One tracking event: one row of the console's table, one line of `mailflow track`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackingEvent {
    /// Unix milliseconds.
    pub time: i64,
    pub kind: EventKind,
    /// Our GUID for the message.
    pub internal_id: String,
    /// The Message-ID header, as it appeared (usually with `<>`).
    pub message_id: Option<String>,
    /// `""` for the null sender.
    pub sender: String,
    /// In RCPT order. Addresses never contain line breaks (SMTP forbids them); any CR or LF is
    /// stored as a space.
    pub recipients: Vec<String>,
    pub subject: Option<String>,
    pub size: u64,
    /// `ip:port` of the sending side of this hop.
    pub client: Option<String>,
    /// `ip:port` of the receiving side.
    pub server: Option<String>,
    pub connector: Option<String>,
    pub tls: Option<TlsFacts>,
    pub security: SecurityStatus,
    /// SMTP response or reason.
    pub response: Option<String>,
    /// Policy applied, evidence text.
    pub detail: Option<String>,
    /// The protocol log's session id of the hop (16 hex digits), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// The client's EHLO/HELO name, for events of an inbound session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helo: Option<String>,
    /// For a refusal: the relay's decision steps, the failed one with what would change it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub why: Vec<DecisionStep>,
}

/// A search. Every filter that is set must match; blank strings count as unset.
#[derive(Clone, Debug, Default)]
pub struct TrackingQuery {
    /// Case-insensitive substring of the sender; `<>` finds the null sender (bounces, DSNs).
    pub sender: Option<String>,
    /// Case-insensitive substring of any recipient.
    pub recipient: Option<String>,
    /// Exact Message-ID, with or without the angle brackets.
    pub message_id: Option<String>,
    /// Exact internal id.
    pub internal_id: Option<String>,
    /// Unix ms, inclusive.
    pub since: Option<i64>,
    /// Unix ms, exclusive.
    pub until: Option<i64>,
    pub security: Option<SecurityStatus>,
    pub kind: Option<EventKind>,
    /// Newest first; [`DEFAULT_LIMIT`] when unset.
    pub limit: Option<usize>,
}

/// A connection to `tracking.db`.
pub struct TrackingDb {
    conn: Connection,
    path: PathBuf,
    /// The schema of the file (a read-only connection may see an older one).
    version: i64,
}

impl fmt::Debug for TrackingDb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrackingDb")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl TrackingDb {
    /// Opens (creating if needed) the database for reading and writing: WAL mode,
    /// `synchronous=NORMAL`, schema created or checked. A database from a newer Mailflow, or a
    /// file that is not a Mailflow tracking database, is refused and left untouched.
    pub fn open(path: &Path) -> Result<TrackingDb> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)
            .map_err(|e| db_err(path, "cannot open the tracking database", e))?;
        let mut db = TrackingDb::configure(conn, path)?;
        // Refuse a newer or foreign database before changing anything (journal mode included).
        db.check_version(true)?;
        let mode: String = db
            .conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(|e| db_err(path, "cannot switch to WAL mode", e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Database {
                path: path.to_path_buf(),
                why: format!(
                    "the database stays in journal mode {mode:?} instead of WAL \
                     (is it on a network file system?); put the data directory on a local disk"
                ),
            });
        }
        db.conn
            .pragma_update(None, "synchronous", "NORMAL")
            .map_err(|e| db_err(path, "cannot set synchronous=NORMAL", e))?;
        db.create_schema()?;
        Ok(db)
    }

    /// Opens an existing database for reading only, e.g. for `mailflow track` while a relay
    /// writes to it (WAL lets both proceed).
    pub fn open_read_only(path: &Path) -> Result<TrackingDb> {
        if !path.exists() {
            return Err(StoreError::Database {
                path: path.to_path_buf(),
                why: "there is no tracking database here yet; it is created when the relay \
                      first starts (`mailflow serve` or the console)"
                    .into(),
            });
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)
            .map_err(|e| db_err(path, "cannot open the tracking database", e))?;
        let mut db = TrackingDb::configure(conn, path)?;
        db.version = db.check_version(false)?;
        Ok(db)
    }

    fn configure(conn: Connection, path: &Path) -> Result<TrackingDb> {
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(|e| db_err(path, "cannot set the busy timeout", e))?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(TrackingDb {
            conn,
            path: path.to_path_buf(),
            version: SCHEMA_VERSION,
        })
    }

    /// Checks `user_version`. Version 0 is accepted only for an empty file that we may create
    /// the schema in (`writable`).
    fn check_version(&self, writable: bool) -> Result<i64> {
        let version: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(|e| db_err(&self.path, "cannot read the schema version", e))?;
        if version > SCHEMA_VERSION {
            return Err(newer_schema(&self.path, version));
        }
        if version == 0 {
            let tables: i64 = self
                .conn
                .query_row(
                    "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'",
                    [],
                    |row| row.get(0),
                )
                .map_err(|e| db_err(&self.path, "cannot read the schema", e))?;
            if tables > 0 {
                return Err(self.not_ours());
            }
            if !writable {
                return Err(StoreError::Database {
                    path: self.path.clone(),
                    why: "the tracking database is empty (no schema yet); start the relay once \
                          to create it"
                        .into(),
                });
            }
        }
        Ok(version)
    }

    fn not_ours(&self) -> StoreError {
        StoreError::Database {
            path: self.path.clone(),
            why: "this is an SQLite database but not a Mailflow tracking database; move it \
                  aside and Mailflow will create a new one"
                .into(),
        }
    }

    /// Creates the schema in an empty database (under an immediate transaction, so two
    /// processes opening at once do not both create it).
    fn create_schema(&mut self) -> Result<()> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| db_err(&path, "cannot lock the database to check its schema", e))?;
        let version: i64 = tx
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(|e| db_err(&path, "cannot read the schema version", e))?;
        match version {
            0..=2 => {
                if version == 0 {
                    tx.execute_batch(SCHEMA_V1)
                        .map_err(|e| db_err(&path, "cannot create the schema", e))?;
                }
                if version < 2 {
                    tx.execute_batch(SCHEMA_V2_UPGRADE)
                        .map_err(|e| db_err(&path, "cannot upgrade the schema to version 2", e))?;
                }
                tx.execute_batch(partner_watch::SCHEMA)
                    .map_err(|e| db_err(&path, "cannot upgrade the schema to version 3", e))?;
                tx.pragma_update(None, "user_version", SCHEMA_VERSION)
                    .map_err(|e| db_err(&path, "cannot record the schema version", e))?;
                tx.commit()
                    .map_err(|e| db_err(&path, "cannot commit the new schema", e))?;
            }
            SCHEMA_VERSION => {}
            // Another process upgraded the file between our check and our lock.
            v if v > SCHEMA_VERSION => return Err(newer_schema(&path, v)),
            v => {
                return Err(StoreError::Database {
                    path,
                    why: format!("unknown schema version {v}; move the file aside"),
                });
            }
        }
        Ok(())
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Inserts events in one transaction: all or none.
    pub fn insert(&mut self, events: &[TrackingEvent]) -> Result<()> {
        self.insert_with(events, &[])
    }

    /// Inserts events and records partner certificate sightings
    /// ([`partner_watch`]) in one transaction: all or none.
    pub fn insert_with(&mut self, events: &[TrackingEvent], sightings: &[Sighting]) -> Result<()> {
        if events.is_empty() && sightings.is_empty() {
            return Ok(());
        }
        let path = &self.path;
        let tx = self
            .conn
            .transaction()
            .map_err(|e| db_err(path, "cannot start a transaction", e))?;
        {
            let mut insert_event = tx
                .prepare_cached(INSERT_EVENT)
                .map_err(|e| db_err(path, "cannot prepare the insert", e))?;
            let mut insert_recipient = tx
                .prepare_cached(INSERT_RECIPIENT)
                .map_err(|e| db_err(path, "cannot prepare the insert", e))?;
            for event in events {
                let tls = match &event.tls {
                    None => None,
                    Some(t) => Some(ron::to_string(t).map_err(|e| StoreError::Database {
                        path: path.clone(),
                        why: format!("cannot encode the TLS facts of an event: {e}"),
                    })?),
                };
                let why = if event.why.is_empty() {
                    None
                } else {
                    Some(
                        ron::to_string(&event.why).map_err(|e| StoreError::Database {
                            path: path.clone(),
                            why: format!("cannot encode the decision steps of an event: {e}"),
                        })?,
                    )
                };
                let recipients = join_recipients(&event.recipients);
                // Sizes beyond i64 do not exist in practice; saturate rather than fail.
                let size = i64::try_from(event.size).unwrap_or(i64::MAX);
                let id = insert_event
                    .insert(params![
                        event.time,
                        event.kind.as_str(),
                        event.internal_id,
                        event.message_id,
                        event.sender,
                        event.sender.to_lowercase(),
                        recipients,
                        event.subject,
                        size,
                        event.client,
                        event.server,
                        event.connector,
                        security_key(event.security),
                        tls,
                        event.response,
                        event.detail,
                        event.session,
                        event.helo,
                        why,
                    ])
                    .map_err(|e| db_err(path, "cannot insert an event", e))?;
                for r in &event.recipients {
                    insert_recipient
                        .execute(params![id, r.to_lowercase()])
                        .map_err(|e| db_err(path, "cannot insert a recipient", e))?;
                }
            }
        }
        partner_watch::record(&tx, path, sightings)?;
        tx.commit()
            .map_err(|e| db_err(path, "cannot commit the events", e))
    }

    /// Events matching every filter of `q`, newest first (ties: last inserted first).
    pub fn search(&self, q: &TrackingQuery) -> Result<Vec<TrackingEvent>> {
        let (sql, args) = search_sql(self.columns(), q);
        self.query_events(&sql, args)
    }

    /// All events of one message, oldest first.
    pub fn message_history(&self, internal_id: &str) -> Result<Vec<TrackingEvent>> {
        let sql = format!(
            "{} WHERE e.internal_id = ? ORDER BY e.time ASC, e.id ASC",
            self.columns()
        );
        self.query_events(&sql, vec![Value::Text(internal_id.to_owned())])
    }

    fn columns(&self) -> &'static str {
        if self.version < 2 {
            COLUMNS_V1
        } else {
            COLUMNS
        }
    }

    fn query_events(&self, sql: &str, args: Vec<Value>) -> Result<Vec<TrackingEvent>> {
        let path = &self.path;
        let mut stmt = self
            .conn
            .prepare_cached(sql)
            .map_err(|e| db_err(path, "cannot prepare the search", e))?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(args), event_from_row)
            .map_err(|e| db_err(path, "cannot search", e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| db_err(path, "cannot read the events", e))
    }

    /// Deletes the events older than `time` (unix ms) and their recipient rows; returns how
    /// many events went.
    pub fn prune_before(&mut self, time: i64) -> Result<usize> {
        let path = &self.path;
        let tx = self
            .conn
            .transaction()
            .map_err(|e| db_err(path, "cannot start a transaction", e))?;
        tx.execute(
            "DELETE FROM event_recipients WHERE event_id IN \
             (SELECT id FROM events WHERE time < ?1)",
            params![time],
        )
        .map_err(|e| db_err(path, "cannot prune old recipients", e))?;
        let n = tx
            .execute("DELETE FROM events WHERE time < ?1", params![time])
            .map_err(|e| db_err(path, "cannot prune old events", e))?;
        // The watch keeps longer than tracking: a certificate is judged against last year's.
        partner_watch::prune_before(&tx, path, now_ms().saturating_sub(partner_watch::KEEP_MS))?;
        tx.commit()
            .map_err(|e| db_err(path, "cannot commit the pruning", e))?;
        Ok(n)
    }

    /// The partner certificate watch ([`partner_watch`]): every row, or those of one domain,
    /// newest sighting first.
    pub fn sightings(&self, domain: Option<&str>) -> Result<Vec<Seen>> {
        partner_watch::list(&self.conn, &self.path, domain)
    }

    /// Tracking's view of partner `domain` at `now` (unix ms) with `days` days of history
    /// ([`super::partner_activity`]).
    pub fn partner_activity(
        &self,
        domain: &str,
        now: i64,
        days: i64,
    ) -> Result<super::partner_activity::Activity> {
        super::partner_activity::read(&self.conn, &self.path, domain, now, days)
    }

    /// How many events the database holds.
    pub fn count(&self) -> Result<u64> {
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM events", [], |row| row.get(0))
            .map_err(|e| db_err(&self.path, "cannot count the events", e))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Lets SQLite refresh its planner statistics when they are stale (cheap; bounded work).
    fn optimize(&self) -> Result<()> {
        self.conn
            .execute_batch("PRAGMA analysis_limit=1000; PRAGMA optimize;")
            .map_err(|e| db_err(&self.path, "cannot optimize", e))
    }
}

/// The SQL and arguments of a search; every user value is a bound parameter.
fn search_sql(columns: &str, q: &TrackingQuery) -> (String, Vec<Value>) {
    let mut sql = String::from(columns);
    let mut conds: Vec<&str> = Vec::new();
    let mut args: Vec<Value> = Vec::new();

    if let Some(id) = non_blank(&q.internal_id) {
        conds.push("e.internal_id = ?");
        args.push(Value::Text(id.to_owned()));
    }
    if let Some(mid) = non_blank(&q.message_id) {
        let core = strip_angle_brackets(mid);
        conds.push("e.message_id IN (?, ?)");
        args.push(Value::Text(core.to_owned()));
        args.push(Value::Text(format!("<{core}>")));
    }
    if let Some(since) = q.since {
        conds.push("e.time >= ?");
        args.push(Value::Integer(since));
    }
    if let Some(until) = q.until {
        conds.push("e.time < ?");
        args.push(Value::Integer(until));
    }
    if let Some(security) = q.security {
        conds.push("e.security = ?");
        args.push(Value::Text(security_key(security).to_owned()));
    }
    if let Some(kind) = q.kind {
        conds.push("e.kind = ?");
        args.push(Value::Text(kind.as_str().to_owned()));
    }
    if let Some(sender) = non_blank(&q.sender) {
        if sender == "<>" {
            conds.push("e.sender_lc = ''");
        } else {
            // instr() on lower-cased text: a substring match with no wildcard to escape.
            conds.push("instr(e.sender_lc, ?) > 0");
            args.push(Value::Text(sender.to_lowercase()));
        }
    }
    if let Some(rcpt) = non_blank(&q.recipient) {
        conds.push(
            "EXISTS (SELECT 1 FROM event_recipients r \
             WHERE r.event_id = e.id AND instr(r.address_lc, ?) > 0)",
        );
        args.push(Value::Text(rcpt.to_lowercase()));
    }
    if !conds.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conds.join(" AND "));
    }
    sql.push_str(" ORDER BY e.time DESC, e.id DESC LIMIT ?");
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    args.push(Value::Integer(i64::try_from(limit).unwrap_or(i64::MAX)));
    (sql, args)
}

/// The stored name of a security status (stable; the enum's name, which `SecurityStatus::parse`
/// reads back).
fn security_key(s: SecurityStatus) -> &'static str {
    match s {
        SecurityStatus::DomainSecure => "DomainSecure",
        SecurityStatus::Encrypted => "Encrypted",
        SecurityStatus::Plaintext => "Plaintext",
    }
}

fn join_recipients(recipients: &[String]) -> Option<String> {
    if recipients.is_empty() {
        return None;
    }
    let clean: Vec<String> = recipients
        .iter()
        .map(|r| r.replace(['\r', '\n'], " "))
        .collect();
    Some(clean.join("\n"))
}

fn split_recipients(joined: Option<String>) -> Vec<String> {
    match joined {
        None => Vec::new(),
        Some(s) => s.split('\n').map(str::to_owned).collect(),
    }
}

fn non_blank(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn strip_angle_brackets(s: &str) -> &str {
    let s = s.trim();
    let s = s.strip_prefix('<').unwrap_or(s);
    s.strip_suffix('>').unwrap_or(s).trim()
}

/// A stored value this build cannot read back.
#[derive(Debug)]
struct BadValue(String);

impl fmt::Display for BadValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadValue {}

fn bad_value(column: usize, why: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, Type::Text, Box::new(BadValue(why)))
}

/// Decodes a row of [`COLUMNS`].
fn event_from_row(row: &Row<'_>) -> rusqlite::Result<TrackingEvent> {
    let kind: String = row.get(1)?;
    let kind =
        EventKind::parse(&kind).ok_or_else(|| bad_value(1, format!("event kind {kind:?}")))?;
    let size: i64 = row.get(7)?;
    let tls = match row.get::<_, Option<String>>(11)? {
        None => None,
        Some(text) => Some(
            ron::from_str::<TlsFacts>(&text)
                .map_err(|e| bad_value(11, format!("TLS facts do not parse: {e}")))?,
        ),
    };
    let security: String = row.get(12)?;
    let security = SecurityStatus::parse(&security)
        .ok_or_else(|| bad_value(12, format!("security status {security:?}")))?;
    Ok(TrackingEvent {
        time: row.get(0)?,
        kind,
        internal_id: row.get(2)?,
        message_id: row.get(3)?,
        sender: row.get(4)?,
        recipients: split_recipients(row.get(5)?),
        subject: row.get(6)?,
        size: u64::try_from(size).map_err(|_| bad_value(7, format!("negative size {size}")))?,
        client: row.get(8)?,
        server: row.get(9)?,
        connector: row.get(10)?,
        tls,
        security,
        response: row.get(13)?,
        detail: row.get(14)?,
        session: row.get(15)?,
        helo: row.get(16)?,
        why: match row.get::<_, Option<String>>(17)? {
            None => Vec::new(),
            Some(text) => ron::from_str(&text)
                .map_err(|e| bad_value(17, format!("decision steps do not parse: {e}")))?,
        },
    })
}

/// The refusal of a database written by a newer Mailflow.
fn newer_schema(path: &Path, version: i64) -> StoreError {
    let name = path.file_name().map_or_else(
        || "the database".into(),
        |n| n.to_string_lossy().into_owned(),
    );
    StoreError::Database {
        path: path.to_path_buf(),
        why: format!(
            "{name} is from a newer Mailflow (schema {version}); this one reads schema \
             {SCHEMA_VERSION}. Run the newer Mailflow, or move the file aside to start a \
             new tracking log"
        ),
    }
}

/// Wraps an SQLite error with the file and what we were doing, plus a hint a person can act on.
fn db_err(path: &Path, doing: &str, e: rusqlite::Error) -> StoreError {
    let hint = match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => {
            " — this file is not an SQLite database; move it aside and Mailflow will create a new one"
        }
        Some(ErrorCode::DatabaseCorrupt) => {
            " — the database is damaged; move it aside (tracking history is lost, mail is not)"
        }
        Some(ErrorCode::DiskFull) => " — the disk is full; free space or shorten the retention",
        Some(ErrorCode::ReadOnly) => {
            " — the database is read-only here (opened read-only, or no write permission)"
        }
        Some(ErrorCode::CannotOpen) | Some(ErrorCode::PermissionDenied) => {
            " — check that the folder exists and that you may read and write it"
        }
        Some(ErrorCode::DatabaseBusy) | Some(ErrorCode::DatabaseLocked) => {
            " — another process holds the database locked; try again"
        }
        _ => "",
    };
    StoreError::Database {
        path: path.to_path_buf(),
        why: format!("{doing}: {e}{hint}"),
    }
}

/// Most events the writer commits in one transaction.
const BATCH_MAX: usize = 500;
/// Longest an event waits in the writer before its batch is committed.
const BATCH_WINDOW: Duration = Duration::from_millis(100);
/// How often the writer prunes by retention.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

enum Command {
    Record(Box<TrackingEvent>),
    Saw(Box<Sighting>),
    /// Commit everything received so far, then answer.
    Flush(mpsc::Sender<()>),
}

/// A background writer: a thread owning a [`TrackingDb`], receiving events over a channel and
/// inserting them in batches (up to [`BATCH_MAX`] events or [`BATCH_WINDOW`]), so the relay's hot
/// path never waits on SQLite. Prunes by retention at start and then once an hour.
///
/// Dropping it has the same effect as [`TrackingWriter::stop`].
pub struct TrackingWriter {
    sender: Option<mpsc::Sender<Command>>,
    handle: Option<JoinHandle<()>>,
    /// Set once "the writer is gone" has been logged.
    dead_logged: AtomicBool,
}

impl fmt::Debug for TrackingWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrackingWriter").finish_non_exhaustive()
    }
}

impl TrackingWriter {
    /// Opens the database (so errors show immediately) and starts the writer thread.
    /// `retention_ms`: events older than this are pruned; `<= 0` keeps everything.
    pub fn start(path: PathBuf, retention_ms: i64) -> Result<TrackingWriter> {
        let db = TrackingDb::open(&path)?;
        let (sender, receiver) = mpsc::channel();
        let handle = std::thread::Builder::new()
            .name("mailflow-tracking".into())
            .spawn(move || writer_loop(db, receiver, retention_ms))
            .map_err(|e| StoreError::io(&path, e))?;
        Ok(TrackingWriter {
            sender: Some(sender),
            handle: Some(handle),
            dead_logged: AtomicBool::new(false),
        })
    }

    /// Queues an event; never blocks. If the writer thread has died, the event is dropped and
    /// that is logged once.
    pub fn record(&self, event: TrackingEvent) {
        self.send(Command::Record(Box::new(event)));
    }

    fn send(&self, command: Command) {
        let sent = match &self.sender {
            Some(s) => s.send(command).is_ok(),
            None => false,
        };
        if !sent && !self.dead_logged.swap(true, Ordering::Relaxed) {
            tracing::error!(
                "the message tracking writer has stopped; tracking events are being dropped"
            );
        }
    }

    /// Queues a partner certificate sighting ([`partner_watch`]); never blocks, as
    /// [`TrackingWriter::record`].
    pub fn saw(&self, sighting: Sighting) {
        self.send(Command::Saw(Box::new(sighting)));
    }

    /// Blocks until every event recorded so far is committed (or the writer has died).
    pub fn flush(&self) {
        let Some(sender) = &self.sender else { return };
        let (ack_tx, ack_rx) = mpsc::channel();
        if sender.send(Command::Flush(ack_tx)).is_ok() {
            // An error here means the writer died; nothing more can be committed.
            let _ = ack_rx.recv();
        }
    }

    /// Commits everything recorded and joins the writer thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        // Closing the channel makes the writer commit what it holds and return.
        drop(self.sender.take());
        if let Some(handle) = self.handle.take()
            && handle.join().is_err()
        {
            tracing::error!("the message tracking writer panicked");
        }
    }
}

impl Drop for TrackingWriter {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn writer_loop(mut db: TrackingDb, receiver: mpsc::Receiver<Command>, retention_ms: i64) {
    let mut batch = Batch::default();
    let mut failing = false;
    let mut next_prune = Instant::now();
    loop {
        if retention_ms > 0 && Instant::now() >= next_prune {
            prune(&mut db, retention_ms);
            next_prune = Instant::now() + PRUNE_EVERY;
        }
        // Wait for the first event of a batch (waking for the next prune).
        let wait = next_prune
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        let wait = if retention_ms > 0 { wait } else { PRUNE_EVERY };
        match receiver.recv_timeout(wait) {
            Ok(Command::Record(e)) => batch.events.push(*e),
            Ok(Command::Saw(s)) => batch.sightings.push(*s),
            Ok(Command::Flush(ack)) => {
                // Nothing is pending: everything before this flush is committed.
                let _ = ack.send(());
                continue;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
        // Gather the rest of the batch.
        let deadline = Instant::now() + BATCH_WINDOW;
        let mut ack = None;
        let mut closed = false;
        while batch.len() < BATCH_MAX {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match receiver.recv_timeout(left) {
                Ok(Command::Record(e)) => batch.events.push(*e),
                Ok(Command::Saw(s)) => batch.sightings.push(*s),
                Ok(Command::Flush(a)) => {
                    ack = Some(a);
                    break;
                }
                Err(mpsc::RecvTimeoutError::Timeout) => break,
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    closed = true;
                    break;
                }
            }
        }
        commit(&mut db, &mut batch, &mut failing);
        if let Some(ack) = ack {
            let _ = ack.send(());
        }
        if closed {
            return;
        }
    }
}

/// What the writer gathers before committing: events and certificate sightings.
#[derive(Default)]
struct Batch {
    events: Vec<TrackingEvent>,
    sightings: Vec<Sighting>,
}

impl Batch {
    fn len(&self) -> usize {
        self.events.len() + self.sightings.len()
    }

    fn clear(&mut self) {
        self.events.clear();
        self.sightings.clear();
    }
}

/// Inserts the batch; on failure logs (once per run of failures) and drops it, so a broken
/// database never stalls or grows the relay's memory.
fn commit(db: &mut TrackingDb, batch: &mut Batch, failing: &mut bool) {
    match db.insert_with(&batch.events, &batch.sightings) {
        Ok(()) => {
            if *failing {
                tracing::info!("message tracking is writing again");
                *failing = false;
            }
        }
        Err(e) => {
            if !*failing {
                tracing::error!(
                    "message tracking lost {} events and {} certificate sightings: {e} \
                     (further failures are not logged until writing works again)",
                    batch.events.len(),
                    batch.sightings.len()
                );
                *failing = true;
            }
        }
    }
    batch.clear();
}

fn prune(db: &mut TrackingDb, retention_ms: i64) {
    let cutoff = now_ms().saturating_sub(retention_ms);
    match db.prune_before(cutoff) {
        Ok(0) => {}
        Ok(n) => tracing::info!("message tracking: pruned {n} events past the retention period"),
        Err(e) => tracing::error!("message tracking: pruning failed: {e}"),
    }
    if let Err(e) = db.optimize() {
        tracing::warn!("message tracking: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::evidence::{PeerCertificate, TrustLevel};

    fn tls() -> TlsFacts {
        TlsFacts {
            version: "TLSv1.3".into(),
            cipher: "TLS_AES_256_GCM_SHA384".into(),
            cipher_bits: 256,
            key_exchange: Some("X25519".into()),
            peer_certificate: Some(PeerCertificate {
                subject: "CN=mail.woodgrove.test, O=\"Woodgrove, Bank\"".into(),
                issuer: "CN=Woodgrove Root CA".into(),
                subject_cn: "mail.woodgrove.test".into(),
                issuer_cn: "Woodgrove Root CA".into(),
                thumbprint: "0123456789ABCDEF0123456789ABCDEF01234567".into(),
                public_key_sha256: "AB".repeat(32),
                names: vec!["mail.woodgrove.test".into(), "*.woodgrove.test".into()],
                not_after: 1_900_000_000,
            }),
            trust: TrustLevel::Verified,
            trust_detail: Some("name matches \"woodgrove.test\"\nline two".into()),
        }
    }

    fn event(time: i64, kind: EventKind, id: &str, sender: &str, rcpts: &[&str]) -> TrackingEvent {
        TrackingEvent {
            time,
            kind,
            internal_id: id.into(),
            message_id: Some(format!("<{id}@contoso.test>")),
            sender: sender.into(),
            recipients: rcpts.iter().map(|r| r.to_string()).collect(),
            subject: Some(format!("Subject of {id}")),
            size: 1234,
            client: Some("192.0.2.1:50000".into()),
            server: Some("192.0.2.2:25".into()),
            connector: Some("Default".into()),
            tls: None,
            security: SecurityStatus::Plaintext,
            response: Some("250 2.6.0 Queued mail for delivery".into()),
            detail: None,
            session: None,
            helo: None,
            why: Vec::new(),
        }
    }

    /// A schema 1 file (as the first release wrote it) with one event.
    fn v1_file(path: &Path) {
        let conn = Connection::open(path).expect("raw open");
        conn.execute_batch(SCHEMA_V1).expect("v1 schema");
        conn.pragma_update(None, "user_version", 1).expect("v1");
        conn.execute(
            "INSERT INTO events (time, kind, internal_id, sender, sender_lc, size, security) \
             VALUES (5, 'RECEIVE', 'OLD', 'a@b.test', 'a@b.test', 10, 'Plaintext')",
            [],
        )
        .expect("old event");
    }

    /// A schema 1 database is read as it is by a reader and upgraded in place by the relay:
    /// its events kept, refusals with their session, EHLO name and steps stored from then on.
    #[test]
    fn schema_1_is_read_then_upgraded_keeping_its_events() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tracking.db");
        v1_file(&path);
        let reader = TrackingDb::open_read_only(&path).expect("read v1");
        let old = reader.message_history("OLD").expect("history");
        assert_eq!(old.len(), 1);
        assert_eq!(old[0].session, None);
        drop(reader);

        let mut db = TrackingDb::open(&path).expect("upgrade");
        let mut refusal = event(
            6,
            EventKind::Reject,
            "00000000000000AB-R1",
            "x@woodgrove.test",
            &[],
        );
        refusal.session = Some("00000000000000AB".into());
        refusal.helo = Some("mail.woodgrove.test".into());
        refusal.why = vec![
            DecisionStep::passed("Sender domain on the list", "woodgrove.test is on it"),
            DecisionStep::failed("Certificate names", "names: mail.fabrikam.test", "ask them"),
        ];
        db.insert(std::slice::from_ref(&refusal)).expect("insert");
        let got = db
            .search(&TrackingQuery {
                kind: Some(EventKind::Reject),
                ..Default::default()
            })
            .expect("search");
        assert_eq!(got, vec![refusal]);
        assert_eq!(db.message_history("OLD").expect("old").len(), 1);
        let v: i64 = db
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .expect("version");
        assert_eq!(v, SCHEMA_VERSION);
        // The upgrade brought the certificate watch.
        assert_eq!(db.sightings(None).expect("sightings"), Vec::new());
    }

    /// A small, varied set of events.
    fn sample() -> Vec<TrackingEvent> {
        let mut a1 = event(
            1000,
            EventKind::Receive,
            "m1",
            "Alice@Contoso.test",
            &["Bob@Woodgrove.test", "carol@fabrikam.test"],
        );
        a1.security = SecurityStatus::DomainSecure;
        a1.tls = Some(tls());
        let mut a2 = event(
            2000,
            EventKind::Send,
            "m1",
            "Alice@Contoso.test",
            &["Bob@Woodgrove.test"],
        );
        a2.security = SecurityStatus::DomainSecure;
        a2.tls = Some(tls());
        let mut a3 = event(
            2500,
            EventKind::Defer,
            "m1",
            "Alice@Contoso.test",
            &["carol@fabrikam.test"],
        );
        a3.response = Some("451 4.7.5 certificate name mismatch".into());
        let b1 = event(
            1500,
            EventKind::Receive,
            "m2",
            "dave@northwind.test",
            &["eve@contoso.test"],
        );
        let mut b2 = event(
            3000,
            EventKind::Deliver,
            "m2",
            "dave@northwind.test",
            &["eve@contoso.test"],
        );
        b2.security = SecurityStatus::Encrypted;
        let mut c1 = event(4000, EventKind::Dsn, "m3", "", &["Alice@Contoso.test"]);
        c1.message_id = None;
        c1.subject = None;
        c1.client = None;
        c1.server = None;
        c1.connector = None;
        c1.response = None;
        c1.detail = Some("delivery status notification for m1".into());
        let mut c2 = event(4500, EventKind::Fail, "m4", "x_y%z@odd.test", &[]);
        c2.message_id = Some("no-brackets@odd.test".into());
        vec![a1, a2, a3, b1, b2, c1, c2]
    }

    fn open_sample() -> (tempfile::TempDir, TrackingDb) {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut db = TrackingDb::open(&dir.path().join("tracking.db")).expect("open");
        db.insert(&sample()).expect("insert");
        (dir, db)
    }

    fn times(events: &[TrackingEvent]) -> Vec<i64> {
        events.iter().map(|e| e.time).collect()
    }

    fn find(db: &TrackingDb, q: TrackingQuery) -> Vec<i64> {
        times(&db.search(&q).expect("search"))
    }

    #[test]
    fn event_kind_names_round_trip() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::parse(k.as_str()), Some(k));
            assert_eq!(EventKind::parse(&k.as_str().to_lowercase()), Some(k));
            assert_eq!(k.to_string(), k.as_str());
        }
        assert_eq!(EventKind::parse(" deliver "), Some(EventKind::Deliver));
        assert_eq!(EventKind::parse("DELIVERED"), None);
    }

    #[test]
    fn search_without_filters_is_newest_first_and_complete() {
        let (_dir, db) = open_sample();
        assert_eq!(
            find(&db, TrackingQuery::default()),
            vec![4500, 4000, 3000, 2500, 2000, 1500, 1000]
        );
        // The events come back exactly as inserted.
        let mut all = db.search(&TrackingQuery::default()).expect("search");
        all.reverse();
        let mut expected = sample();
        expected.sort_by_key(|e| e.time);
        assert_eq!(all, expected);
        assert_eq!(db.count().expect("count"), 7);
    }

    #[test]
    fn search_by_sender_is_a_case_insensitive_substring() {
        let (_dir, db) = open_sample();
        let q = |s: &str| TrackingQuery {
            sender: Some(s.into()),
            ..Default::default()
        };
        assert_eq!(find(&db, q("alice@contoso")), vec![2500, 2000, 1000]);
        assert_eq!(find(&db, q("ALICE")), vec![2500, 2000, 1000]);
        assert_eq!(find(&db, q("northwind")), vec![3000, 1500]);
        // LIKE wildcards in the input are plain characters.
        assert_eq!(find(&db, q("_y%")), vec![4500]);
        assert_eq!(find(&db, q("%")), vec![4500]);
        assert_eq!(find(&db, q("nobody")), Vec::<i64>::new());
        // `<>` is the null sender; blank is no filter.
        assert_eq!(find(&db, q("<>")), vec![4000]);
        assert_eq!(find(&db, q("  ")).len(), 7);
    }

    #[test]
    fn search_by_recipient_matches_any_recipient() {
        let (_dir, db) = open_sample();
        let q = |s: &str| TrackingQuery {
            recipient: Some(s.into()),
            ..Default::default()
        };
        assert_eq!(find(&db, q("bob@woodgrove.test")), vec![2000, 1000]);
        assert_eq!(find(&db, q("CAROL")), vec![2500, 1000]);
        assert_eq!(find(&db, q("contoso.test")), vec![4000, 3000, 1500]);
        assert_eq!(find(&db, q("zed")), Vec::<i64>::new());
        // Recipients come back in their original case and order.
        let first = db.search(&q("carol")).expect("search");
        assert_eq!(
            first[1].recipients,
            vec![
                "Bob@Woodgrove.test".to_string(),
                "carol@fabrikam.test".to_string()
            ]
        );
    }

    #[test]
    fn search_by_message_id_with_or_without_brackets() {
        let (_dir, db) = open_sample();
        let q = |s: &str| TrackingQuery {
            message_id: Some(s.into()),
            ..Default::default()
        };
        assert_eq!(find(&db, q("<m1@contoso.test>")), vec![2500, 2000, 1000]);
        assert_eq!(find(&db, q("m1@contoso.test")), vec![2500, 2000, 1000]);
        assert_eq!(find(&db, q(" <m2@contoso.test> ")), vec![3000, 1500]);
        // Stored without brackets, found either way.
        assert_eq!(find(&db, q("no-brackets@odd.test")), vec![4500]);
        assert_eq!(find(&db, q("<no-brackets@odd.test>")), vec![4500]);
        // Exact, not substring.
        assert_eq!(find(&db, q("m1@contoso")), Vec::<i64>::new());
    }

    #[test]
    fn search_by_internal_id_time_security_and_kind() {
        let (_dir, db) = open_sample();
        let by_id = TrackingQuery {
            internal_id: Some("m2".into()),
            ..Default::default()
        };
        assert_eq!(find(&db, by_id), vec![3000, 1500]);
        let none = TrackingQuery {
            internal_id: Some("m".into()),
            ..Default::default()
        };
        assert_eq!(find(&db, none), Vec::<i64>::new());

        // since inclusive, until exclusive
        let range = TrackingQuery {
            since: Some(2000),
            until: Some(4000),
            ..Default::default()
        };
        assert_eq!(find(&db, range), vec![3000, 2500, 2000]);
        let since = TrackingQuery {
            since: Some(4000),
            ..Default::default()
        };
        assert_eq!(find(&db, since), vec![4500, 4000]);
        let until = TrackingQuery {
            until: Some(1500),
            ..Default::default()
        };
        assert_eq!(find(&db, until), vec![1000]);

        let secure = TrackingQuery {
            security: Some(SecurityStatus::DomainSecure),
            ..Default::default()
        };
        assert_eq!(find(&db, secure), vec![2000, 1000]);
        let encrypted = TrackingQuery {
            security: Some(SecurityStatus::Encrypted),
            ..Default::default()
        };
        assert_eq!(find(&db, encrypted), vec![3000]);
        let plain = TrackingQuery {
            security: Some(SecurityStatus::Plaintext),
            ..Default::default()
        };
        assert_eq!(find(&db, plain), vec![4500, 4000, 2500, 1500]);

        let receives = TrackingQuery {
            kind: Some(EventKind::Receive),
            ..Default::default()
        };
        assert_eq!(find(&db, receives), vec![1500, 1000]);
        let dsn = TrackingQuery {
            kind: Some(EventKind::Dsn),
            ..Default::default()
        };
        assert_eq!(find(&db, dsn), vec![4000]);

        // Filters combine.
        let combined = TrackingQuery {
            sender: Some("alice".into()),
            recipient: Some("carol".into()),
            since: Some(1001),
            ..Default::default()
        };
        assert_eq!(find(&db, combined), vec![2500]);
    }

    #[test]
    fn limit_keeps_the_newest() {
        let (_dir, db) = open_sample();
        let q = |n: usize| TrackingQuery {
            limit: Some(n),
            ..Default::default()
        };
        assert_eq!(find(&db, q(3)), vec![4500, 4000, 3000]);
        assert_eq!(find(&db, q(0)), Vec::<i64>::new());
        assert_eq!(find(&db, q(100)).len(), 7);
        let alice = TrackingQuery {
            sender: Some("alice".into()),
            limit: Some(1),
            ..Default::default()
        };
        assert_eq!(find(&db, alice), vec![2500]);
    }

    #[test]
    fn default_limit_is_1000() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut db = TrackingDb::open(&dir.path().join("tracking.db")).expect("open");
        let events: Vec<_> = (0..1200)
            .map(|i| {
                event(
                    i,
                    EventKind::Receive,
                    &format!("id{i}"),
                    "a@b.test",
                    &["c@d.test"],
                )
            })
            .collect();
        db.insert(&events).expect("insert");
        let found = db.search(&TrackingQuery::default()).expect("search");
        assert_eq!(found.len(), DEFAULT_LIMIT);
        assert_eq!(found[0].time, 1199);
        // Equal times: the last inserted comes first.
        let mut same = vec![event(5000, EventKind::Receive, "s1", "", &[])];
        same.push(event(5000, EventKind::Send, "s1", "", &[]));
        db.insert(&same).expect("insert");
        let h = db.message_history("s1").expect("history");
        assert_eq!(h[0].kind, EventKind::Receive);
        let s = db
            .search(&TrackingQuery {
                internal_id: Some("s1".into()),
                ..Default::default()
            })
            .expect("search");
        assert_eq!(s[0].kind, EventKind::Send);
    }

    #[test]
    fn message_history_is_oldest_first_and_exact() {
        let (_dir, db) = open_sample();
        let h = db.message_history("m1").expect("history");
        assert_eq!(times(&h), vec![1000, 2000, 2500]);
        assert_eq!(
            h.iter().map(|e| e.kind).collect::<Vec<_>>(),
            vec![EventKind::Receive, EventKind::Send, EventKind::Defer]
        );
        assert_eq!(h[0].tls, Some(tls()));
        assert_eq!(h[1].tls, Some(tls()));
        assert_eq!(h[2].tls, None);
        assert_eq!(h[0], sample()[0]);
        assert!(db.message_history("unknown").expect("history").is_empty());
        // The null-sender DSN with every option unset round-trips too.
        let dsn = db.message_history("m3").expect("history");
        assert_eq!(dsn, vec![sample()[5].clone()]);
    }

    #[test]
    fn odd_values_round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut db = TrackingDb::open(&dir.path().join("tracking.db")).expect("open");
        let mut e = event(1, EventKind::Receive, "odd", "Ünïcödé@Exämple.test", &[""]);
        e.subject = Some("Ελληνικά; DROP TABLE events; -- 'quoted' \"double\"\nsecond line".into());
        e.size = i64::MAX as u64;
        e.time = -5;
        let mut f = event(2, EventKind::Send, "odd", "a@b", &["", "X@Y", ""]);
        f.message_id = Some(String::new());
        db.insert(&[e.clone(), f.clone()]).expect("insert");
        assert_eq!(db.message_history("odd").expect("history"), vec![e, f]);
        let q = TrackingQuery {
            sender: Some("ÜNÏCÖDÉ@".into()),
            ..Default::default()
        };
        assert_eq!(find(&db, q), vec![-5]);
    }

    #[test]
    fn prune_removes_only_older_events_and_their_recipients() {
        let (_dir, mut db) = open_sample();
        assert_eq!(db.prune_before(2000).expect("prune"), 2); // 1000, 1500
        assert_eq!(db.count().expect("count"), 5);
        assert_eq!(
            find(&db, TrackingQuery::default()),
            vec![4500, 4000, 3000, 2500, 2000]
        );
        let orphans: i64 = db
            .conn
            .query_row(
                "SELECT count(*) FROM event_recipients WHERE event_id NOT IN (SELECT id FROM events)",
                [],
                |r| r.get(0),
            )
            .expect("orphans");
        assert_eq!(orphans, 0);
        let rows: i64 = db
            .conn
            .query_row("SELECT count(*) FROM event_recipients", [], |r| r.get(0))
            .expect("rows");
        // 2000: 1, 2500: 1, 3000: 1, 4000: 1, 4500: 0
        assert_eq!(rows, 4);
        assert_eq!(db.prune_before(2000).expect("prune"), 0);
        assert_eq!(db.prune_before(i64::MAX).expect("prune"), 5);
        assert_eq!(db.count().expect("count"), 0);
    }

    #[test]
    fn newer_schema_is_refused_with_a_clear_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tracking.db");
        drop(TrackingDb::open(&path).expect("open"));
        {
            let conn = Connection::open(&path).expect("raw open");
            conn.pragma_update(None, "user_version", 4).expect("bump");
        }
        for result in [TrackingDb::open(&path), TrackingDb::open_read_only(&path)] {
            let err = result
                .expect_err("newer schema must be refused")
                .to_string();
            assert!(
                err.contains(
                    "tracking.db is from a newer Mailflow (schema 4); this one reads schema 3"
                ),
                "{err}"
            );
        }
        // Untouched: still version 4.
        let conn = Connection::open(&path).expect("raw open");
        let v: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .expect("version");
        assert_eq!(v, 4);
    }

    #[test]
    fn foreign_files_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let other = dir.path().join("other.db");
        {
            let conn = Connection::open(&other).expect("raw open");
            conn.execute_batch("CREATE TABLE t (x)").expect("create");
        }
        let err = TrackingDb::open(&other).expect_err("foreign").to_string();
        assert!(err.contains("not a Mailflow tracking database"), "{err}");

        let junk = dir.path().join("junk.db");
        std::fs::write(&junk, vec![b'x'; 8192]).expect("write");
        let err = TrackingDb::open(&junk).expect_err("junk").to_string();
        assert!(err.contains("not an SQLite database"), "{err}");

        let missing = dir.path().join("missing.db");
        let err = TrackingDb::open_read_only(&missing)
            .expect_err("missing")
            .to_string();
        assert!(err.contains("no tracking database here yet"), "{err}");
        assert!(!missing.exists());
    }

    #[test]
    fn reopening_keeps_the_events() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tracking.db");
        TrackingDb::open(&path)
            .expect("open")
            .insert(&sample())
            .expect("insert");
        let db = TrackingDb::open(&path).expect("reopen");
        assert_eq!(db.count().expect("count"), 7);
    }

    #[test]
    fn read_only_open_works_while_a_writer_is_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tracking.db");
        let mut writer = TrackingDb::open(&path).expect("open");
        writer.insert(&sample()[..3]).expect("insert");
        let mut reader = TrackingDb::open_read_only(&path).expect("open read-only");
        assert_eq!(reader.count().expect("count"), 3);

        // A read transaction stays open on the reader while the writer commits (WAL).
        let snapshot = reader.conn.unchecked_transaction().expect("read tx");
        let before: i64 = snapshot
            .query_row("SELECT count(*) FROM events", [], |r| r.get(0))
            .expect("count");
        writer.insert(&sample()[3..]).expect("insert while reading");
        let during: i64 = snapshot
            .query_row("SELECT count(*) FROM events", [], |r| r.get(0))
            .expect("count");
        assert_eq!((before, during), (3, 3));
        drop(snapshot);
        assert_eq!(reader.count().expect("count"), 7);
        assert_eq!(reader.message_history("m1").expect("history").len(), 3);

        let err = reader.insert(&sample()).expect_err("read-only").to_string();
        assert!(err.contains("read-only"), "{err}");
        let _ = reader.prune_before(i64::MAX).expect_err("read-only");
        assert_eq!(writer.count().expect("count"), 7);
    }

    #[test]
    fn writer_commits_in_batches_and_stops() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tracking.db");
        let writer = TrackingWriter::start(path.clone(), 0).expect("start");
        let started = Instant::now();
        for i in 0..10_000 {
            writer.record(event(
                i,
                EventKind::Receive,
                &format!("w{i}"),
                "a@contoso.test",
                &["b@woodgrove.test"],
            ));
        }
        let queued = started.elapsed();
        writer.flush();
        eprintln!(
            "writer: queued 10 000 events in {queued:?}, committed after {:?}",
            started.elapsed()
        );
        let reader = TrackingDb::open_read_only(&path).expect("open read-only");
        assert_eq!(reader.count().expect("count"), 10_000);
        writer.record(event(20_000, EventKind::Send, "last", "", &[]));
        writer.stop();
        assert_eq!(reader.count().expect("count"), 10_001);
        // A flush with nothing pending returns at once; dropping stops too.
        let writer = TrackingWriter::start(path.clone(), 0).expect("restart");
        writer.flush();
        writer.record(event(30_000, EventKind::Send, "dropped", "", &[]));
        drop(writer);
        assert_eq!(reader.count().expect("count"), 10_002);
    }

    #[test]
    fn writer_prunes_by_retention_at_start() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tracking.db");
        let now = now_ms();
        let day = 86_400_000;
        {
            let mut db = TrackingDb::open(&path).expect("open");
            db.insert(&[
                event(now - 10 * day, EventKind::Receive, "old", "", &["x@y"]),
                event(now - day, EventKind::Receive, "recent", "", &["x@y"]),
            ])
            .expect("insert");
        }
        let writer = TrackingWriter::start(path.clone(), 7 * day).expect("start");
        writer.flush();
        writer.stop();
        let db = TrackingDb::open_read_only(&path).expect("open");
        let left = db.search(&TrackingQuery::default()).expect("search");
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].internal_id, "recent");
    }

    #[test]
    fn writer_refuses_to_start_on_a_bad_database() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tracking.db");
        std::fs::write(&path, vec![b'x'; 8192]).expect("write");
        assert!(TrackingWriter::start(path, 0).is_err());
    }

    /// The plan SQLite picks for a search (EXPLAIN QUERY PLAN), to see that indexes are used.
    fn plan(db: &TrackingDb, q: &TrackingQuery) -> String {
        let (sql, args) = search_sql(COLUMNS, q);
        let mut stmt = db
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .expect("prepare");
        let rows = stmt
            .query_map(rusqlite::params_from_iter(args), |r| r.get::<_, String>(3))
            .expect("plan");
        rows.map(|r| r.expect("row"))
            .collect::<Vec<_>>()
            .join(" | ")
    }

    #[test]
    fn volume_200k_events_selective_searches_use_indexes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tracking.db");
        let mut db = TrackingDb::open(&path).expect("open");
        let base = 1_700_000_000_000i64;
        let total = 200_000i64;
        let started = Instant::now();
        let kinds = [
            EventKind::Receive,
            EventKind::Send,
            EventKind::Deliver,
            EventKind::Defer,
        ];
        let mut batch = Vec::with_capacity(1000);
        for i in 0..total {
            let msg = i / 4; // four events per message
            let mut e = event(
                base + i * 1000,
                kinds[(i % 4) as usize],
                &format!("guid-{msg:08}"),
                &format!("user{}@sender{}.test", msg % 997, msg % 13),
                &[
                    &format!("rcpt{}@dest{}.test", msg % 1009, msg % 7),
                    "all@common.test",
                ],
            );
            e.message_id = Some(format!("<{msg}.{}@sender.test>", msg * 7919 % 100_003));
            if i % 3 == 0 {
                e.tls = Some(tls());
                e.security = SecurityStatus::Encrypted;
            }
            batch.push(e);
            if batch.len() == 1000 {
                db.insert(&batch).expect("insert");
                batch.clear();
            }
        }
        eprintln!("volume: inserted {total} events in {:?}", started.elapsed());
        assert_eq!(db.count().expect("count"), total as u64);

        // Times are printed for information, never asserted (a loaded machine is slow); what
        // keeps a selective search fast at any volume is that SQLite finds its rows through
        // an index instead of scanning the table, and that is asserted.
        let timed = |label: &str, q: TrackingQuery| {
            let t = Instant::now();
            let found = db.search(&q).expect("search");
            let took = t.elapsed();
            eprintln!(
                "volume: {label}: {} events in {took:?} [{}]",
                found.len(),
                plan(&db, &q)
            );
            found
        };
        let selective = |label: &str, q: TrackingQuery| {
            let how = plan(&db, &q);
            assert!(
                how.starts_with("SEARCH e USING INDEX"),
                "{label} does not search through an index: {how}"
            );
            timed(label, q)
        };

        let msg = 31_337i64;
        let by_id = selective(
            "internal_id",
            TrackingQuery {
                internal_id: Some(format!("guid-{msg:08}")),
                ..Default::default()
            },
        );
        assert_eq!(by_id.len(), 4);
        assert_eq!(by_id[0].time, base + (msg * 4 + 3) * 1000);
        assert_eq!(by_id[0].kind, EventKind::Defer);

        let mid = format!("{msg}.{}@sender.test", msg * 7919 % 100_003);
        let by_mid = selective(
            "message_id",
            TrackingQuery {
                message_id: Some(mid.clone()),
                ..Default::default()
            },
        );
        assert_eq!(by_mid.len(), 4);
        assert!(
            by_mid
                .iter()
                .all(|e| e.internal_id == format!("guid-{msg:08}"))
        );

        let by_time = selective(
            "time range",
            TrackingQuery {
                since: Some(base + 100_000 * 1000),
                until: Some(base + 100_050 * 1000),
                ..Default::default()
            },
        );
        assert_eq!(by_time.len(), 50);

        let history_started = Instant::now();
        let h = db
            .message_history(&format!("guid-{msg:08}"))
            .expect("history");
        eprintln!("volume: message_history: {:?}", history_started.elapsed());
        assert_eq!(h.len(), 4);

        // Non-selective searches, for information (bounded by the limit).
        let common = timed(
            "recipient (common)",
            TrackingQuery {
                recipient: Some("all@common".into()),
                ..Default::default()
            },
        );
        assert_eq!(common.len(), DEFAULT_LIMIT);
        timed(
            "sender substring (rare)",
            TrackingQuery {
                sender: Some("user996@sender8".into()),
                ..Default::default()
            },
        );
        selective(
            "recipient (rare) + internal_id",
            TrackingQuery {
                recipient: Some("rcpt".into()),
                internal_id: Some(format!("guid-{msg:08}")),
                ..Default::default()
            },
        );

        let prune_started = Instant::now();
        let pruned = db.prune_before(base + 50_000 * 1000).expect("prune");
        eprintln!(
            "volume: pruned {pruned} events in {:?}",
            prune_started.elapsed()
        );
        assert_eq!(pruned, 50_000);
    }
}
