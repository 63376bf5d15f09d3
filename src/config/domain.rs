//! Domain names as the settings hold them: syntax checks (RFC 1035 letters-digits-hyphen labels,
//! RFC 5890 IDNA for international names) and the one normal form used everywhere for
//! comparison — lower case ASCII (A-labels), no trailing dot.

/// Why a text is not a usable domain name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{text}' is not a valid domain name: {why}")]
pub struct DomainError {
    pub text: String,
    pub why: String,
}

/// Normalises a domain name to lower-case ASCII without a trailing dot, converting
/// international names (`bücher.example`) to their A-label form (`xn--bcher-kva.example`).
/// Wildcards are not accepted here; see [`normalize_pattern`].
pub fn normalize(text: &str) -> Result<String, DomainError> {
    let err = |why: &str| DomainError {
        text: text.to_string(),
        why: why.to_string(),
    };
    let trimmed = text.trim();
    let trimmed = trimmed.strip_suffix('.').unwrap_or(trimmed);
    if trimmed.is_empty() {
        return Err(err("it is empty"));
    }
    if trimmed.contains('*') {
        return Err(err("wildcards are not allowed here"));
    }
    let ascii = if trimmed.is_ascii() {
        trimmed.to_ascii_lowercase()
    } else {
        idna::domain_to_ascii(trimmed)
            .map_err(|_| err("it is not a valid international domain name"))?
    };
    check_ascii(&ascii).map_err(|why| err(&why))?;
    Ok(ascii)
}

/// Like [`normalize`] but also accepts a leading `*.` label (`*.contoso.com`).
pub fn normalize_pattern(text: &str) -> Result<String, DomainError> {
    let trimmed = text.trim();
    match trimmed.strip_prefix("*.") {
        Some(rest) => Ok(format!("*.{}", normalize(rest)?)),
        None => normalize(trimmed),
    }
}

/// True when `text` is a syntactically valid domain name (see [`normalize`]).
pub fn is_valid(text: &str) -> bool {
    normalize(text).is_ok()
}

fn check_ascii(name: &str) -> Result<(), String> {
    if name.len() > 253 {
        return Err("it is longer than 253 characters".into());
    }
    let labels: Vec<&str> = name.split('.').collect();
    for label in &labels {
        if label.is_empty() {
            return Err("it has an empty label (two dots in a row)".into());
        }
        if label.len() > 63 {
            return Err(format!("the label '{label}' is longer than 63 characters"));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(format!(
                "the label '{label}' may contain only letters, digits and hyphens"
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!(
                "the label '{label}' must not start or end with a hyphen"
            ));
        }
    }
    if labels.len() > 1
        && labels
            .last()
            .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err("the last label is all digits; an IP address is not a domain name".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_normalise_to_lower_case_a_labels() {
        assert_eq!(normalize("Contoso.COM.").unwrap(), "contoso.com");
        assert_eq!(
            normalize("bücher.example").unwrap(),
            "xn--bcher-kva.example"
        );
        assert_eq!(normalize("localhost").unwrap(), "localhost");
        assert_eq!(normalize_pattern("*.Contoso.com").unwrap(), "*.contoso.com");
    }

    #[test]
    fn invalid_domains_say_why() {
        let cases = [
            ("", "empty"),
            ("a..b", "empty label"),
            ("-a.com", "hyphen"),
            ("a b.com", "letters, digits"),
            ("*.contoso.com", "wildcards"),
            ("10.0.0.1", "IP address"),
        ];
        for (text, why) in cases {
            let e = normalize(text).unwrap_err();
            assert!(e.to_string().contains(why), "{text}: {e}");
        }
        assert!(normalize(&format!("{}.com", "a".repeat(64))).is_err());
        assert!(normalize_pattern("*contoso.com").is_err());
    }
}
