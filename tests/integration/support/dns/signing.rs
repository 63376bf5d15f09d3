//! DNSSEC for the test zones: signing a zone with a key made at the server's start, corrupting
//! a signed zone's signatures, and the signed parent zones that delegate to the test zones (a
//! DS for a signed zone, an NSEC-proven absence of DS for an unsigned one) so that one trust
//! anchor, the parents' keys, covers them all.

use super::{DEFAULT_TTL, ServedZone, Zone};
use hickory_server::proto::dnssec::crypto::EcdsaSigningKey;
use hickory_server::proto::dnssec::rdata::{DNSKEY, DNSSECRData, DS, RRSIG};
use hickory_server::proto::dnssec::{Algorithm, DigestType, DnssecSigner, SigningKey};
use hickory_server::proto::rr::rdata::NS;
use hickory_server::proto::rr::{Name, RData, Record, RecordSet, RecordType};
use hickory_server::store::in_memory::InMemoryZoneHandler;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// How long the signatures of a signed zone stay valid from the server's start.
const SIGNATURE_VALIDITY: Duration = Duration::from_secs(7 * 24 * 3600);

/// Signs `zone` with an ECDSA P-256 key made now, published as its DNSKEY (flags 257: a zone
/// key and secure entry point), with RRSIGs over every RRset and NSEC records; returns the key.
pub(super) fn sign(zone: &mut InMemoryZoneHandler, origin: &Name) -> DNSKEY {
    let algorithm = Algorithm::ECDSAP256SHA256;
    let private_key = EcdsaSigningKey::generate_pkcs8(algorithm).unwrap();
    let key = EcdsaSigningKey::from_pkcs8(&private_key, algorithm).unwrap();
    let dnskey = DNSKEY::from_key(&key.to_public_key().unwrap());
    let signer = DnssecSigner::new(
        dnskey.clone(),
        Box::new(key),
        origin.clone(),
        SIGNATURE_VALIDITY,
    );
    zone.add_zone_signing_key_mut(signer).unwrap();
    zone.secure_zone_mut().unwrap();
    dnskey
}

/// Flips a byte in every signature of `zone` except those over its DNSKEY set (with `only`,
/// in the signatures over that type's records alone), so the key still validates and what the
/// flipped signatures cover does not.
pub(super) fn corrupt_signatures(zone: &mut InMemoryZoneHandler, only: Option<RecordType>) {
    for record_set in zone.records_get_mut().values_mut() {
        let kind = record_set.record_type();
        if kind == RecordType::DNSKEY
            || record_set.rrsigs().is_empty()
            || only.is_some_and(|t| t != kind)
        {
            continue;
        }
        let signatures = record_set.rrsigs().iter().map(corrupted).collect();
        let mut corrupted_set: RecordSet = (**record_set).clone();
        corrupted_set.set_rrsigs(signatures);
        *record_set = Arc::new(corrupted_set);
    }
}

/// The RRSIG record `signature` with one byte of its signature flipped.
fn corrupted(signature: &Record) -> Record {
    let RData::DNSSEC(DNSSECRData::RRSIG(rrsig)) = &signature.data else {
        return signature.clone();
    };
    let mut bytes = rrsig.sig().to_vec();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    let mut signature = signature.clone();
    signature.data = RData::DNSSEC(DNSSECRData::RRSIG(RRSIG::from_sig(
        rrsig.input().clone(),
        bytes,
    )));
    signature
}

/// When one of `zones` is signed, the signed zones one level above them, served; none
/// otherwise.
pub(super) fn parents_of(zones: &[ServedZone]) -> Vec<ServedZone> {
    if zones.iter().all(|zone| zone.key.is_none()) {
        return Vec::new();
    }
    parent_zones(zones)
        .into_iter()
        .map(Zone::into_served)
        .collect()
}

/// The signed zones one level above `zones` (`test.` above `woodgrove.test.`), each
/// delegating to its test zones: an NS record for each, and a DS record for each signed one.
/// A parent that is itself one of `zones` is left out (its zones are not delegated).
fn parent_zones(zones: &[ServedZone]) -> Vec<Zone> {
    let mut parents: BTreeMap<Name, Zone> = BTreeMap::new();
    for zone in zones {
        let parent_name = zone.origin.base_name();
        if zones.iter().any(|other| other.origin == parent_name) {
            continue;
        }
        let parent = parents
            .remove(&parent_name)
            .unwrap_or_else(|| Zone::at(parent_name.clone()).signed());
        let name_server = Name::from_ascii("ns1")
            .unwrap()
            .append_domain(&zone.origin)
            .unwrap();
        let mut parent = parent.record_at(zone.origin.clone(), RData::NS(NS(name_server)));
        if let Some(key) = &zone.key {
            let ds = DS::from_key(key.public_key(), &zone.origin, DigestType::SHA256).unwrap();
            parent = parent.record_at(zone.origin.clone(), RData::DNSSEC(DNSSECRData::DS(ds)));
        }
        parents.insert(parent_name, parent);
    }
    parents.into_values().collect()
}

/// The trust anchor file for `parents`: their DNSKEY records in presentation format, one a
/// line.
pub(super) fn trust_anchor(parents: &[ServedZone]) -> String {
    parents
        .iter()
        .filter_map(|parent| {
            let record = Record::from_rdata(
                parent.origin.clone(),
                DEFAULT_TTL,
                RData::DNSSEC(DNSSECRData::DNSKEY(parent.key.clone()?)),
            );
            Some(format!("{record}\n"))
        })
        .collect()
}
