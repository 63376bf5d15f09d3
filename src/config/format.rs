//! The text form of the settings: versioned RON with `implicit_some`, pretty-printed for people.
//! A file that does not parse is an error with line and column — never silently defaults.

use super::model::{SETTINGS_VERSION, Settings};
use ron::extensions::Extensions;
use std::fmt;

/// Why a settings text could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

fn options() -> ron::Options {
    ron::Options::default().with_default_extension(Extensions::IMPLICIT_SOME)
}

/// Parses settings text. Unknown fields, missing required fields and wrong types are errors.
pub fn from_ron(text: &str) -> Result<Settings, ParseError> {
    let settings: Settings = options().from_str(text).map_err(|e| ParseError {
        line: e.span.start.line,
        column: e.span.start.col,
        message: e.code.to_string(),
    })?;
    if settings.version > SETTINGS_VERSION {
        return Err(ParseError {
            line: 1,
            column: 1,
            message: format!(
                "this file is settings version {}, written by a newer Mailflow; this one reads version {SETTINGS_VERSION}",
                settings.version
            ),
        });
    }
    Ok(settings)
}

/// Writes settings as pretty RON with a header comment.
pub fn to_ron(settings: &Settings) -> String {
    let pretty = ron::ser::PrettyConfig::new()
        .depth_limit(6)
        .indentor("    ".to_string())
        .struct_names(false);
    let body = options()
        .to_string_pretty(settings, pretty)
        .unwrap_or_else(|e| format!("/* settings could not be written: {e} */"));
    format!(
        "// Mailflow settings. Edit with care: unknown fields are errors; `mailflow transport show`\n// and the console check every change before it is saved.\n{body}\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_exactly() {
        let mut s = Settings::initial("Contoso", "mail.contoso.test", "contoso.test");
        s.transport.tls_send_domain_secure_list = vec!["woodgrove.test".into()];
        s.accepted_domains[0].recipients = Some(vec!["administrator".into()]);
        s.send_connectors[0].tls_domain = Some("mail.woodgrove.test".into());
        let text = to_ron(&s);
        assert_eq!(from_ron(&text).unwrap(), s);
    }

    /// Partner pins round-trip, and a file without any does not mention them (so it stays
    /// readable by a Mailflow that predates them).
    #[test]
    fn partner_pins_round_trip_and_are_not_written_while_empty() {
        let mut s = Settings::initial("Contoso", "mail.contoso.test", "contoso.test");
        assert!(!to_ron(&s).contains("partner_pins"));
        s.partner_pins.push(crate::config::PartnerPin {
            name: "Fabrikam".into(),
            domains: vec!["fabrikam.test".into()],
            pin: crate::config::Pin::Thumbprint("AB".repeat(20)),
        });
        let text = to_ron(&s);
        assert!(text.contains("partner_pins"), "{text}");
        assert_eq!(from_ron(&text).unwrap(), s);
    }

    #[test]
    fn parse_errors_carry_line_and_column() {
        let s = Settings::initial("Contoso", "mail.contoso.test", "contoso.test");
        let text = to_ron(&s).replace("fqdn:", "fqdnn:");
        let e = from_ron(&text).unwrap_err();
        assert!(e.line > 1, "{e}");
        assert!(e.message.contains("fqdnn"), "{e}");
        let e = from_ron("(version: 1, organization: (name: \"x\", fqdn: 5))").unwrap_err();
        assert_eq!(e.line, 1);
        assert!(e.column > 1);
    }

    #[test]
    fn a_newer_version_is_refused_not_guessed() {
        let s = Settings::initial("Contoso", "mail.contoso.test", "contoso.test");
        let text = to_ron(&s).replace("version: 1", "version: 7");
        assert!(
            from_ron(&text)
                .unwrap_err()
                .message
                .contains("newer Mailflow")
        );
    }
}

#[cfg(test)]
mod golden {
    use super::*;
    use crate::config::*;

    /// The committed version-1 file keeps loading, and means what it meant.
    #[test]
    fn the_golden_settings_file_keeps_loading() {
        let text = include_str!("../../tests/golden/settings-v1.ron");
        let s = from_ron(text).unwrap_or_else(|e| panic!("golden file: {e}"));
        let checked = validate(&s).unwrap_or_else(|p| panic!("golden file: {p}"));
        assert_eq!(
            s.accepted_domains[1].recipients.as_deref(),
            Some(&["alice".to_string(), "bob".to_string()][..])
        );
        let inbound = s.receive_connector("Inbound").unwrap();
        assert!(inbound.domain_secure_enabled && inbound.require_tls);
        assert_eq!(
            inbound.max_message_size,
            units::ByteSize::mb(36),
            "defaults fill omitted fields"
        );
        assert_eq!(checked.receive_connectors[1].bindings.len(), 2);
        let out = s.send_connector("ToWoodgrove").unwrap();
        assert_eq!(out.tls_auth_level, Some(TlsAuthLevel::DomainValidation));
        assert_eq!(out.address_spaces[0].cost, 1, "cost defaults to 1");
        assert_eq!(checked.send_connectors[1].smart_hosts[1].port, 2525);
        assert_eq!(
            s.transport.delay_notification_timeout,
            units::TimeSpan::secs(4 * 3600)
        );
        assert!(matches!(s.direct_trust[1].pin, Pin::PublicKeySha256(_)));
        // What we write reads back as the same settings.
        assert_eq!(from_ron(&to_ron(&s)).unwrap(), s);
    }
}
