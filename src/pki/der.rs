//! DER building blocks written with yasna: object identifiers, algorithm identifiers, times,
//! extensions. Used by the request and certificate builders; nothing here decides policy.

use time::OffsetDateTime;
use yasna::models::{GeneralizedTime, ObjectIdentifier, UTCTime};
use yasna::{DERWriter, Tag};

pub mod oid {
    pub const COUNTRY: &[u64] = &[2, 5, 4, 6];
    pub const STATE: &[u64] = &[2, 5, 4, 8];
    pub const LOCALITY: &[u64] = &[2, 5, 4, 7];
    pub const ORGANIZATION: &[u64] = &[2, 5, 4, 10];
    pub const ORG_UNIT: &[u64] = &[2, 5, 4, 11];
    pub const COMMON_NAME: &[u64] = &[2, 5, 4, 3];
    pub const DOMAIN_COMPONENT: &[u64] = &[0, 9, 2342, 19_200_300, 100, 1, 25];
    pub const EXTENSION_REQUEST: &[u64] = &[1, 2, 840, 113_549, 1, 9, 14];
    pub const SUBJECT_KEY_ID: &[u64] = &[2, 5, 29, 14];
    pub const KEY_USAGE: &[u64] = &[2, 5, 29, 15];
    pub const SUBJECT_ALT_NAME: &[u64] = &[2, 5, 29, 17];
    pub const BASIC_CONSTRAINTS: &[u64] = &[2, 5, 29, 19];
    pub const AUTHORITY_KEY_ID: &[u64] = &[2, 5, 29, 35];
    pub const EXT_KEY_USAGE: &[u64] = &[2, 5, 29, 37];
    pub const SERVER_AUTH: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 3, 1];
    pub const CLIENT_AUTH: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 3, 2];
    pub const RSA_SHA256: &[u64] = &[1, 2, 840, 113_549, 1, 1, 11];
    pub const RSA_SHA384: &[u64] = &[1, 2, 840, 113_549, 1, 1, 12];
    pub const ECDSA_SHA256: &[u64] = &[1, 2, 840, 10_045, 4, 3, 2];
    pub const ECDSA_SHA384: &[u64] = &[1, 2, 840, 10_045, 4, 3, 3];
    pub const ED25519: &[u64] = &[1, 3, 101, 112];
}

pub fn object_id(components: &[u64]) -> ObjectIdentifier {
    ObjectIdentifier::from_slice(components)
}

/// Writes an X.509 time: UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 §4.1.2.5).
pub fn write_time(w: DERWriter, t: OffsetDateTime) {
    let t = t.replace_nanosecond(0).unwrap_or(t);
    let t = t.to_offset(time::UtcOffset::UTC);
    if (1950..2050).contains(&t.year()) {
        w.write_utctime(&UTCTime::from_datetime(t));
    } else {
        w.write_generalized_time(&GeneralizedTime::from_datetime(t));
    }
}

/// One certificate or request extension with its DER-encoded value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extension {
    pub oid: Vec<u64>,
    pub critical: bool,
    pub value: Vec<u8>,
}

impl Extension {
    pub fn write(&self, w: DERWriter) {
        w.write_sequence(|w| {
            w.next().write_oid(&object_id(&self.oid));
            if self.critical {
                w.next().write_bool(true);
            }
            w.next().write_bytes(&self.value);
        })
    }
}

/// Writes `Extensions ::= SEQUENCE OF Extension`.
pub fn write_extensions(w: DERWriter, exts: &[Extension]) {
    w.write_sequence(|w| {
        for e in exts {
            e.write(w.next());
        }
    })
}

/// Key usage bits of RFC 5280 §4.2.1.3.
pub mod key_usage {
    pub const DIGITAL_SIGNATURE: u16 = 1 << 0;
    pub const KEY_ENCIPHERMENT: u16 = 1 << 2;
    pub const KEY_CERT_SIGN: u16 = 1 << 5;
    pub const CRL_SIGN: u16 = 1 << 6;
}

/// keyUsage extension (critical) with the given bits.
pub fn key_usage_ext(bits: u16) -> Extension {
    let len = 16 - bits.leading_zeros() as usize; // highest set bit + 1 (bit 0 first)
    let mut bytes = [0u8; 2];
    for i in 0..len {
        if bits & (1 << i) != 0 {
            bytes[i / 8] |= 0x80 >> (i % 8);
        }
    }
    let byte_len = len.div_ceil(8).max(1);
    Extension {
        oid: oid::KEY_USAGE.to_vec(),
        critical: true,
        value: yasna::construct_der(|w| w.write_bitvec_bytes(&bytes[..byte_len], len)),
    }
}

/// extendedKeyUsage with the given purposes.
pub fn ext_key_usage_ext(purposes: &[&[u64]]) -> Extension {
    Extension {
        oid: oid::EXT_KEY_USAGE.to_vec(),
        critical: false,
        value: yasna::construct_der(|w| {
            w.write_sequence(|w| {
                for p in purposes {
                    w.next().write_oid(&object_id(p));
                }
            })
        }),
    }
}

/// subjectAltName with dNSName entries.
pub fn san_dns_ext(names: &[String]) -> Extension {
    Extension {
        oid: oid::SUBJECT_ALT_NAME.to_vec(),
        critical: false,
        value: yasna::construct_der(|w| {
            w.write_sequence(|w| {
                for n in names {
                    w.next()
                        .write_tagged_implicit(Tag::context(2), |w| w.write_ia5_string(n));
                }
            })
        }),
    }
}

/// basicConstraints (critical): CA flag and optional path length.
pub fn basic_constraints_ext(ca: bool, path_len: Option<u8>) -> Extension {
    Extension {
        oid: oid::BASIC_CONSTRAINTS.to_vec(),
        critical: true,
        value: yasna::construct_der(|w| {
            w.write_sequence(|w| {
                if ca {
                    w.next().write_bool(true);
                    if let Some(n) = path_len {
                        w.next().write_u8(n);
                    }
                }
            })
        }),
    }
}

/// subjectKeyIdentifier.
pub fn ski_ext(key_id: &[u8]) -> Extension {
    Extension {
        oid: oid::SUBJECT_KEY_ID.to_vec(),
        critical: false,
        value: yasna::construct_der(|w| w.write_bytes(key_id)),
    }
}

/// authorityKeyIdentifier with the keyIdentifier field only.
pub fn aki_ext(key_id: &[u8]) -> Extension {
    Extension {
        oid: oid::AUTHORITY_KEY_ID.to_vec(),
        critical: false,
        value: yasna::construct_der(|w| {
            w.write_sequence(|w| {
                w.next()
                    .write_tagged_implicit(Tag::context(0), |w| w.write_bytes(key_id))
            })
        }),
    }
}
