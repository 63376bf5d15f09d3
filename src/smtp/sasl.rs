//! SMTP AUTH (RFC 4954) with the PLAIN (RFC 4616) and LOGIN mechanisms: decoding what the
//! client sends into a user name and a password. Pure; the password is held in memory that is
//! wiped when dropped and never printed, not even by `Debug`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use std::fmt;
use zeroize::Zeroizing;

/// The mechanisms Mailflow offers, as advertised after `AUTH` in the EHLO reply.
pub const MECHANISMS: &str = "PLAIN LOGIN";

/// `334` challenges of the LOGIN mechanism: "Username:" and "Password:" in Base64.
pub const LOGIN_USER_PROMPT: &str = "VXNlcm5hbWU6";
pub const LOGIN_PASSWORD_PROMPT: &str = "UGFzc3dvcmQ6";

/// What a client offered to prove who it is.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub user: String,
    pub password: Zeroizing<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Credentials {{ user: {:?}, password: <redacted> }}",
            self.user
        )
    }
}

/// Why a response cannot be used: `501 5.5.2` with this text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SaslError(pub &'static str);

/// Decodes one Base64 response line into text (RFC 4954 §4: `=` is an empty response).
pub fn decode_text(line: &str) -> Result<Zeroizing<String>, SaslError> {
    let line = line.trim();
    if line == "=" {
        return Ok(Zeroizing::new(String::new()));
    }
    let bytes = Zeroizing::new(
        STANDARD
            .decode(line)
            .map_err(|_| SaslError("Cannot decode the response: it is not Base64"))?,
    );
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| SaslError("Cannot decode the response: it is not UTF-8 text"))?;
    Ok(Zeroizing::new(text.to_string()))
}

/// Decodes a PLAIN response: `authzid NUL authcid NUL password`. An authorization identity
/// other than the user's own is refused (nobody may act as somebody else).
pub fn decode_plain(line: &str) -> Result<Credentials, SaslError> {
    let text = decode_text(line)?;
    let mut parts = text.split('\0');
    let (Some(authz), Some(user), Some(password), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(SaslError(
            "Malformed PLAIN response: expected authorization id, user and password separated by NUL",
        ));
    };
    if user.is_empty() {
        return Err(SaslError(
            "Malformed PLAIN response: the user name is empty",
        ));
    }
    if !authz.is_empty() && authz != user {
        return Err(SaslError(
            "Acting for another user is not supported: leave the authorization id empty",
        ));
    }
    Ok(Credentials {
        user: user.to_string(),
        password: Zeroizing::new(password.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        STANDARD.encode(s)
    }

    #[test]
    fn plain_responses_decode_or_say_what_is_wrong() {
        let c = decode_plain(&b64("\0bob\0s3cr3t")).unwrap();
        assert_eq!((c.user.as_str(), c.password.as_str()), ("bob", "s3cr3t"));
        let c = decode_plain(&b64("bob\0bob\0pw")).unwrap();
        assert_eq!(c.user, "bob");
        assert!(
            decode_plain(&b64("alice\0bob\0pw")).is_err(),
            "acting for another"
        );
        assert!(decode_plain(&b64("\0\0pw")).is_err());
        assert!(decode_plain(&b64("bob pw")).is_err());
        assert!(decode_plain(&b64("\0bob\0pw\0x")).is_err());
        assert!(decode_plain("not base64!").is_err());
        assert!(decode_plain(&STANDARD.encode([0, b'b', 0, 0xff])).is_err());
    }

    #[test]
    fn a_password_never_shows_in_debug_output() {
        let c = decode_plain(&b64("\0bob\0s3cr3t")).unwrap();
        let shown = format!("{c:?}");
        assert!(
            shown.contains("bob") && !shown.contains("s3cr3t"),
            "{shown}"
        );
        assert_eq!(decode_text("=").unwrap().as_str(), "");
        assert_eq!(decode_text(&b64("bob")).unwrap().as_str(), "bob");
    }
}
