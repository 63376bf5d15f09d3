//! Who may send what through a receive connector: the connector's permission groups against
//! the session's identity (anonymous, a user authenticated with SMTP AUTH, a partner
//! authenticated by Domain Security, one of our own servers by Direct Trust). No open relay: mail for a domain we do not accept is taken
//! only from an authenticated or explicitly permitted client (`550 5.7.1 Unable to relay`).

use super::routing::{Route, route};
use crate::config::{CheckedSettings, PermissionGroup};
use crate::smtp::address::Mailbox;
use crate::smtp::replies;
use crate::smtp::reply::Reply;

/// How Domain Security or Direct Trust authenticated a peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum AuthMechanism {
    MutualTls,
    /// A Direct Trust pin (one of our own servers).
    DirectTrust,
    /// Mutual TLS with a partner's own certificate, pinned for that partner's domains.
    PartnerPin,
}

impl AuthMechanism {
    pub fn header_value(self) -> &'static str {
        match self {
            AuthMechanism::MutualTls => "MutualTLS",
            AuthMechanism::DirectTrust => "DirectTrust",
            AuthMechanism::PartnerPin => "PartnerPin",
        }
    }
}

/// Who the client is, for this transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Identity {
    Anonymous,
    /// A partner organization authenticated for `domain` (reset at the next MAIL FROM).
    Partner {
        domain: String,
        mechanism: AuthMechanism,
    },
    /// One of our own servers, by a Direct Trust pin.
    InternalServer {
        name: String,
    },
    /// A user of ours that authenticated with SMTP AUTH (for the whole session).
    User {
        name: String,
    },
}

/// Whether a sender may start a transaction on a connector with `groups`.
pub fn sender_allowed(groups: &[PermissionGroup], identity: &Identity) -> Result<(), Reply> {
    let ok = match identity {
        Identity::Anonymous => {
            groups.contains(&PermissionGroup::AnonymousUsers)
                || groups.contains(&PermissionGroup::AnonymousRelay)
        }
        Identity::Partner { .. } => groups.contains(&PermissionGroup::Partners),
        Identity::InternalServer { .. } => {
            groups.contains(&PermissionGroup::InternalServers)
                || groups.contains(&PermissionGroup::AnonymousUsers)
        }
        Identity::User { .. } => {
            groups.contains(&PermissionGroup::AuthenticatedUsers)
                || groups.contains(&PermissionGroup::AnonymousUsers)
        }
    };
    if ok {
        Ok(())
    } else {
        Err(replies::CLIENT_NOT_AUTHENTICATED.reply())
    }
}

/// Where an accepted recipient goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecipientRoute {
    Local,
    Relay { connector: usize },
}

/// Whether a recipient is accepted, and where it goes.
pub fn recipient_decision(
    rcpt: &Mailbox,
    checked: &CheckedSettings,
    groups: &[PermissionGroup],
    identity: &Identity,
) -> Result<RecipientRoute, Reply> {
    let domain = rcpt.domain.as_str();
    match route(domain, checked) {
        Route::Local => {
            let filter = checked
                .settings
                .accepted_domains
                .iter()
                .find(|d| {
                    crate::config::domain::normalize(&d.domain).ok().as_deref() == Some(domain)
                })
                .and_then(|d| d.recipients.as_ref());
            match filter {
                Some(list)
                    if !rcpt.is_postmaster()
                        && !list.iter().any(|l| l.eq_ignore_ascii_case(&rcpt.local)) =>
                {
                    Err(replies::user_unknown(&rcpt.to_string()))
                }
                _ => Ok(RecipientRoute::Local),
            }
        }
        other => {
            let may_relay = match identity {
                Identity::InternalServer { .. } => true,
                Identity::User { .. } => {
                    groups.contains(&PermissionGroup::AuthenticatedUsers)
                        || groups.contains(&PermissionGroup::AnonymousRelay)
                }
                _ => groups.contains(&PermissionGroup::AnonymousRelay),
            };
            if !may_relay {
                return Err(replies::UNABLE_TO_RELAY.reply());
            }
            match other {
                Route::Connector { index, .. } => Ok(RecipientRoute::Relay { connector: index }),
                _ => Err(replies::no_send_connector(domain)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Settings, validate};

    fn mb(s: &str) -> Mailbox {
        Mailbox::parse(s).unwrap()
    }

    #[test]
    fn no_open_relay() {
        let mut s = Settings::initial("C", "mail.contoso.test", "contoso.test");
        s.accepted_domains.push(crate::config::AcceptedDomain {
            domain: "hr.contoso.test".into(),
            recipients: Some(vec!["alice".into()]),
        });
        let c = validate(&s).unwrap();
        let anon = [PermissionGroup::AnonymousUsers, PermissionGroup::Partners];
        let partner = Identity::Partner {
            domain: "woodgrove.test".into(),
            mechanism: AuthMechanism::MutualTls,
        };
        assert_eq!(
            recipient_decision(&mb("bob@contoso.test"), &c, &anon, &Identity::Anonymous),
            Ok(RecipientRoute::Local)
        );
        let e = recipient_decision(&mb("bob@fabrikam.test"), &c, &anon, &Identity::Anonymous)
            .unwrap_err();
        assert_eq!(e.one_line(), "550 5.7.1 Unable to relay");
        assert!(
            recipient_decision(&mb("bob@fabrikam.test"), &c, &anon, &partner).is_err(),
            "partners may not relay"
        );
        let internal = Identity::InternalServer {
            name: "relay2".into(),
        };
        assert_eq!(
            recipient_decision(&mb("bob@fabrikam.test"), &c, &anon, &internal),
            Ok(RecipientRoute::Relay { connector: 0 })
        );
        let relay = [PermissionGroup::AnonymousRelay];
        assert!(
            recipient_decision(&mb("bob@fabrikam.test"), &c, &relay, &Identity::Anonymous).is_ok()
        );
        // Recipient filtering.
        assert!(
            recipient_decision(
                &mb("Alice@hr.contoso.test"),
                &c,
                &anon,
                &Identity::Anonymous
            )
            .is_ok()
        );
        assert_eq!(
            recipient_decision(&mb("eve@hr.contoso.test"), &c, &anon, &Identity::Anonymous)
                .unwrap_err()
                .code,
            550
        );
        assert!(
            recipient_decision(
                &mb("postmaster@hr.contoso.test"),
                &c,
                &anon,
                &Identity::Anonymous
            )
            .is_ok()
        );
    }

    #[test]
    fn permission_groups_admit_senders() {
        let partner = Identity::Partner {
            domain: "w.test".into(),
            mechanism: AuthMechanism::MutualTls,
        };
        assert!(sender_allowed(&[PermissionGroup::AnonymousUsers], &Identity::Anonymous).is_ok());
        assert_eq!(
            sender_allowed(&[PermissionGroup::Partners], &Identity::Anonymous)
                .unwrap_err()
                .one_line(),
            "530 5.7.1 Client was not authenticated"
        );
        assert!(sender_allowed(&[PermissionGroup::Partners], &partner).is_ok());
        assert!(sender_allowed(&[PermissionGroup::AnonymousUsers], &partner).is_err());
        let bob = Identity::User { name: "bob".into() };
        assert!(sender_allowed(&[PermissionGroup::AuthenticatedUsers], &bob).is_ok());
        assert!(sender_allowed(&[PermissionGroup::Partners], &bob).is_err());
    }

    #[test]
    fn authenticated_users_relay_where_the_connector_admits_them() {
        let c = validate(&Settings::initial("C", "mail.contoso.test", "contoso.test")).unwrap();
        let bob = Identity::User { name: "bob".into() };
        let users = [
            PermissionGroup::AnonymousUsers,
            PermissionGroup::AuthenticatedUsers,
        ];
        assert_eq!(
            recipient_decision(&mb("carol@fabrikam.test"), &c, &users, &bob),
            Ok(RecipientRoute::Relay { connector: 0 })
        );
        // Without the AuthenticatedUsers group, AUTH alone is no licence to relay.
        let anon = [PermissionGroup::AnonymousUsers];
        assert_eq!(
            recipient_decision(&mb("carol@fabrikam.test"), &c, &anon, &bob)
                .unwrap_err()
                .one_line(),
            "550 5.7.1 Unable to relay"
        );
    }
}
