//! Matching certificate names against domains. A certificate's names are its SAN dNSNames, or
//! its CNs only when it has no SAN (RFC 6125 §6.4.4). Comparison is case-insensitive on the
//! A-label form, so `BÜCHER.example` and `xn--bcher-kva.example` are the same name.
//!
//! Wildcard rule (RFC 6125 §6.4.3): `*` is allowed only as the complete left-most label and
//! stands for exactly one label; it never matches the bare parent (`*.contoso.com` does not
//! match `contoso.com`), never partial labels (`m*.contoso.com` matches nothing), and needs at
//! least two labels after it (`*.com` matches nothing).

use crate::config::domain;

fn normal(name: &str) -> Option<String> {
    match name.strip_prefix("*.") {
        Some(rest) => domain::normalize(rest).ok().map(|r| format!("*.{r}")),
        None => domain::normalize(name).ok(),
    }
}

/// RFC 6125 match of one certificate name against one domain.
pub fn matches_exact(cert_name: &str, domain_name: &str) -> bool {
    let (Some(pattern), Some(target)) = (normal(cert_name), domain::normalize(domain_name).ok())
    else {
        return false;
    };
    match pattern.strip_prefix("*.") {
        None => pattern == target,
        Some(parent) => {
            parent.contains('.')
                && target
                    .split_once('.')
                    .is_some_and(|(label, rest)| !label.is_empty() && rest == parent)
        }
    }
}

/// Whether any of `cert_names` matches `domain_name` (see [`matches_exact`]).
pub fn any_matches(cert_names: &[String], domain_name: &str) -> bool {
    cert_names.iter().any(|n| matches_exact(n, domain_name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_and_case_insensitive() {
        assert!(matches_exact("Contoso.TEST", "contoso.test"));
        assert!(matches_exact("contoso.test.", "CONTOSO.test"));
        assert!(!matches_exact("mail.contoso.test", "contoso.test"));
        assert!(!matches_exact("contoso.test", "mail.contoso.test"));
    }

    #[test]
    fn wildcards_cover_exactly_one_whole_label() {
        assert!(matches_exact("*.contoso.test", "mail.contoso.test"));
        assert!(!matches_exact("*.contoso.test", "contoso.test"));
        assert!(!matches_exact("*.contoso.test", "a.b.contoso.test"));
        assert!(!matches_exact("m*.contoso.test", "mail.contoso.test"));
        assert!(!matches_exact("*.test", "contoso.test"));
        assert!(!matches_exact("mail.*.test", "mail.contoso.test"));
    }

    #[test]
    fn international_names_compare_as_a_labels() {
        assert!(matches_exact("xn--bcher-kva.example", "BÜCHER.example"));
        assert!(matches_exact(
            "*.bücher.example",
            "mail.xn--bcher-kva.example"
        ));
    }

    #[test]
    fn garbage_never_matches() {
        assert!(!matches_exact("", "contoso.test"));
        assert!(!matches_exact("contoso.test", ""));
        assert!(!matches_exact("not a name", "not a name"));
        assert!(!any_matches(&[], "contoso.test"));
    }
}
