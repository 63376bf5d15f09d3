//! Which sessions the live monitor lists: active or closed (the last hour), filtered by
//! direction, connector, peer, security and how they ended. Pure; the page keeps one filter.

use crate::engine::monitor::SessionRow;
use crate::smtp::evidence::{Direction, SecurityStatus};

/// Which list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Shown {
    #[default]
    Active,
    Closed,
}

/// How a session went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Ending {
    #[default]
    Any,
    /// It took (or handed over) at least one message.
    TookMail,
    /// Something in it was refused.
    Refused,
    /// It ended otherwise than by QUIT (a timeout, a dropped connection, a failed handshake).
    Error,
}

impl Ending {
    pub const ALL: [Ending; 4] = [
        Ending::Any,
        Ending::TookMail,
        Ending::Refused,
        Ending::Error,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Ending::Any => "Any",
            Ending::TookMail => "Took mail",
            Ending::Refused => "Refused something",
            Ending::Error => "Ended by an error",
        }
    }
}

/// The monitor's filter; blank text and `None` match everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionFilter {
    pub direction: Option<Direction>,
    /// Part of the connector's name, any case.
    pub connector: String,
    /// Part of the peer's address.
    pub peer: String,
    pub security: Option<SecurityStatus>,
    pub ending: Ending,
}

/// Whether a closed session ended by QUIT.
pub fn ended_by_quit(s: &SessionRow) -> bool {
    s.outcome.as_deref().is_some_and(|o| o.starts_with("QUIT"))
}

impl SessionFilter {
    pub fn is_empty(&self) -> bool {
        *self == SessionFilter::default()
    }

    pub fn keeps(&self, s: &SessionRow) -> bool {
        let connector = self.connector.trim().to_lowercase();
        let peer = self.peer.trim();
        self.direction.is_none_or(|d| d == s.direction)
            && (connector.is_empty() || s.connector.to_lowercase().contains(&connector))
            && (peer.is_empty() || s.peer.contains(peer))
            && self.security.is_none_or(|sec| s.security == Some(sec))
            && match self.ending {
                Ending::Any => true,
                Ending::TookMail => s.messages > 0,
                Ending::Refused => s.refusals > 0,
                Ending::Error => s.ended.is_some() && !ended_by_quit(s),
            }
    }
}

/// How a closed session ended, in a few words for its row.
pub fn ending_text(s: &SessionRow) -> String {
    let mut parts = vec![match s.outcome.as_deref() {
        Some(o) if o.starts_with("QUIT") => "QUIT".to_string(),
        Some(o) => o.to_string(),
        None => s.state.clone(),
    }];
    if s.messages > 0 {
        parts.push(format!(
            "{} message{}",
            s.messages,
            if s.messages == 1 { "" } else { "s" }
        ));
    }
    if s.refusals > 0 {
        parts.push(format!("{} refused", s.refusals));
    }
    parts.join(" · ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    fn row(
        id: u64,
        direction: Direction,
        connector: &str,
        security: Option<SecurityStatus>,
        messages: u32,
        refusals: u32,
        outcome: &str,
    ) -> SessionRow {
        SessionRow {
            id,
            direction,
            connector: connector.into(),
            local: "10.0.0.5:25".into(),
            peer: format!("192.0.2.{id}:4000"),
            state: "QUIT".into(),
            tls_version: None,
            cipher: None,
            client_certificate: None,
            security,
            bytes_in: 0,
            bytes_out: 0,
            started: 0,
            transcript: VecDeque::new(),
            messages,
            refusals,
            ended: Some(1),
            outcome: Some(outcome.into()),
        }
    }

    #[test]
    fn each_field_narrows_the_list() {
        let rows = [
            row(
                1,
                Direction::Inbound,
                "Default",
                Some(SecurityStatus::DomainSecure),
                2,
                0,
                "QUIT",
            ),
            row(
                2,
                Direction::Inbound,
                "Default",
                Some(SecurityStatus::Encrypted),
                0,
                1,
                "QUIT",
            ),
            row(
                3,
                Direction::Outbound,
                "To Woodgrove",
                None,
                0,
                0,
                "failed: connection refused",
            ),
            row(
                4,
                Direction::Inbound,
                "Internal relay",
                Some(SecurityStatus::Plaintext),
                1,
                0,
                "the client closed the connection",
            ),
        ];
        let ids = |f: &SessionFilter| -> Vec<u64> {
            rows.iter().filter(|r| f.keeps(r)).map(|r| r.id).collect()
        };
        assert_eq!(ids(&SessionFilter::default()), vec![1, 2, 3, 4]);
        let f = SessionFilter {
            direction: Some(Direction::Outbound),
            ..Default::default()
        };
        assert_eq!(ids(&f), vec![3]);
        let f = SessionFilter {
            connector: "RELAY".into(),
            ..Default::default()
        };
        assert_eq!(ids(&f), vec![4]);
        let f = SessionFilter {
            peer: "192.0.2.2".into(),
            ..Default::default()
        };
        assert_eq!(ids(&f), vec![2]);
        let f = SessionFilter {
            security: Some(SecurityStatus::DomainSecure),
            ..Default::default()
        };
        assert_eq!(ids(&f), vec![1]);
        for (ending, want) in [
            (Ending::TookMail, vec![1, 4]),
            (Ending::Refused, vec![2]),
            (Ending::Error, vec![3, 4]),
        ] {
            let f = SessionFilter {
                ending,
                ..Default::default()
            };
            assert_eq!(ids(&f), want, "{ending:?}");
        }
        assert_eq!(ending_text(&rows[0]), "QUIT · 2 messages");
        assert_eq!(ending_text(&rows[1]), "QUIT · 1 refused");
        assert_eq!(ending_text(&rows[2]), "failed: connection refused");
    }
}
