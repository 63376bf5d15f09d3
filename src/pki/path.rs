//! The certification path as the inspector draws it, root first, with a status on every node
//! as the Windows certificate dialog shows it: valid, expired, not yet valid, untrusted root,
//! issuer not found, revoked, and name constraints. A chain that validated is drawn as the
//! validator found it; one that did not is rebuilt from the certificates at hand (the file's,
//! our chain certificates and the trusted roots) by issuer and key identifiers, so the
//! administrator sees where it breaks. Pure: the verdict and the time are given.

use super::chain::{ChainFailure, ChainVerdict};
use super::inspect::{CertificateInfo, inspect_certificate};
use time::OffsetDateTime;

/// The status of one certificate on the path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeStatus {
    Valid,
    /// The root the chain was validated against (one of our trusted roots).
    TrustedRoot,
    Expired,
    NotYetValid,
    /// A self-signed CA that is not among the trusted roots.
    UntrustedRoot,
    /// The top of what we have is not self-signed and its issuer is not at hand.
    IssuerNotFound,
    /// The chain failed for a reason that belongs to this certificate (revoked, wrong
    /// usage, bad signature): the words say which.
    Failed(String),
}

impl NodeStatus {
    pub fn words(&self) -> String {
        match self {
            NodeStatus::Valid => "Valid".into(),
            NodeStatus::TrustedRoot => "Trusted root".into(),
            NodeStatus::Expired => "Expired".into(),
            NodeStatus::NotYetValid => "Not yet valid".into(),
            NodeStatus::UntrustedRoot => "Untrusted root".into(),
            NodeStatus::IssuerNotFound => "Issuer not found".into(),
            NodeStatus::Failed(why) => why.clone(),
        }
    }

    pub fn is_good(&self) -> bool {
        matches!(self, NodeStatus::Valid | NodeStatus::TrustedRoot)
    }
}

/// One certificate of the path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathNode {
    /// The common name, or the subject.
    pub name: String,
    pub subject: String,
    pub thumbprint: String,
    pub status: NodeStatus,
    /// The CA's name constraints, when it has them (what it may issue for).
    pub name_constraints: Option<String>,
}

fn node(info: &CertificateInfo, status: NodeStatus) -> PathNode {
    PathNode {
        name: info.display_name(),
        subject: info.subject.clone(),
        thumbprint: info.thumbprint.clone(),
        status,
        name_constraints: info.name_constraints.clone(),
    }
}

fn dates(info: &CertificateInfo, now: OffsetDateTime) -> NodeStatus {
    if now > info.not_after {
        NodeStatus::Expired
    } else if now < info.not_before {
        NodeStatus::NotYetValid
    } else {
        NodeStatus::Valid
    }
}

/// Whether `issuer` issued `child`: names equal, and key identifiers equal when both are there.
fn issued(child: &CertificateInfo, issuer: &CertificateInfo) -> bool {
    child.issuer == issuer.subject
        && match (&child.authority_key_id, &issuer.subject_key_id) {
            (Some(a), Some(s)) => a == s,
            _ => true,
        }
}

/// The path of `leaf`, root first. `others` are the certificates at hand (the file's and our
/// chain certificates), `roots` the trusted roots.
pub fn path_nodes(
    leaf: &[u8],
    others: &[Vec<u8>],
    roots: &[Vec<u8>],
    verdict: Option<&ChainVerdict>,
    now: OffsetDateTime,
) -> Vec<PathNode> {
    let Ok(leaf_info) = inspect_certificate(leaf) else {
        return Vec::new();
    };
    let parse = |ders: &[Vec<u8>]| -> Vec<CertificateInfo> {
        ders.iter()
            .filter_map(|d| inspect_certificate(d).ok())
            .collect()
    };
    let root_infos = parse(roots);
    let is_root = |i: &CertificateInfo| root_infos.iter().any(|r| r.thumbprint == i.thumbprint);
    if let Some(ChainVerdict::Trusted { path }) = verdict {
        let infos = parse(path);
        let last = infos.len().saturating_sub(1);
        return infos
            .iter()
            .enumerate()
            .rev()
            .map(|(i, info)| {
                let status = if i == last && is_root(info) {
                    NodeStatus::TrustedRoot
                } else {
                    NodeStatus::Valid
                };
                node(info, status)
            })
            .collect();
    }
    // Rebuild upward from the leaf by issuer, as far as the certificates at hand go.
    let mut pool = parse(others);
    pool.extend(root_infos.iter().cloned());
    let mut chain = vec![leaf_info.clone()];
    while chain.len() < 10 {
        let Some(top) = chain.last() else { break };
        if top.self_signed {
            break;
        }
        let Some(issuer) = pool
            .iter()
            .find(|c| issued(top, c) && !chain.iter().any(|x| x.thumbprint == c.thumbprint))
            .cloned()
        else {
            break;
        };
        chain.push(issuer);
    }
    let failure = match verdict {
        Some(ChainVerdict::Untrusted { reason, kind }) => Some((kind, reason.as_str())),
        _ => None,
    };
    let top = chain.len() - 1;
    let mut nodes: Vec<PathNode> = chain
        .iter()
        .enumerate()
        .map(|(i, info)| {
            let mut status = dates(info, now);
            if status == NodeStatus::Valid && i == top {
                status = match (info.self_signed, is_root(info)) {
                    (true, true) => NodeStatus::TrustedRoot,
                    (true, false) => NodeStatus::UntrustedRoot,
                    (false, _) => NodeStatus::IssuerNotFound,
                };
            }
            if i == 0
                && status == NodeStatus::Valid
                && let Some((kind, reason)) = failure
            {
                status = match kind {
                    ChainFailure::Revoked => NodeStatus::Failed(format!("Revoked: {reason}")),
                    ChainFailure::WrongUsage => {
                        NodeStatus::Failed(format!("Not for this use: {reason}"))
                    }
                    ChainFailure::BadSignature => {
                        NodeStatus::Failed(format!("Bad signature: {reason}"))
                    }
                    ChainFailure::Expired
                    | ChainFailure::NotYetValid
                    | ChainFailure::UnknownIssuer => status,
                    _ => NodeStatus::Failed(reason.to_string()),
                };
            }
            node(info, status)
        })
        .collect();
    nodes.reverse();
    nodes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::ca;
    use crate::pki::keys::{KeySpec, spki_der};
    use crate::pki::subject::Subject;
    use time::Duration;

    struct Ca {
        der: Vec<u8>,
        key: rcgen::KeyPair,
    }

    fn ca(name: &str) -> Ca {
        let key = KeySpec::P256.generate().expect("key");
        let der = ca::create_ca(name, "Woodgrove", &key, OffsetDateTime::now_utc(), 2).expect("ca");
        Ca { der, key }
    }

    fn leaf(ca: &Ca, from: OffsetDateTime, to: OffsetDateTime) -> Vec<u8> {
        let key = KeySpec::P256.generate().expect("key");
        ca::issue_leaf(
            &ca.der,
            &ca.key,
            &Subject::parse("CN=mail.woodgrove.test")
                .expect("subject")
                .to_der(),
            &spki_der(&key),
            None,
            ca::LeafUsage::SMTP,
            from,
            to,
        )
        .expect("leaf")
    }

    fn statuses(nodes: &[PathNode]) -> Vec<(String, String)> {
        nodes
            .iter()
            .map(|n| (n.name.clone(), n.status.words()))
            .collect()
    }

    #[test]
    fn a_trusted_chain_is_drawn_root_first_with_the_root_marked() {
        let root = ca("Woodgrove Root CA");
        let now = OffsetDateTime::now_utc();
        let l = leaf(&root, now - Duration::days(1), now + Duration::days(30));
        let verdict = ChainVerdict::Trusted {
            path: vec![l.clone(), root.der.clone()],
        };
        let nodes = path_nodes(
            &l,
            &[],
            std::slice::from_ref(&root.der),
            Some(&verdict),
            now,
        );
        assert_eq!(
            statuses(&nodes),
            vec![
                ("Woodgrove Root CA".into(), "Trusted root".into()),
                ("mail.woodgrove.test".into(), "Valid".into()),
            ]
        );
    }

    /// An untrusted chain is rebuilt from what is at hand and says where it breaks: the root
    /// not trusted, the leaf expired; with nothing at hand, the issuer is not found.
    #[test]
    fn an_untrusted_chain_says_where_it_breaks() {
        let root = ca("Stranger Root CA");
        let now = OffsetDateTime::now_utc();
        let expired = leaf(&root, now - Duration::days(90), now - Duration::days(1));
        let verdict = ChainVerdict::Untrusted {
            reason: "the certificate expired".into(),
            kind: ChainFailure::Expired,
        };
        let nodes = path_nodes(
            &expired,
            std::slice::from_ref(&root.der),
            &[],
            Some(&verdict),
            now,
        );
        assert_eq!(
            statuses(&nodes),
            vec![
                ("Stranger Root CA".into(), "Untrusted root".into()),
                ("mail.woodgrove.test".into(), "Expired".into()),
            ]
        );
        let alone = path_nodes(&expired, &[], &[], Some(&verdict), now);
        assert_eq!(alone.len(), 1);
        assert_eq!(alone[0].status, NodeStatus::Expired);
        let current = leaf(&root, now - Duration::days(1), now + Duration::days(9));
        let unknown = ChainVerdict::Untrusted {
            reason: "issuer unknown".into(),
            kind: ChainFailure::UnknownIssuer,
        };
        let alone = path_nodes(&current, &[], &[], Some(&unknown), now);
        assert_eq!(alone[0].status, NodeStatus::IssuerNotFound);
        let revoked = ChainVerdict::Untrusted {
            reason: "on the CA's revocation list".into(),
            kind: ChainFailure::Revoked,
        };
        let nodes = path_nodes(
            &current,
            &[],
            std::slice::from_ref(&root.der),
            Some(&revoked),
            now,
        );
        assert_eq!(nodes[0].status, NodeStatus::TrustedRoot);
        assert!(
            nodes[1].status.words().starts_with("Revoked"),
            "{:?}",
            nodes[1]
        );
    }
}
