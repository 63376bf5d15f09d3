//! The partner certificate watch: what each partner domain presented, in each direction — the
//! certificates its servers showed us when we delivered to it, the client certificates its
//! sessions showed when sending to us, and the sessions that came or answered without TLS or
//! without a certificate. One row per partner domain, direction and thing presented, with
//! when it was first and last seen, how often, the certificate's facts and its chain (DER, so
//! the console can judge it against today's trust), and whether it was ever authenticated.
//! Kept in the tracking database (`tracking.db`, table `sightings`) and written by the same
//! background writer, so the relay's hot path never waits on it; rows last seen longer ago
//! than [`KEEP_MS`] are pruned. The alerts of the watch read it ([`crate::admin::partners`]).

use super::error::{Result, StoreError};
use crate::smtp::evidence::{Direction, PeerCertificate};
use rusqlite::{Connection, Transaction, params};
use std::path::Path;

/// The table, created by schema version 3 of the tracking database.
pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sightings (
    domain      TEXT    NOT NULL,   -- partner domain, normalised
    direction   TEXT    NOT NULL,   -- Inbound, Outbound
    presented   TEXT    NOT NULL,   -- certificate thumbprint, or no-certificate, or no-tls
    first_seen  INTEGER NOT NULL,   -- unix milliseconds
    last_seen   INTEGER NOT NULL,
    times       INTEGER NOT NULL,
    certificate TEXT,               -- PeerCertificate as RON; NULL without one
    chain       BLOB,               -- DER certificates, each after its 4-byte length
    host        TEXT    NOT NULL,   -- the peer: ip of a client, host:port of a server
    verified    INTEGER NOT NULL,   -- 1 once the certificate authenticated the partner
    PRIMARY KEY (domain, direction, presented)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sightings_last_seen ON sightings(last_seen);
";

/// Rows not seen for this long are pruned: a year and a month, so that last year's
/// certificate is still known when this year's rotation comes.
pub const KEEP_MS: i64 = 400 * 86_400_000;

/// What a partner's session presented.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Presented {
    /// A certificate: its facts and the chain as presented (leaf first).
    Certificate {
        certificate: PeerCertificate,
        chain: Vec<Vec<u8>>,
    },
    /// TLS without a certificate (only a client can do that).
    NoCertificate,
    /// No TLS: the server did not offer STARTTLS or refused it; the client did not use it.
    NoTls,
}

impl Presented {
    /// The key of the row: the thumbprint, `no-certificate` or `no-tls`.
    pub fn key(&self) -> &str {
        match self {
            Presented::Certificate { certificate, .. } => &certificate.thumbprint,
            Presented::NoCertificate => NO_CERTIFICATE,
            Presented::NoTls => NO_TLS,
        }
    }
}

const NO_CERTIFICATE: &str = "no-certificate";
const NO_TLS: &str = "no-tls";

/// One session's worth of what a partner presented, as the relay records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sighting {
    /// Unix milliseconds.
    pub time: i64,
    /// The partner domain (sender domain inbound, recipient domain outbound), normalised.
    pub domain: String,
    pub direction: Direction,
    /// The client's IP inbound; the server's `host:port` outbound.
    pub host: String,
    pub presented: Presented,
    /// The certificate authenticated the partner (Domain Security, or the TLS requirement of
    /// the delivery, held).
    pub verified: bool,
}

/// One row of the watch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    pub domain: String,
    pub direction: Direction,
    /// Unix milliseconds.
    pub first_seen: i64,
    pub last_seen: i64,
    pub times: u64,
    /// The last host it was seen from or at.
    pub host: String,
    pub presented: Presented,
    /// Authenticated the partner at least once.
    pub verified: bool,
}

impl Seen {
    pub fn certificate(&self) -> Option<&PeerCertificate> {
        match &self.presented {
            Presented::Certificate { certificate, .. } => Some(certificate),
            _ => None,
        }
    }
}

fn direction_key(d: Direction) -> &'static str {
    match d {
        Direction::Inbound => "Inbound",
        Direction::Outbound => "Outbound",
    }
}

/// The chain as stored: each certificate after its length (4 bytes, big-endian).
fn encode_chain(chain: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(chain.iter().map(|c| c.len() + 4).sum());
    for c in chain {
        out.extend_from_slice(&u32::try_from(c.len()).unwrap_or(u32::MAX).to_be_bytes());
        out.extend_from_slice(c);
    }
    out
}

/// The stored chain; `None` when the bytes do not hold whole certificates.
fn decode_chain(mut bytes: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let (len, rest) = bytes.split_first_chunk::<4>()?;
        let len = usize::try_from(u32::from_be_bytes(*len)).ok()?;
        if rest.len() < len {
            return None;
        }
        let (cert, rest) = rest.split_at(len);
        out.push(cert.to_vec());
        bytes = rest;
    }
    Some(out)
}

fn db_err(path: &Path, what: &str, e: rusqlite::Error) -> StoreError {
    StoreError::Database {
        path: path.to_path_buf(),
        why: format!("{what}: {e}"),
    }
}

/// Adds sightings inside the caller's transaction: a new row, or the row's last time, count,
/// host and facts brought up to date (`verified` stays once set).
pub(super) fn record(tx: &Transaction<'_>, path: &Path, sightings: &[Sighting]) -> Result<()> {
    let mut upsert = tx
        .prepare_cached(
            "INSERT INTO sightings (domain, direction, presented, first_seen, last_seen, times, \
             certificate, chain, host, verified) VALUES (?1, ?2, ?3, ?4, ?4, 1, ?5, ?6, ?7, ?8) \
             ON CONFLICT (domain, direction, presented) DO UPDATE SET \
             first_seen = min(first_seen, excluded.first_seen), \
             last_seen = max(last_seen, excluded.last_seen), times = times + 1, \
             certificate = excluded.certificate, chain = excluded.chain, host = excluded.host, \
             verified = max(verified, excluded.verified)",
        )
        .map_err(|e| db_err(path, "cannot prepare the certificate watch", e))?;
    for s in sightings {
        let (certificate, chain) = match &s.presented {
            Presented::Certificate { certificate, chain } => (
                Some(
                    ron::to_string(certificate).map_err(|e| StoreError::Database {
                        path: path.to_path_buf(),
                        why: format!("cannot encode a partner certificate: {e}"),
                    })?,
                ),
                Some(encode_chain(chain)),
            ),
            _ => (None, None),
        };
        upsert
            .execute(params![
                s.domain,
                direction_key(s.direction),
                s.presented.key(),
                s.time,
                certificate,
                chain,
                s.host,
                s.verified,
            ])
            .map_err(|e| db_err(path, "cannot record a partner certificate", e))?;
    }
    Ok(())
}

/// Deletes rows last seen before `time` (unix ms); how many went.
pub(super) fn prune_before(tx: &Transaction<'_>, path: &Path, time: i64) -> Result<usize> {
    tx.execute("DELETE FROM sightings WHERE last_seen < ?1", params![time])
        .map_err(|e| db_err(path, "cannot prune the certificate watch", e))
}

/// Every row (of `domain` only, when given), newest sighting first. A database without the
/// table yet (an older schema opened read-only) has no rows.
pub(super) fn list(conn: &Connection, path: &Path, domain: Option<&str>) -> Result<Vec<Seen>> {
    let exists: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'sightings'",
            [],
            |row| row.get(0),
        )
        .map_err(|e| db_err(path, "cannot read the schema", e))?;
    if exists == 0 {
        return Ok(Vec::new());
    }
    let mut stmt = conn
        .prepare_cached(
            "SELECT domain, direction, presented, first_seen, last_seen, times, certificate, \
             chain, host, verified FROM sightings WHERE ?1 IS NULL OR domain = ?1 \
             ORDER BY last_seen DESC, domain",
        )
        .map_err(|e| db_err(path, "cannot read the certificate watch", e))?;
    let rows = stmt
        .query_map(params![domain], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, i64>(3)?,
                row.get::<_, i64>(4)?,
                row.get::<_, i64>(5)?,
                row.get::<_, Option<String>>(6)?,
                row.get::<_, Option<Vec<u8>>>(7)?,
                row.get::<_, String>(8)?,
                row.get::<_, bool>(9)?,
            ))
        })
        .map_err(|e| db_err(path, "cannot read the certificate watch", e))?;
    let mut out = Vec::new();
    for row in rows {
        let (domain, direction, key, first_seen, last_seen, times, cert, chain, host, verified) =
            row.map_err(|e| db_err(path, "cannot read the certificate watch", e))?;
        let direction = match direction.as_str() {
            "Inbound" => Direction::Inbound,
            "Outbound" => Direction::Outbound,
            // A row this build does not understand is left out, not fatal.
            _ => continue,
        };
        let presented = match key.as_str() {
            NO_CERTIFICATE => Presented::NoCertificate,
            NO_TLS => Presented::NoTls,
            _ => {
                let Some(certificate) = cert.and_then(|c| ron::from_str(&c).ok()) else {
                    continue;
                };
                Presented::Certificate {
                    certificate,
                    chain: chain.and_then(|c| decode_chain(&c)).unwrap_or_default(),
                }
            }
        };
        out.push(Seen {
            domain,
            direction,
            first_seen,
            last_seen,
            times: u64::try_from(times).unwrap_or(0),
            host,
            presented,
            verified,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tracking::{TrackingDb, TrackingWriter};

    fn cert(thumbprint: &str, issuer: &str) -> PeerCertificate {
        PeerCertificate {
            subject: "CN=mail.woodgrove.test".into(),
            issuer: format!("CN={issuer}"),
            subject_cn: "mail.woodgrove.test".into(),
            issuer_cn: issuer.into(),
            thumbprint: thumbprint.into(),
            public_key_sha256: "AB".repeat(32),
            names: vec!["woodgrove.test".into()],
            not_after: 1_900_000_000,
        }
    }

    fn saw(time: i64, direction: Direction, presented: Presented, verified: bool) -> Sighting {
        Sighting {
            time,
            domain: "woodgrove.test".into(),
            direction,
            host: format!("192.0.2.{}", time % 200),
            presented,
            verified,
        }
    }

    fn certificate(thumbprint: &str) -> Presented {
        Presented::Certificate {
            certificate: cert(thumbprint, "Woodgrove CA"),
            chain: vec![vec![0x30, 0x03, 1, 2, 3], vec![0x30, 0x01, 9]],
        }
    }

    /// A row per domain, direction and thing presented: seen again, it keeps its first time,
    /// counts, takes the last host; `verified` stays once set; other directions and other
    /// certificates are rows of their own; the writer thread records them.
    #[test]
    fn sightings_are_kept_per_thing_presented() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tracking.db");
        let writer = TrackingWriter::start(path.clone(), 0).expect("writer");
        writer.saw(saw(1_000, Direction::Outbound, certificate("AA"), true));
        writer.saw(saw(3_000, Direction::Outbound, certificate("AA"), false));
        writer.saw(saw(2_000, Direction::Outbound, Presented::NoTls, false));
        writer.saw(saw(4_000, Direction::Inbound, certificate("BB"), false));
        writer.saw(saw(
            5_000,
            Direction::Inbound,
            Presented::NoCertificate,
            false,
        ));
        writer.flush();
        let db = TrackingDb::open_read_only(&path).expect("open");
        let rows = db.sightings(Some("woodgrove.test")).expect("rows");
        let keys: Vec<(Direction, &str, i64, i64, u64, bool)> = rows
            .iter()
            .map(|r| {
                (
                    r.direction,
                    r.presented.key(),
                    r.first_seen,
                    r.last_seen,
                    r.times,
                    r.verified,
                )
            })
            .collect();
        assert_eq!(
            keys,
            vec![
                (Direction::Inbound, "no-certificate", 5_000, 5_000, 1, false),
                (Direction::Inbound, "BB", 4_000, 4_000, 1, false),
                (Direction::Outbound, "AA", 1_000, 3_000, 2, true),
                (Direction::Outbound, "no-tls", 2_000, 2_000, 1, false),
            ]
        );
        assert_eq!(rows[2].host, "192.0.2.0");
        assert_eq!(rows[2].presented, certificate("AA"));
        assert_eq!(
            rows[2].certificate().map(|c| c.issuer_cn.as_str()),
            Some("Woodgrove CA")
        );
        assert!(
            db.sightings(Some("fabrikam.test"))
                .expect("none")
                .is_empty()
        );
        drop(db);
        writer.stop();
        // Rows not seen for longer than the watch keeps go with tracking's pruning.
        let mut db = TrackingDb::open(&path).expect("open");
        db.prune_before(0).expect("prune");
        assert!(db.sightings(None).expect("rows").is_empty());
    }

    #[test]
    fn chains_survive_the_round_trip_and_damage_is_refused() {
        let chain = vec![vec![0x30, 1, 2], vec![], vec![9; 300]];
        assert_eq!(decode_chain(&encode_chain(&chain)), Some(chain.clone()));
        let mut cut = encode_chain(&chain);
        cut.pop();
        assert_eq!(decode_chain(&cut), None);
        assert_eq!(decode_chain(&[0, 0]), None);
        assert_eq!(decode_chain(&[]), Some(Vec::new()));
    }
}
