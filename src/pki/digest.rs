//! Fingerprints: the SHA-1 thumbprint Exchange shows (upper-case hex), SHA-256 fingerprints of
//! certificates and of public keys (the pin that survives renewal with the same key).

use aws_lc_rs::digest;

/// SHA-1 of the DER certificate, upper-case hex without separators (Get-ExchangeCertificate).
pub fn thumbprint(der: &[u8]) -> String {
    hex::encode_upper(digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, der))
}

/// SHA-256 of arbitrary bytes, upper-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode_upper(digest::digest(&digest::SHA256, bytes))
}

/// SHA-1 of bytes, raw (key identifiers, RFC 5280 §4.2.1.2 method 1).
pub fn sha1_raw(bytes: &[u8]) -> Vec<u8> {
    digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, bytes)
        .as_ref()
        .to_vec()
}

/// Formats hex as colon-separated pairs for display (`AB:CD:…`).
pub fn colon_hex(hex: &str) -> String {
    hex.as_bytes()
        .chunks(2)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests() {
        assert_eq!(
            thumbprint(b"abc"),
            "A9993E364706816ABA3E25717850C26C9CD0D89D"
        );
        assert_eq!(
            sha256_hex(b"abc"),
            "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"
        );
        assert_eq!(colon_hex("ABCDEF"), "AB:CD:EF");
    }
}
