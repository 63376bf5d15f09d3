//! Two certificates side by side — a partner's old and new certificate at rotation — with what
//! changed said in the administrator's terms: the issuer (a new CA to trust or anchor?), the
//! names (does the new one still name the domain?), the key (a public-key pin breaks), the
//! validity, the usages (clientAuth gone?) and the other extensions. Pure.

use super::inspect::CertificateInfo;
use time::OffsetDateTime;

/// One compared field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldDiff {
    pub field: &'static str,
    pub old: String,
    pub new: String,
    pub changed: bool,
    /// What the change means for Domain Security, when it means something.
    pub note: Option<String>,
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "(none)".into()
    } else {
        items.join(", ")
    }
}

fn date(t: OffsetDateTime) -> String {
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

fn usages(i: &CertificateInfo) -> String {
    let mut u = Vec::new();
    if i.server_auth {
        u.push("serverAuth");
    }
    if i.client_auth {
        u.push("clientAuth");
    }
    if i.is_ca {
        u.push("CA");
    }
    if u.is_empty() {
        "(none for TLS)".into()
    } else {
        u.join(", ")
    }
}

/// The fields of `old` and `new`, each with whether it changed and what that means.
pub fn compare(old: &CertificateInfo, new: &CertificateInfo) -> Vec<FieldDiff> {
    let mut out = Vec::new();
    let mut add = |field: &'static str, o: String, n: String, note: Option<String>| {
        let changed = o != n;
        out.push(FieldDiff {
            field,
            old: o,
            new: n,
            changed,
            note: if changed { note } else { None },
        });
    };
    add("Subject", old.subject.clone(), new.subject.clone(), None);
    add(
        "Issuer",
        old.issuer.clone(),
        new.issuer.clone(),
        Some(
            "another CA issued it: make sure its root is trusted here, and update a partner anchor that pins the old CA"
                .into(),
        ),
    );
    let (on, nn) = (old.names(), new.names());
    let lost: Vec<String> = on.iter().filter(|n| !nn.contains(n)).cloned().collect();
    add(
        "Names",
        list(&on),
        list(&nn),
        (!lost.is_empty()).then(|| {
            format!(
                "no longer names {}: a domain on the domain secure lists that needs one of them will be refused",
                lost.join(", ")
            )
        }),
    );
    add(
        "Public key",
        format!("{} ({})", old.key, short(&old.public_key_sha256)),
        format!("{} ({})", new.key, short(&new.public_key_sha256)),
        Some("a new key: a public-key pin (Direct Trust or partner pin) must be replaced".into()),
    );
    add(
        "Valid from",
        date(old.not_before),
        date(new.not_before),
        None,
    );
    add("Valid to", date(old.not_after), date(new.not_after), None);
    add(
        "Usages",
        usages(old),
        usages(new),
        (old.client_auth && !new.client_auth).then(|| {
            "clientAuth is gone: the partner can no longer present it as client certificate (Domain Security inbound fails)".into()
        }),
    );
    add(
        "Signature",
        old.signature_algorithm.clone(),
        new.signature_algorithm.clone(),
        None,
    );
    add(
        "Thumbprint",
        old.thumbprint.clone(),
        new.thumbprint.clone(),
        Some("a certificate pin (thumbprint) must be replaced".into()),
    );
    add(
        "Other extensions",
        list(&old.other_extensions),
        list(&new.other_extensions),
        None,
    );
    out
}

fn short(hex: &str) -> String {
    match hex.get(..16) {
        Some(s) => format!("{s}…"),
        None => hex.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::ca;
    use crate::pki::inspect::inspect_certificate;
    use crate::pki::keys::KeySpec;
    use crate::pki::subject::Subject;

    fn cert(cn: &str, names: &[&str], key: &rcgen::KeyPair, days: u32) -> CertificateInfo {
        let der = ca::self_signed(
            &Subject::parse(&format!("CN={cn}")).expect("subject"),
            &names.iter().map(|n| n.to_string()).collect::<Vec<_>>(),
            key,
            OffsetDateTime::now_utc(),
            days,
        )
        .expect("cert");
        inspect_certificate(&der).expect("inspect")
    }

    /// A renewal with the same key and names changes dates and thumbprint only; a rotation to
    /// a new key that drops a name says what breaks.
    #[test]
    fn what_changed_at_rotation_is_said_in_domain_security_terms() {
        let key = KeySpec::P256.generate().expect("key");
        let old = cert(
            "mail.woodgrove.test",
            &["mail.woodgrove.test", "woodgrove.test"],
            &key,
            30,
        );
        let renewed = cert(
            "mail.woodgrove.test",
            &["mail.woodgrove.test", "woodgrove.test"],
            &key,
            400,
        );
        let d = compare(&old, &renewed);
        let changed: Vec<&str> = d.iter().filter(|f| f.changed).map(|f| f.field).collect();
        assert!(
            changed.contains(&"Valid to") && changed.contains(&"Thumbprint"),
            "{changed:?}"
        );
        assert!(
            !changed.contains(&"Public key") && !changed.contains(&"Names"),
            "{changed:?}"
        );
        let other = KeySpec::P256.generate().expect("key");
        let rotated = cert("mail.woodgrove.test", &["mail.woodgrove.test"], &other, 400);
        let d = compare(&old, &rotated);
        let names = d.iter().find(|f| f.field == "Names").expect("names");
        assert!(names.changed);
        assert!(
            names
                .note
                .as_deref()
                .unwrap_or("")
                .contains("no longer names woodgrove.test"),
            "{names:?}"
        );
        let key = d.iter().find(|f| f.field == "Public key").expect("key");
        assert!(key.changed && key.note.as_deref().unwrap_or("").contains("public-key pin"));
        let subject = d.iter().find(|f| f.field == "Subject").expect("subject");
        assert!(!subject.changed && subject.note.is_none());
    }
}
