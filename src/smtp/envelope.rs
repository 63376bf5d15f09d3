//! The envelope of an accepted message: who sent it, to whom, when, through which hop, and what
//! we know about it (size, Message-ID, subject). Kept with the message in the spool.

use super::address::ReversePath;
use super::dsn_request::DsnRequest;
use super::evidence::{Direction, HopEvidence, SecurityStatus};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// Internal message id: a GUID, as Exchange shows it (`a3babb10-2efd-4e24-8994-869e50e46560`).
    pub id: String,
    pub sender: ReversePath,
    /// Recipient addresses (`local@domain`), in RCPT order.
    pub recipients: Vec<String>,
    /// Unix milliseconds of acceptance.
    pub received: i64,
    /// Size of the stored message in octets.
    pub size: u64,
    pub message_id: Option<String>,
    pub subject: Option<String>,
    /// `BODY=8BITMIME` was given.
    pub eight_bit: bool,
    /// `SMTPUTF8` was given.
    pub smtputf8: bool,
    /// `REQUIRETLS` was given (RFC 8689): only an authenticated TLS next hop found securely,
    /// which offers REQUIRETLS itself, may take the message.
    #[serde(default)]
    pub require_tls: bool,
    /// What the sender asked of delivery status notifications (RFC 3461).
    #[serde(default, skip_serializing_if = "DsnRequest::is_empty")]
    pub dsn: DsnRequest,
    /// How the message reached us.
    pub inbound: HopEvidence,
}

impl Envelope {
    /// The envelope of a message Mailflow writes itself (an NDR, a delay notice, a TLS report):
    /// from the null sender (a bounce of it makes no bounce of its own), no network hop, the
    /// body's Subject, `what` as its policy line. `now_ms` is the time of writing.
    pub fn generated(
        id: String,
        recipients: Vec<String>,
        body: &[u8],
        fqdn: &str,
        what: String,
        now_ms: i64,
    ) -> Envelope {
        Envelope {
            message_id: Some(format!("<{id}@{fqdn}>")),
            id,
            sender: ReversePath::Null,
            recipients,
            received: now_ms,
            size: body.len() as u64,
            subject: super::headers::header_value(body, "Subject"),
            eight_bit: false,
            smtputf8: false,
            require_tls: false,
            dsn: DsnRequest::default(),
            inbound: HopEvidence {
                direction: Direction::Inbound,
                time: now_ms,
                connector: "Mailflow".into(),
                local: String::new(),
                remote: String::new(),
                peer_name: fqdn.to_string(),
                tls: None,
                security: SecurityStatus::Plaintext,
                policy: what,
                auth_domain: None,
                auth_mechanism: None,
            },
        }
    }
}

/// A new internal message id (random GUID form).
pub fn new_message_id(random: [u8; 16]) -> String {
    let h = hex::encode(random);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}
