//! Why an inbound session or command was refused, in the administrator's words: which replies
//! count as refusals (recorded in message tracking as `Reject` events and counted on the
//! monitor's "Rejected" tile), and, for each refusal that does not come from the Domain
//! Security table (that one says why itself, [`super::inbound::sender_decision`]), the check
//! that failed and the setting or certificate that would change it. The rules stay where they
//! are decided (submission, the SMTP server, the connection limits); this module only names
//! the refusal each reply stands for.

use super::submission::Identity;
use crate::config::PermissionGroup;
use crate::smtp::evidence::DecisionStep;
use crate::smtp::replies::{self, NamedReply};
use crate::smtp::reply::Reply;

/// Whether a reply refuses the client something an administrator may have to explain:
/// security and policy refusals (class X.7), recipients and sizes refused, storage failures,
/// too many errors or recipients. Syntax and sequence errors (500–504, 555 and the X.5
/// protocol class) are the client's own mistakes and are not; nor are timeouts and shutdown
/// (X.3.2).
pub fn is_refusal(reply: &Reply) -> bool {
    if reply.code < 400 {
        return false;
    }
    let Some((_, subject, detail)) = reply.enhanced else {
        return !(500..=504).contains(&reply.code);
    };
    if subject == 7 {
        return true;
    }
    if (500..=504).contains(&reply.code) || reply.code == 555 {
        return false;
    }
    match (subject, detail) {
        (5, 3) => true,
        (5, _) => false,
        (3, 2) => false,
        _ => true,
    }
}

/// Whether `reply` is the row `row` (for a template, its codes).
fn is(reply: &Reply, row: NamedReply) -> bool {
    reply.code == row.code
        && reply.enhanced == Some(row.enhanced)
        && (row.text.contains("{}") || reply.lines.first().map(String::as_str) == Some(row.text))
}

/// Whether `reply` is the table row called `name` (rows with a template are private to the
/// SMTP layer; the table names them all).
fn is_named(reply: &Reply, name: &str) -> bool {
    replies::TABLE
        .iter()
        .any(|(n, row)| *n == name && is(reply, *row))
}

/// What the session knew when the command was refused.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    /// The address the command named, as the session's trail read it (`bob@fabrikam.test`).
    pub address: Option<&'a str>,
    pub identity: &'a Identity,
    pub groups: &'a [PermissionGroup],
}

/// Who a session is, in words.
pub fn identity_words(identity: &Identity) -> String {
    match identity {
        Identity::Anonymous => "anonymous".into(),
        Identity::Partner { domain, .. } => format!("partner {domain} (Domain Security)"),
        Identity::InternalServer { name } => format!("our server {name} (Direct Trust)"),
        Identity::User { name } => format!("user {name} (SMTP AUTH)"),
    }
}

fn group_words(groups: &[PermissionGroup]) -> String {
    if groups.is_empty() {
        return "none".into();
    }
    groups
        .iter()
        .map(|g| match g {
            PermissionGroup::AnonymousUsers => "Anonymous users",
            PermissionGroup::AuthenticatedUsers => "Authenticated users",
            PermissionGroup::Partners => "Partners",
            PermissionGroup::InternalServers => "Internal servers",
            PermissionGroup::AnonymousRelay => "Anonymous relay",
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why `reply` refused the command (one failed check with its fix), for a refusal that did not
/// come from the Domain Security table.
pub fn explain(reply: &Reply, cx: &Context) -> Vec<DecisionStep> {
    let text = reply.lines.join(" ");
    let who = identity_words(cx.identity);
    let step = if is(reply, replies::CLIENT_NOT_AUTHENTICATED) {
        let group = match cx.identity {
            Identity::Anonymous => "Anonymous users",
            Identity::Partner { .. } => "Partners",
            Identity::InternalServer { .. } => "Internal servers",
            Identity::User { .. } => "Authenticated users",
        };
        DecisionStep::failed(
            "The connector's permission groups admit the sender",
            format!(
                "the session is {who}; this connector's permission groups are {}",
                group_words(cx.groups)
            ),
            format!(
                "Add {group} to this receive connector's permission groups (Receive \
                 connectors › Permission groups), or have the client connect to a connector \
                 that admits it"
            ),
        )
    } else if is(reply, replies::UNABLE_TO_RELAY) {
        let domain = cx
            .address
            .and_then(|a| a.rsplit_once('@'))
            .map_or("the recipient's domain", |(_, d)| d);
        DecisionStep::failed(
            "Recipient in an accepted domain, or a sender that may relay",
            format!(
                "{domain} is not one of our accepted domains and the session ({who}) may not \
                 relay (permission groups: {})",
                group_words(cx.groups)
            ),
            format!(
                "If {domain} is ours, add it to the accepted domains; if this client should \
                 relay, have it authenticate (SMTP AUTH or a Direct Trust pin) or give a \
                 connector with narrow remote IP ranges the Anonymous relay permission"
            ),
        )
    } else if is_named(reply, "USER_UNKNOWN") {
        DecisionStep::failed(
            "Recipient known in the accepted domain",
            text.clone(),
            "Add the mailbox to the accepted domain's recipients (Accepted domains), or ask \
             the sender to check the address",
        )
    } else if is_named(reply, "NO_SEND_CONNECTOR") || is_named(reply, "NO_ENABLED_SEND_CONNECTOR") {
        DecisionStep::failed(
            "A send connector for the recipient's domain",
            text.clone(),
            "Add a send connector whose address space covers the domain (Send connectors), \
             or turn on the one that does",
        )
    } else if is(reply, replies::STARTTLS_FIRST) {
        DecisionStep::failed(
            "TLS before mail (this connector requires TLS)",
            "the client sent mail commands without STARTTLS",
            "Ask the client's administrator to use STARTTLS, or turn off Require TLS on this \
             receive connector",
        )
    } else if is(reply, replies::REQUIRETLS_NEEDS_TLS) {
        DecisionStep::failed(
            "TLS for a REQUIRETLS message",
            "the client asked for REQUIRETLS outside TLS",
            "The client must use STARTTLS before sending a REQUIRETLS message",
        )
    } else if is(reply, replies::AUTH_CREDENTIALS_INVALID) {
        DecisionStep::failed(
            "User name and password",
            "the credentials do not match an account",
            "Check the account's user name and password (Accounts); repeated failures are \
             slowed by the tarpit and end the session",
        )
    } else if is(reply, replies::AUTH_NEEDS_TLS) {
        DecisionStep::failed(
            "AUTH inside TLS",
            "this connector offers Basic authentication only after STARTTLS",
            "The client must use STARTTLS before AUTH (sending passwords in the clear is \
             refused on purpose)",
        )
    } else if is(reply, replies::AUTH_NOT_OFFERED) {
        DecisionStep::failed(
            "AUTH offered on this connector",
            "this connector does not offer SMTP AUTH",
            "Turn on Basic authentication on this receive connector (Receive connectors › \
             Authentication), or have the client use the connector that offers it",
        )
    } else if is(reply, replies::AUTH_TEMPORARY_FAILURE) {
        DecisionStep::failed(
            "Accounts readable",
            "the accounts could not be checked",
            "See the relay's log: the accounts file may be unreadable",
        )
    } else if is(reply, replies::MESSAGE_TOO_BIG) {
        DecisionStep::failed(
            "Message size within this connector's limit",
            text.clone(),
            "Raise the receive connector's maximum message size, or ask the sender to send a \
             smaller message",
        )
    } else if is(reply, replies::TOO_MANY_RECIPIENTS) {
        DecisionStep::failed(
            "Recipients within this connector's limit",
            text.clone(),
            "Raise the receive connector's maximum recipients per message; the client sends \
             the rest in another transaction",
        )
    } else if is(reply, replies::TOO_MANY_ERRORS) {
        DecisionStep::failed(
            "Errors in this session below the limit",
            "the client made too many errors",
            "Read the session's transcript in the protocol log: a client making this many \
             errors is misconfigured or probing",
        )
    } else if is(reply, replies::NOT_STORED) || is(reply, replies::NO_RANDOMNESS) {
        DecisionStep::failed(
            "Message stored in the queue",
            text.clone(),
            "See the relay's log: the disk may be full or the queue directory unwritable",
        )
    } else {
        DecisionStep::failed(
            "Reply",
            text.clone(),
            "Read the session's transcript in the protocol log",
        )
    };
    vec![step]
}

/// Why a connection was turned away at once because the connector's limits were reached.
pub fn too_many_connections(total: u32, per_source: u32) -> Vec<DecisionStep> {
    vec![DecisionStep::failed(
        "Connections within this connector's limits",
        format!(
            "the connector already has its maximum of connections (at most {total} in all, \
             {per_source} from one address)"
        ),
        "Raise Max inbound connections (per source) on the receive connector if this load is \
         expected; otherwise the client is retrying too eagerly",
    )]
}

/// Why a connection was turned away because no receive connector takes it.
pub fn no_receive_connector(client: &str, binding: &str) -> Vec<DecisionStep> {
    vec![DecisionStep::failed(
        "A receive connector takes this client",
        format!("no receive connector listening on {binding} admits {client}"),
        "Add the client's address to a receive connector's remote IP ranges (Receive \
         connectors › Network) if it should send to us",
    )]
}

/// Why a STARTTLS handshake failed.
pub fn tls_handshake_failed(error: &str) -> Vec<DecisionStep> {
    let lower = error.to_ascii_lowercase();
    let fix = if lower.contains("certificate") {
        "The client refused our certificate or sent one the handshake could not use: check \
         that our SMTP certificate is valid and trusted by the partner (Certificates)"
    } else if ["version", "cipher", "suite", "incompatible", "common"]
        .iter()
        .any(|w| lower.contains(w))
    {
        "The client and this connector share no TLS version, cipher or key exchange: the \
         client must speak TLS 1.2 or 1.3 with a modern cipher (ECDHE with AES-GCM or \
         ChaCha20)"
    } else if lower.contains("timed out") || lower.contains("timeout") {
        "The client stopped answering during the handshake: check the network path and the \
         client's log"
    } else {
        "Read the client's log for its side of the handshake; the protocol log has ours"
    };
    vec![DecisionStep::failed(
        "TLS handshake",
        error.to_string(),
        fix,
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::evidence::StepOutcome;

    /// Each row of the reply table is sorted into refusal or not as an administrator reads
    /// it: security, policy, limits and storage are refusals; syntax, sequence, timeouts and
    /// positive replies are not. (A connection over the limits shares X.3.2 with the timeouts;
    /// it is recorded where it is turned away, [`too_many_connections`].)
    #[test]
    fn refusals_are_the_policy_replies() {
        let refusals = [
            "DOMAIN_SECURE_DISALLOWED",
            "DOMAIN_SECURE_NOT_AUTHENTICATED",
            "DOMAIN_SECURE_NO_STARTTLS",
            "DOMAIN_SECURE_CERTIFICATE_FAILURE",
            "CLIENT_NOT_AUTHENTICATED",
            "UNABLE_TO_RELAY",
            "STARTTLS_FIRST",
            "AUTH_CREDENTIALS_INVALID",
            "AUTH_NEEDS_TLS",
            "MESSAGE_TOO_BIG",
            "TOO_MANY_RECIPIENTS",
            "TOO_MANY_ERRORS",
            "NOT_STORED",
            "REQUIRETLS_NEEDS_TLS",
        ];
        let not = [
            "OK",
            "SENDER_OK",
            "NEED_MAIL",
            "SEND_HELO_FIRST",
            "COMMAND_LINE_TOO_LONG",
            "CONTROL_CHARACTERS",
            "NO_COMMAND_RECEIVED",
            "SESSION_TOO_LONG",
            "SHUTTING_DOWN",
            "AUTH_CANCELLED",
            "NO_VALID_RECIPIENTS",
            "STARTTLS_NOT_OFFERED",
        ];
        let row = |name: &str| {
            replies::TABLE
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, r)| Reply::new(r.code, r.enhanced, r.text))
                .unwrap_or_else(|| panic!("no row {name}"))
        };
        for name in refusals {
            assert!(is_refusal(&row(name)), "{name} is a refusal");
        }
        for name in not {
            assert!(!is_refusal(&row(name)), "{name} is not a refusal");
        }
        assert!(is_refusal(&replies::user_unknown("bob@contoso.test")));
        assert!(!is_refusal(&replies::syntax_error("bad")));
    }

    fn cx<'a>(
        command: &'a str,
        identity: &'a Identity,
        groups: &'a [PermissionGroup],
    ) -> Context<'a> {
        Context {
            address: crate::smtp::trail::address_of(command),
            identity,
            groups,
        }
    }

    #[test]
    fn relay_denied_names_the_domain_and_the_way_out() {
        let groups = [PermissionGroup::AnonymousUsers];
        let steps = explain(
            &replies::UNABLE_TO_RELAY.reply(),
            &cx("RCPT TO:<bob@crimson.test>", &Identity::Anonymous, &groups),
        );
        assert_eq!(steps.len(), 1);
        assert_eq!(steps[0].outcome, StepOutcome::Failed);
        assert!(
            steps[0]
                .detail
                .contains("crimson.test is not one of our accepted domains")
        );
        assert!(steps[0].detail.contains("anonymous"));
        assert!(
            steps[0]
                .fix
                .as_deref()
                .unwrap_or("")
                .contains("accepted domains")
        );
    }

    #[test]
    fn permission_refusal_names_the_missing_group() {
        let partner = Identity::Partner {
            domain: "woodgrove.test".into(),
            mechanism: super::super::submission::AuthMechanism::MutualTls,
        };
        let groups = [PermissionGroup::AnonymousUsers];
        let steps = explain(
            &replies::CLIENT_NOT_AUTHENTICATED.reply(),
            &cx("MAIL FROM:<a@woodgrove.test>", &partner, &groups),
        );
        assert!(steps[0].detail.contains("partner woodgrove.test"));
        assert!(steps[0].detail.contains("Anonymous users"));
        assert!(
            steps[0]
                .fix
                .as_deref()
                .unwrap_or("")
                .starts_with("Add Partners")
        );
    }

    #[test]
    fn an_unknown_refusal_still_points_somewhere() {
        let r = Reply::new(550, (5, 7, 26), "something else");
        let steps = explain(&r, &cx("DATA", &Identity::Anonymous, &[]));
        assert_eq!(steps[0].check, "Reply");
        assert_eq!(steps[0].detail, "something else");
    }

    #[test]
    fn handshake_failures_get_a_fix_by_cause() {
        let s = tls_handshake_failed("peer is incompatible: NoKxGroupsInCommon");
        assert!(s[0].fix.as_deref().unwrap_or("").contains("TLS 1.2 or 1.3"));
        let s = tls_handshake_failed("received fatal alert: BadCertificate");
        assert!(
            s[0].fix
                .as_deref()
                .unwrap_or("")
                .contains("our SMTP certificate")
        );
    }
}
