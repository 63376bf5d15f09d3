//! The article's certificate flow end to end, checked by openssl: request with repeated DCs,
//! issue (lab CA and an openssl CA), import (PEM, DER, PKCS#7, PKCS#12 AES and legacy), enable,
//! list.

use crate::support::util::{Org, openssl, openssl_self_signed, p, peer};

fn row_of<'a>(list: &'a str, needle: &str) -> &'a str {
    list.lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no row with {needle}:\n{list}"))
}

#[test]
fn the_articles_request_is_accepted_by_openssl_with_both_dcs_in_order() {
    if peer("openssl").is_none() {
        return;
    }
    let org = Org::new("w2k3.nwtraders.msft", "nwtraders.msft");
    let req = org.file("request.p7c");
    org.ok(&[
        "cert",
        "request",
        "--subject",
        "DC=msft,dc=nwtraders,CN=W2K3",
        "--domain",
        "w2k3.nwtraders.msft",
        "--out",
        p(&req),
    ]);
    let text = openssl(&["req", "-in", p(&req), "-verify", "-noout", "-text"]);
    assert!(text.contains("verify OK"), "{text}");
    assert!(
        text.contains("Subject: DC = msft, DC = nwtraders, CN = W2K3"),
        "{text}"
    );
    assert!(text.contains("DNS:w2k3.nwtraders.msft"), "{text}");
    assert!(
        text.contains("TLS Web Server Authentication, TLS Web Client Authentication"),
        "{text}"
    );
    assert!(text.contains("Public-Key: (2048 bit)"), "{text}");
    let list = org.ok(&["cert", "list"]);
    assert!(
        row_of(&list, "DC=msft, DC=nwtraders, CN=W2K3").contains("PendingRequest"),
        "{list}"
    );
}

#[test]
fn binary_requests_and_every_key_type_verify() {
    if peer("openssl").is_none() {
        return;
    }
    let org = Org::new("mail.contoso.test", "contoso.test");
    for (key, bits) in [
        ("p256", "256 bit"),
        ("p384", "384 bit"),
        ("rsa3072", "3072 bit"),
    ] {
        let req = org.file(&format!("{key}.der"));
        org.ok(&[
            "cert",
            "request",
            "--subject",
            "C=US,S=Washington,L=Redmond,O=Contoso,OU=IT,OU=Mail,CN=mail.contoso.test",
            "--domain",
            "mail.contoso.test,contoso.test",
            "--key",
            key,
            "--binary",
            "--out",
            p(&req),
        ]);
        let bytes = std::fs::read(&req).unwrap();
        assert_eq!(bytes[0], 0x30, "DER starts with a SEQUENCE");
        let text = openssl(&[
            "req",
            "-inform",
            "DER",
            "-in",
            p(&req),
            "-verify",
            "-noout",
            "-text",
        ]);
        assert!(text.contains("verify OK"), "{text}");
        assert!(text.contains(bits), "{key}: {text}");
        assert!(
            text.contains("Subject: C = US, ST = Washington, L = Redmond, O = Contoso, OU = IT, OU = Mail, CN = mail.contoso.test"),
            "{text}"
        );
        assert!(
            text.contains("DNS:mail.contoso.test, DNS:contoso.test"),
            "{text}"
        );
    }
}

#[test]
fn request_lab_ca_import_enable_list_shows_valid_smtp() {
    if peer("openssl").is_none() {
        return;
    }
    let org = Org::new("w2k3.nwtraders.msft", "nwtraders.msft");
    let req = org.file("req.csr");
    let cert = org.file("certnew.cer");
    org.ok(&[
        "cert",
        "request",
        "--subject",
        "DC=msft,dc=nwtraders,OU=Mail,OU=Servers,CN=W2K3",
        "--domain",
        "w2k3.nwtraders.msft,nwtraders.msft",
        "--key",
        "p256",
        "--out",
        p(&req),
    ]);
    org.ok(&["ca", "init", "--name", "Nwtraders Root CA"]);
    org.ok(&["ca", "issue", p(&req), "--days", "365", "--out", p(&cert)]);
    // openssl agrees: chain, subject with both DCs and OUs in order, SANs, both EKUs.
    let ca_pem = org.dir.join("ca/ca.pem");
    assert!(
        openssl(&[
            "verify",
            "-CAfile",
            p(&ca_pem),
            "-purpose",
            "sslclient",
            p(&cert)
        ])
        .contains(": OK")
    );
    assert!(
        openssl(&[
            "verify",
            "-CAfile",
            p(&ca_pem),
            "-purpose",
            "sslserver",
            p(&cert)
        ])
        .contains(": OK")
    );
    let text = openssl(&[
        "x509",
        "-in",
        p(&cert),
        "-noout",
        "-subject",
        "-ext",
        "subjectAltName",
    ]);
    assert!(
        text.contains("subject=DC = msft, DC = nwtraders, OU = Mail, OU = Servers, CN = W2K3"),
        "{text}"
    );
    assert!(
        text.contains("DNS:w2k3.nwtraders.msft, DNS:nwtraders.msft"),
        "{text}"
    );

    let out = org.ok(&["cert", "import", p(&cert)]);
    assert!(out.contains("Completes the pending request"), "{out}");
    let tp = org.thumbprint_of("CN=W2K3");
    org.ok(&["cert", "enable", &tp, "--services", "smtp"]);
    let list = org.ok(&["cert", "list"]);
    let row = row_of(&list, &tp);
    assert!(row.contains("SMTP") && row.contains("Valid"), "{list}");
    assert!(
        !list.contains("PendingRequest"),
        "the request left the pending list:\n{list}"
    );
    // Key file is private; no key material in the index or settings.
    use std::os::unix::fs::PermissionsExt;
    let key = org.dir.join(format!("certificates/{tp}.key"));
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    for f in ["settings.ron", "certstore.ron"] {
        let text = std::fs::read_to_string(org.dir.join(f)).unwrap();
        assert!(!text.contains("PRIVATE KEY"), "{f} holds key material");
    }
    let show = org.ok(&["cert", "show", &tp]);
    assert!(show.contains("HasPrivateKey          : True"), "{show}");
    assert!(
        show.contains("CN=Nwtraders Root CA"),
        "certification path shown:\n{show}"
    );
}

/// An openssl CA, like the partner's or an enterprise CA: our request is signed by openssl,
/// imported as DER, PKCS#7 and PEM, and shows Valid once the CA's root is trusted.
#[test]
fn openssl_ca_issues_our_request_and_the_certificate_imports_valid() {
    if peer("openssl").is_none() {
        return;
    }
    let org = Org::new("mail.contoso.test", "contoso.test");
    let (ca_key, ca_pem) = (org.file("ca.key"), org.file("ca.pem"));
    openssl_self_signed(
        &ca_key,
        &ca_pem,
        "rsa:2048",
        "/O=Fabrikam/CN=Fabrikam Root CA",
        30,
        &[],
    );
    let req = org.file("req.csr");
    org.ok(&[
        "cert",
        "request",
        "--subject",
        "c=US, o=Contoso, cn=mail.contoso.test",
        "--domain",
        "mail.contoso.test,contoso.test",
        "--out",
        p(&req),
    ]);
    let cert_pem = org.file("cert.pem");
    openssl(&[
        "x509",
        "-req",
        "-in",
        p(&req),
        "-CA",
        p(&ca_pem),
        "-CAkey",
        p(&ca_key),
        "-CAcreateserial",
        "-copy_extensions",
        "copy",
        "-days",
        "20",
        "-out",
        p(&cert_pem),
    ]);
    // As DER (.cer)
    let cert_der = org.file("cert.cer");
    openssl(&[
        "x509",
        "-in",
        p(&cert_pem),
        "-outform",
        "DER",
        "-out",
        p(&cert_der),
    ]);
    org.ok(&["trust", "add", p(&ca_pem)]);
    let out = org.ok(&["cert", "import", p(&cert_der)]);
    assert!(out.contains("Completes the pending request"), "{out}");
    let tp = org.thumbprint_of("O=Contoso");
    org.ok(&["cert", "enable", &tp]);
    let list = org.ok(&["cert", "list"]);
    let row = row_of(&list, &tp);
    assert!(row.contains("SMTP") && row.contains("Valid"), "{list}");
    // Expiry within 30 days is flagged.
    let show = org.ok(&["cert", "show", &tp]);
    assert!(show.contains("expires in"), "{show}");

    // The same certificate again as PKCS#7 (.p7b, PEM and DER) is a duplicate — refused.
    let p7b = org.file("chain.p7b");
    openssl(&[
        "crl2pkcs7",
        "-nocrl",
        "-certfile",
        p(&cert_pem),
        "-certfile",
        p(&ca_pem),
        "-out",
        p(&p7b),
    ]);
    let err = org.fails(&["cert", "import", p(&p7b)]);
    assert!(err.contains("already in the store"), "{err}");
    // ... and the inspector reads the PKCS#7 as a chain.
    let shown = org.ok(&["cert", "show", p(&p7b)]);
    assert!(
        shown.contains("File format: PKCS#7") && shown.contains("Certificate 2 of 2"),
        "{shown}"
    );
}

#[test]
fn pkcs7_import_keeps_the_chain() {
    if peer("openssl").is_none() {
        return;
    }
    let org = Org::new("mail.contoso.test", "contoso.test");
    let (ca_key, ca_pem) = (org.file("ca.key"), org.file("ca.pem"));
    openssl_self_signed(&ca_key, &ca_pem, "P-256", "/CN=Chain Root", 30, &[]);
    let req = org.file("req.csr");
    org.ok(&[
        "cert",
        "request",
        "--subject",
        "CN=chained.contoso.test",
        "--domain",
        "chained.contoso.test",
        "--key",
        "p256",
        "--out",
        p(&req),
    ]);
    let cert_pem = org.file("cert.pem");
    openssl(&[
        "x509",
        "-req",
        "-in",
        p(&req),
        "-CA",
        p(&ca_pem),
        "-CAkey",
        p(&ca_key),
        "-CAcreateserial",
        "-copy_extensions",
        "copy",
        "-days",
        "90",
        "-out",
        p(&cert_pem),
    ]);
    let p7b = org.file("certnew.p7b");
    openssl(&[
        "crl2pkcs7",
        "-nocrl",
        "-certfile",
        p(&cert_pem),
        "-certfile",
        p(&ca_pem),
        "-outform",
        "DER",
        "-out",
        p(&p7b),
    ]);
    let out = org.ok(&["cert", "import", p(&p7b)]);
    assert!(out.contains("Chain certificates kept: 1"), "{out}");
    // Valid even before the root is trusted? No: Untrusted until `trust add`.
    let tp = org.thumbprint_of("CN=chained.contoso.test");
    assert!(row_of(&org.ok(&["cert", "list"]), &tp).contains("Untrusted"));
    let show = org.ok(&["cert", "show", &tp]);
    assert!(show.contains("untrusted chain"), "{show}");
    org.ok(&["trust", "add", p(&ca_pem)]);
    assert!(row_of(&org.ok(&["cert", "list"]), &tp).contains("Valid"));
}

fn make_pfx(org: &Org, legacy: bool) -> std::path::PathBuf {
    let (ca_key, ca_pem) = (org.file("pca.key"), org.file("pca.pem"));
    if !ca_pem.exists() {
        openssl_self_signed(&ca_key, &ca_pem, "rsa:2048", "/CN=PFX Root", 30, &[]);
    }
    let name = if legacy { "legacy" } else { "aes" };
    let (key, csr, crt) = (
        org.file(&format!("{name}.key")),
        org.file(&format!("{name}.csr")),
        org.file(&format!("{name}.crt")),
    );
    openssl(&[
        "req",
        "-new",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        p(&key),
        "-out",
        p(&csr),
        "-subj",
        &format!("/CN={name}.contoso.test"),
        "-addext",
        &format!("subjectAltName=DNS:{name}.contoso.test"),
        "-addext",
        "extendedKeyUsage=serverAuth,clientAuth",
    ]);
    openssl(&[
        "x509",
        "-req",
        "-in",
        p(&csr),
        "-CA",
        p(&ca_pem),
        "-CAkey",
        p(&ca_key),
        "-CAcreateserial",
        "-copy_extensions",
        "copy",
        "-days",
        "60",
        "-out",
        p(&crt),
    ]);
    let pfx = org.file(&format!("{name}.pfx"));
    let mut args = vec![
        "pkcs12",
        "-export",
        "-inkey",
        p(&key),
        "-in",
        p(&crt),
        "-certfile",
        p(&ca_pem),
        "-passout",
        "pass:S3cret!",
        "-out",
        p(&pfx),
    ];
    if legacy {
        args.push("-legacy");
    }
    openssl(&args);
    pfx
}

#[test]
fn pkcs12_from_openssl_imports_with_the_right_password_aes_and_legacy() {
    if peer("openssl").is_none() {
        return;
    }
    let org = Org::new("mail.contoso.test", "contoso.test");
    for legacy in [false, true] {
        let pfx = make_pfx(&org, legacy);
        let mut info_args = vec![
            "pkcs12",
            "-in",
            p(&pfx),
            "-info",
            "-noout",
            "-passin",
            "pass:S3cret!",
        ];
        if legacy {
            info_args.push("-legacy");
        }
        let info = openssl(&info_args);
        if legacy {
            assert!(
                info.contains("RC2") || info.contains("3DES"),
                "legacy encoding expected:\n{info}"
            );
        } else {
            assert!(
                info.contains("AES-256-CBC"),
                "AES encoding expected:\n{info}"
            );
        }
        // Without a password: says one is needed; wrong password: says it is wrong.
        let before = org.tree_hash();
        let err = org.fails(&["cert", "import", p(&pfx)]);
        assert!(err.contains("protected by a password"), "{err}");
        let wrong = org.file("wrong.txt");
        std::fs::write(&wrong, "not-it\n").unwrap();
        let err = org.fails(&["cert", "import", p(&pfx), "--password-file", p(&wrong)]);
        assert!(err.contains("password is wrong"), "{err}");
        assert_eq!(
            org.tree_hash(),
            before,
            "a refused import changed the data directory"
        );
        // Right password from stdin.
        let out = org.run_stdin(
            &["cert", "import", p(&pfx), "--password-stdin"],
            Some("S3cret!\n"),
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let name = if legacy { "legacy" } else { "aes" };
        let tp = org.thumbprint_of(&format!("{name}.contoso.test"));
        org.ok(&["cert", "enable", &tp]);
        let show = org.ok(&["cert", "show", &tp]);
        assert!(show.contains("HasPrivateKey          : True"), "{show}");
    }
}

#[test]
fn exchange_like_requests_with_extra_extensions_are_issued() {
    if peer("openssl").is_none() {
        return;
    }
    let org = Org::new("mail.contoso.test", "contoso.test");
    org.ok(&["ca", "init", "--name", "Contoso Lab CA", "--key", "rsa2048"]);
    let (key, csr) = (org.file("ex.key"), org.file("ex.csr"));
    // Like a Windows/Exchange request: SKI, certificate template name (BMPString), key usage,
    // repeated DC and OU, and no SAN at all for the second one.
    openssl(&[
        "req",
        "-new",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        p(&key),
        "-out",
        p(&csr),
        "-subj",
        "/DC=test/DC=contoso/OU=Exchange/OU=Servers/CN=ex2007.contoso.test",
        "-addext",
        "subjectKeyIdentifier=hash",
        "-addext",
        "1.3.6.1.4.1.311.20.2=ASN1:BMPSTRING:WebServer",
        "-addext",
        "keyUsage=critical,digitalSignature,keyEncipherment",
        "-addext",
        "subjectAltName=DNS:ex2007.contoso.test,DNS:contoso.test",
    ]);
    let shown = org.ok(&["cert", "show", p(&csr)]);
    assert!(
        shown.contains("1.3.6.1.4.1.311.20.2"),
        "the template extension is shown:\n{shown}"
    );
    let out = org.file("ex.cer");
    org.ok(&["ca", "issue", p(&csr), "--days", "90", "--out", p(&out)]);
    let text = openssl(&[
        "x509",
        "-in",
        p(&out),
        "-noout",
        "-subject",
        "-ext",
        "subjectAltName,extendedKeyUsage",
    ]);
    assert!(
        text.contains(
            "subject=DC = test, DC = contoso, OU = Exchange, OU = Servers, CN = ex2007.contoso.test"
        ),
        "{text}"
    );
    assert!(
        text.contains("DNS:ex2007.contoso.test, DNS:contoso.test"),
        "{text}"
    );
    assert!(
        text.contains("TLS Web Server Authentication, TLS Web Client Authentication"),
        "{text}"
    );

    // A request without SAN gets its CN as SAN.
    let (key2, csr2, out2) = (
        org.file("nosan.key"),
        org.file("nosan.csr"),
        org.file("nosan.cer"),
    );
    openssl(&[
        "req",
        "-new",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        p(&key2),
        "-out",
        p(&csr2),
        "-subj",
        "/CN=legacy.contoso.test",
        "-addext",
        "subjectKeyIdentifier=hash",
    ]);
    org.ok(&[
        "ca",
        "issue",
        p(&csr2),
        "--days",
        "30",
        "--out",
        p(&out2),
        "--binary",
    ]);
    let text = openssl(&[
        "x509",
        "-inform",
        "DER",
        "-in",
        p(&out2),
        "-noout",
        "-ext",
        "subjectAltName",
    ]);
    assert!(text.contains("DNS:legacy.contoso.test"), "{text}");
}

#[test]
fn a_certificate_and_key_in_one_pem_import_together() {
    if peer("openssl").is_none() {
        return;
    }
    let org = Org::new("mail.contoso.test", "contoso.test");
    let (key, crt) = (org.file("self.key"), org.file("self.crt"));
    openssl_self_signed(
        &key,
        &crt,
        "P-384",
        "/CN=relay2.contoso.test",
        10,
        &["-addext", "subjectAltName=DNS:relay2.contoso.test"],
    );
    let both = org.file("both.pem");
    std::fs::write(
        &both,
        format!(
            "{}{}",
            std::fs::read_to_string(&crt).unwrap(),
            std::fs::read_to_string(&key).unwrap()
        ),
    )
    .unwrap();
    let out = org.ok(&["cert", "import", p(&both)]);
    assert!(out.contains("Private key: yes"), "{out}");
    let tp = org.thumbprint_of("relay2.contoso.test");
    org.ok(&["cert", "enable", &tp]);
    org.ok(&["cert", "remove", &tp]);
    assert!(!org.ok(&["cert", "list"]).contains(&tp));
    assert!(!org.dir.join(format!("certificates/{tp}.key")).exists());
}

/// The lab CA's short path and every export, read back by openssl: a pending request issued
/// and installed in one step (with its key), its file again, the certificate with its chain as
/// PEM, alone as DER and as PKCS#7, the CA certificate for partners, and a PFX backup that
/// openssl opens with the password only — AES-256, mode 0600.
#[test]
fn issue_pending_and_every_export_are_read_by_openssl() {
    use std::os::unix::fs::PermissionsExt;
    if peer("openssl").is_none() {
        return;
    }
    let org = Org::new("mail.contoso.test", "contoso.test");
    let req = org.file("mail.req");
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
    let list = org.ok(&["cert", "list"]);
    let id = row_of(&list, "PendingRequest")
        .split_whitespace()
        .next()
        .expect("request id")
        .to_string();
    // The request's file again, as openssl reads it.
    let again = org.file("again.req");
    org.ok(&["cert", "export", &id, "--out", p(&again)]);
    assert!(openssl(&["req", "-in", p(&again), "-verify", "-noout"]).contains("verify OK"));
    let err = org.fails(&["ca", "issue-pending", &id]);
    assert!(err.contains("there is no lab CA yet"), "{err}");
    org.ok(&["ca", "init", "--name", "Contoso Lab CA"]);
    let out = org.ok(&["ca", "issue-pending", &id, "--days", "90"]);
    let tp = out
        .lines()
        .find(|l| l.starts_with("Thumbprint"))
        .and_then(|l| l.split_whitespace().last())
        .expect("thumbprint")
        .to_string();
    let list = org.ok(&["cert", "list"]);
    assert!(!list.contains("PendingRequest"), "completed:\n{list}");
    // PEM with the chain: openssl verifies the leaf against the exported CA certificate.
    let ca = org.file("ca.pem");
    org.ok(&["ca", "export", "--out", p(&ca)]);
    let pem = org.file("mail.pem");
    org.ok(&["cert", "export", &tp, "--out", p(&pem)]);
    let text = std::fs::read_to_string(&pem).expect("pem");
    assert_eq!(text.matches("BEGIN CERTIFICATE").count(), 2, "{text}");
    let v = openssl(&["verify", "-CAfile", p(&ca), p(&pem)]);
    assert!(v.contains(": OK"), "{v}");
    let der = org.file("mail.cer");
    org.ok(&["cert", "export", &tp, "--out", p(&der), "--format", "der"]);
    let subject = openssl(&[
        "x509",
        "-inform",
        "DER",
        "-in",
        p(&der),
        "-noout",
        "-subject",
    ]);
    assert!(subject.contains("CN = mail.contoso.test"), "{subject}");
    let p7b = org.file("mail.p7b");
    org.ok(&["cert", "export", &tp, "--out", p(&p7b), "--format", "p7b"]);
    let certs = openssl(&[
        "pkcs7",
        "-inform",
        "DER",
        "-in",
        p(&p7b),
        "-print_certs",
        "-noout",
    ]);
    assert!(
        certs.contains("CN = mail.contoso.test") && certs.contains("CN = Contoso Lab CA"),
        "{certs}"
    );
    // PFX: the password is required, short ones refused, the file private.
    let pfx = org.file("mail.pfx");
    let err = org.fails(&["cert", "export", &tp, "--out", p(&pfx), "--format", "pfx"]);
    assert!(err.contains("holds the private key"), "{err}");
    let short = org.file("short.pw");
    std::fs::write(&short, "short\n").unwrap();
    let err = org.fails(&[
        "cert",
        "export",
        &tp,
        "--out",
        p(&pfx),
        "--format",
        "pfx",
        "--password-file",
        p(&short),
    ]);
    assert!(err.contains("at least 8 characters"), "{err}");
    assert!(!pfx.exists());
    let pw = org.file("backup.pw");
    std::fs::write(&pw, "a long backup password\n").unwrap();
    org.ok(&[
        "cert",
        "export",
        &tp,
        "--out",
        p(&pfx),
        "--format",
        "pfx",
        "--password-file",
        p(&pw),
    ]);
    let mode = std::fs::metadata(&pfx).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let info = openssl(&[
        "pkcs12",
        "-in",
        p(&pfx),
        "-passin",
        &format!("file:{}", p(&pw)),
        "-info",
        "-nodes",
    ]);
    assert!(info.contains("AES-256-CBC"), "{info}");
    assert!(
        info.contains("BEGIN PRIVATE KEY") && info.contains("CN = mail.contoso.test"),
        "{info}"
    );
    let wrong = std::process::Command::new("openssl")
        .args([
            "pkcs12",
            "-in",
            p(&pfx),
            "-passin",
            "pass:not the password",
            "-nokeys",
        ])
        .output()
        .expect("openssl runs");
    assert!(!wrong.status.success(), "a wrong password must not open it");
    // And it imports back into another organization, key and all.
    let other = Org::new("mail2.contoso.test", "contoso.test");
    let imported = other.ok(&["cert", "import", p(&pfx), "--password-file", p(&pw)]);
    assert!(imported.contains(&tp), "{imported}");
}
