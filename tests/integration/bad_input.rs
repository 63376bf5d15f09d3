//! Bad input gets a clear one-line error and leaves the data directory byte for byte as it was
//! (proved by hashing the whole tree before and after).

use crate::support::util::{Org, openssl, openssl_self_signed, p, peer, refused};

#[test]
fn garbage_and_truncated_files_are_refused_without_a_trace() {
    let org = Org::new("mail.contoso.test", "contoso.test");
    let garbage = org.file("garbage.cer");
    std::fs::write(&garbage, b"\x00\x13\x37 this is not a certificate \xff\xfe").unwrap();
    refused(
        &org,
        &["cert", "import", p(&garbage)],
        "not a certificate Mailflow can read",
    );
    refused(
        &org,
        &["trust", "add", p(&garbage)],
        "not a certificate Mailflow can read",
    );

    // A truncated PEM: our own certificate's file, cut in the middle.
    let tp = org.thumbprint_of("mail.contoso.test");
    let pem = std::fs::read_to_string(org.dir.join(format!("certificates/{tp}.pem"))).unwrap();
    let cut = org.file("cut.pem");
    std::fs::write(&cut, &pem[..pem.len() / 2]).unwrap();
    refused(&org, &["cert", "import", p(&cut)], "damaged or truncated");
    let empty = org.file("empty.cer");
    std::fs::write(&empty, b"").unwrap();
    refused(&org, &["cert", "import", p(&empty)], "empty");
    refused(
        &org,
        &["cert", "import", p(&org.file("missing.cer"))],
        "cannot read",
    );
}

#[test]
fn invalid_subjects_are_refused_with_the_rule_they_break() {
    let org = Org::new("mail.contoso.test", "contoso.test");
    let out = org.file("r.csr");
    let long_cn = format!("CN={}", "a".repeat(65));
    for (subject, expect) in [
        ("C=USA, CN=mail.contoso.test", "two-letter"),
        (long_cn.as_str(), "maximum for Common Name is 64"),
        ("CN=x, O=Contoso", "O must come before CN"),
        ("E=admin@contoso.test, CN=x", "use C, DC, S, L, O, OU or CN"),
        ("O=a, O=b, CN=x", "only one O"),
    ] {
        refused(
            &org,
            &["cert", "request", "--subject", subject, "--out", p(&out)],
            expect,
        );
        assert!(!out.exists());
    }
    refused(
        &org,
        &[
            "cert",
            "request",
            "--subject",
            "CN=x",
            "--domain",
            "not a domain",
            "--out",
            p(&out),
        ],
        "not a valid domain",
    );
    refused(
        &org,
        &[
            "cert",
            "request",
            "--subject",
            "CN=x",
            "--key",
            "dsa512",
            "--out",
            p(&out),
        ],
        "not a key type",
    );
}

#[test]
fn a_certificate_without_its_key_can_never_be_the_smtp_identity() {
    if peer("openssl").is_none() {
        return;
    }
    let org = Org::new("mail.contoso.test", "contoso.test");
    let (key, crt) = (org.file("k.pem"), org.file("c.pem"));
    openssl_self_signed(
        &key,
        &crt,
        "P-256",
        "/CN=nokey.contoso.test",
        10,
        &["-addext", "basicConstraints=critical,CA:FALSE"],
    );
    let out = org.ok(&["cert", "import", p(&crt)]);
    assert!(out.contains("cannot be an SMTP identity"), "{out}");
    let tp = org.thumbprint_of("nokey.contoso.test");
    refused(&org, &["cert", "enable", &tp], "has no private key");
    refused(
        &org,
        &[
            "connector",
            "receive",
            "set",
            "Default",
            "--certificate",
            &tp,
        ],
        "no private key",
    );
    // A key that belongs to none of the certificates in the file.
    let other_key = org.file("other.key");
    openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        p(&other_key),
    ]);
    let mixed = org.file("mixed.pem");
    let (_, crt2) = (org.file("k2.pem"), org.file("c2.pem"));
    openssl_self_signed(
        &org.file("k2.pem"),
        &crt2,
        "P-256",
        "/CN=other.contoso.test",
        10,
        &["-addext", "basicConstraints=critical,CA:FALSE"],
    );
    std::fs::write(
        &mixed,
        format!(
            "{}{}",
            std::fs::read_to_string(&crt2).unwrap(),
            std::fs::read_to_string(&other_key).unwrap()
        ),
    )
    .unwrap();
    refused(
        &org,
        &["cert", "import", p(&mixed)],
        "does not belong to any certificate",
    );
}

#[test]
fn duplicate_imports_and_roots_are_refused() {
    let org = Org::new("mail.contoso.test", "contoso.test");
    org.ok(&["ca", "init", "--name", "Contoso Lab CA"]);
    let req = org.file("r.csr");
    let crt = org.file("r.cer");
    org.ok(&[
        "cert",
        "request",
        "--subject",
        "CN=mail.contoso.test",
        "--domain",
        "mail.contoso.test",
        "--key",
        "p256",
        "--out",
        p(&req),
    ]);
    org.ok(&["ca", "issue", p(&req), "--out", p(&crt)]);
    org.ok(&["cert", "import", p(&crt)]);
    refused(&org, &["cert", "import", p(&crt)], "already in the store");
    let ca = org.file("ca.pem");
    org.ok(&["ca", "export", "--out", p(&ca)]);
    refused(&org, &["trust", "add", p(&ca)], "already a trusted root");
    refused(
        &org,
        &[
            "trust",
            "remove",
            &org.ok(&["trust", "list"]).lines().nth(2).unwrap()[..40],
        ],
        "own lab CA",
    );
    // A leaf is not a root.
    let leaf_only = org.file("leaf.der");
    let req2 = org.file("r2.csr");
    org.ok(&[
        "cert",
        "request",
        "--subject",
        "CN=leaf.contoso.test",
        "--key",
        "p256",
        "--out",
        p(&req2),
    ]);
    org.ok(&["ca", "issue", p(&req2), "--binary", "--out", p(&leaf_only)]);
    refused(
        &org,
        &["trust", "add", p(&leaf_only)],
        "not a CA certificate",
    );
    // Requests are not certificates.
    refused(
        &org,
        &["cert", "import", p(&req)],
        "certificate request, not a certificate",
    );
    refused(
        &org,
        &["ca", "init", "--name", "Second"],
        "already has a lab CA",
    );
    refused(&org, &["cert", "enable", "ZZZZ"], "not a thumbprint");
    refused(
        &org,
        &["cert", "enable", "ABCDEF0123"],
        "no certificate with thumbprint",
    );
}

#[test]
fn corrupt_settings_are_reported_with_line_and_column_and_never_replaced() {
    let org = Org::new("mail.contoso.test", "contoso.test");
    let path = org.dir.join("settings.ron");
    let text = std::fs::read_to_string(&path).unwrap();
    let broken = text.replacen("fqdn:", "fqnd:", 1);
    std::fs::write(&path, &broken).unwrap();
    let before = org.tree_hash();
    for args in [
        &["cert", "list"][..],
        &["transport", "show"],
        &["connector", "receive", "list"],
    ] {
        let err = org.fails(args);
        assert!(err.contains("does not parse at line"), "{err}");
        assert!(err.contains("column"), "{err}");
        assert!(err.contains("fqnd"), "{err}");
    }
    assert_eq!(org.tree_hash(), before);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), broken);
}

#[test]
fn init_twice_and_uninitialized_directories_are_explained() {
    let org = Org::new("mail.contoso.test", "contoso.test");
    refused(
        &org,
        &["init", "--fqdn", "x.test", "--domain", "x.test"],
        "already holds an organization",
    );
    let fresh = Org::empty();
    let err = fresh.fails(&["cert", "list"]);
    assert!(err.contains("holds no settings yet"), "{err}");
    assert!(
        !fresh.dir.exists(),
        "a failed command created the data directory"
    );
    let err = fresh.fails(&["init", "--fqdn", "not valid", "--domain", "x.test"]);
    assert!(err.contains("not a valid domain name"), "{err}");
}

#[test]
fn a_missing_or_damaged_store_file_is_reported_by_name() {
    let org = Org::new("mail.contoso.test", "contoso.test");
    let tp = org.thumbprint_of("mail.contoso.test");
    let key = org.dir.join(format!("certificates/{tp}.key"));
    let saved = std::fs::read(&key).unwrap();
    std::fs::remove_file(&key).unwrap();
    let err = org.fails(&["cert", "list"]);
    assert!(
        err.contains(&format!("{tp}.key")) && err.contains("missing"),
        "{err}"
    );
    std::fs::write(&key, saved).unwrap();
    let pem = org.dir.join(format!("certificates/{tp}.pem"));
    std::fs::write(
        &pem,
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let err = org.fails(&["cert", "list"]);
    assert!(err.contains(&format!("{tp}.pem")), "{err}");
    std::fs::write(
        org.dir.join("certstore.ron"),
        "(version: 1, certificates: [oops",
    )
    .unwrap();
    let err = org.fails(&["trust", "list"]);
    assert!(
        err.contains("certstore.ron") && err.contains("does not parse"),
        "{err}"
    );
}
