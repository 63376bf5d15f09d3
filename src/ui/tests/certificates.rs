//! Server › Certificates without the command line: create the lab CA, issue a pending request
//! with it and install it, export the certificate (PKCS#7 here), back it up as a PFX with a
//! password, save a request file again and export the CA certificate for the partner — each
//! driven by its labels, each file read back.

use super::*;
use crate::pki::import::read_file;
use crate::pki::keys::KeySpec;
use crate::pki::subject::Subject;
use crate::ui::widgets::nav::Page;
use egui_kittest::kittest::Queryable;
use std::os::unix::fs::PermissionsExt;

#[test]
fn lab_ca_issue_and_exports_from_the_certificates_page() {
    let (tmp, mut ws) = fresh_org();
    let req = ws
        .new_request(
            &Subject::parse("O=Contoso, CN=relay2.contoso.test").expect("subject"),
            &["relay2.contoso.test".into()],
            KeySpec::P256,
            None,
            NOW,
        )
        .expect("request");
    let mut app = console(ws);
    app.page = Page::Certificates;
    let mut h = harness(app);
    settle(&mut h);
    // The request: its file again, then no lab CA to issue it yet.
    click(&mut h, "relay2.contoso.test (O=Contoso)");
    settle(&mut h);
    assert!(
        h.query_all_by_label(&req.entry.id).next().is_some(),
        "its ID"
    );
    let request_file = tmp.path().join("again.req");
    set_text(
        &mut h,
        "Save the request to",
        &request_file.display().to_string(),
    );
    click(&mut h, "Save request");
    settle(&mut h);
    let again = std::fs::read_to_string(&request_file).expect("request saved");
    assert_eq!(again, req.pem);
    assert!(
        h.query_all_by_label_contains("No lab CA here")
            .next()
            .is_some()
    );
    // Create the lab CA from the console.
    click(&mut h, "Create the lab CA");
    settle(&mut h);
    assert_eq!(h.state().data.lab_ca.as_deref(), Some("Contoso Lab CA"));
    // Issue the request with it and install it.
    click(&mut h, "Issue with the lab CA (Contoso Lab CA) and install");
    settle(&mut h);
    let issued = h
        .state()
        .data
        .certificates
        .iter()
        .find(|c| c.common_name.as_deref() == Some("relay2.contoso.test"))
        .cloned()
        .expect("installed");
    assert!(issued.has_private_key && issued.smtp);
    assert!(
        issued.issuer.contains("Contoso Lab CA"),
        "{}",
        issued.issuer
    );
    assert!(h.state().data.requests.is_empty(), "the request completed");
    // Export it as PKCS#7, with its chain.
    h.state_mut().views.certificates.selected = Some(issued.thumbprint.clone());
    h.step();
    h.get_by_role_and_label(egui::accesskit::Role::ComboBox, "Format")
        .click();
    h.step();
    h.step();
    click(&mut h, "PKCS#7 (.p7b) with the chain");
    let p7b = tmp.path().join("relay2.p7b");
    set_text(&mut h, "Export to", &p7b.display().to_string());
    click(&mut h, "Export");
    settle(&mut h);
    let read = read_file(&std::fs::read(&p7b).expect("p7b saved"), None).expect("reads");
    assert_eq!(read.certificates.len(), 2);
    // The PFX backup: a warning, the password twice, a private file.
    click(&mut h, "Back up with the private key (PFX)…");
    assert!(
        h.query_all_by_label_contains("The file holds this server's private key")
            .next()
            .is_some()
    );
    set_text(&mut h, "Password", "lab backup 2026");
    set_text(&mut h, "Again", "lab backup 2026");
    let pfx = tmp.path().join("relay2.pfx");
    set_text(&mut h, "Save the PFX to", &pfx.display().to_string());
    click(&mut h, "Save PFX");
    settle(&mut h);
    let bytes = std::fs::read(&pfx).expect("pfx saved");
    let mode = std::fs::metadata(&pfx).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(
        read_file(&bytes, Some("lab backup 2026"))
            .expect("opens")
            .private_keys
            .len(),
        1
    );
    assert!(
        h.state().views.certificates.details.pfx_password.is_empty(),
        "not kept"
    );
    // The CA certificate for the partner.
    let ca = tmp.path().join("lab-ca.pem");
    set_text(
        &mut h,
        "Export the CA certificate to",
        &ca.display().to_string(),
    );
    click(&mut h, "Export CA certificate");
    settle(&mut h);
    let ca_read = read_file(&std::fs::read(&ca).expect("CA saved"), None).expect("reads");
    assert_eq!(ca_read.certificates.len(), 1);
}

/// A certificate inspected from a file is trusted, pinned or anchored with buttons: a partner's
/// root trusted, a partner domain anchored to it, the partner's server certificate pinned for
/// its domain, and one of our relays pinned for Direct Trust — each a real settings change.
#[test]
fn the_inspector_trusts_pins_and_anchors_by_buttons() {
    let (tmp, ws) = fixture();
    let files = tmp.path().join("files");
    let mut app = console(ws);
    app.page = Page::CertificateInspector;
    let mut h = harness(app);
    settle(&mut h);
    let open = |h: &mut Harness<'static, ConsoleApp>, name: &str| {
        set_text(
            h,
            "File to inspect",
            &files.join(name).display().to_string(),
        );
        click(h, "Open");
        settle(h);
    };
    // Fabrikam's server certificate alone, its root not trusted: the path is only it, with its
    // status on the node.
    open(&mut h, "fabrikam-smtp.cer");
    click(&mut h, "Certification path");
    // (It expired, too: the node says that first.)
    assert!(h.query_all_by_label("⚠ Expired").next().is_some());
    assert!(h.query_all_by_label("✔ Trusted root").next().is_none());
    // Fabrikam's root: not trusted yet.
    open(&mut h, "fabrikam-root.cer");
    assert!(h.query_all_by_label("✖ Untrusted root").next().is_some());
    let root_tp = match &h.state().views.inspector.shown {
        Some(crate::ui::pages::inspector::Shown::File(f)) => {
            f.report.certificates[0].info.thumbprint.clone()
        }
        _ => panic!("the root is shown"),
    };
    assert!(!h.state().data.roots.iter().any(|r| r.thumbprint == root_tp));
    click(&mut h, "🛡 Trust this root");
    settle(&mut h);
    assert!(h.state().data.roots.iter().any(|r| r.thumbprint == root_tp));
    set_text(&mut h, "Partner domain(s)", "fabrikam.test");
    click(&mut h, "⚓ Anchor for partner domain");
    settle(&mut h);
    let anchors = &h.state().data.settings.partner_anchors;
    assert!(
        anchors.iter().any(|a| a.domain == "fabrikam.test"
            && a.anchors
                .contains(&crate::config::Pin::Thumbprint(root_tp.clone()))),
        "{anchors:?}"
    );
    // Fabrikam's server certificate: now its path leads to a trusted root; pinned for its
    // domain, by key.
    open(&mut h, "fabrikam-smtp.cer");
    assert!(h.query_all_by_label("✔ Trusted root").next().is_some());
    assert!(h.query_all_by_label("⚠ Expired").next().is_some());
    click(
        &mut h,
        "Pin the public key instead of the certificate (survives renewal with the same key)",
    );
    set_text(&mut h, "Name", "Fabrikam SMTP");
    click(&mut h, "📌 Pin for a partner");
    settle(&mut h);
    let pins = &h.state().data.settings.partner_pins;
    assert!(
        pins.iter().any(|p| p.name == "Fabrikam SMTP"
            && p.domains == vec!["fabrikam.test".to_string()]
            && matches!(p.pin, crate::config::Pin::PublicKeySha256(_))),
        "{pins:?}"
    );
    // Our second relay's certificate: Direct Trust.
    open(&mut h, "relay2-issued.cer");
    set_text(&mut h, "Name", "relay2");
    click(&mut h, "🔗 Pin for Direct Trust");
    settle(&mut h);
    assert!(
        h.state()
            .data
            .settings
            .direct_trust
            .iter()
            .any(|e| e.name == "relay2")
    );
}

/// Two certificates side by side: the changed fields are marked and say what they mean.
#[test]
fn the_inspector_compares_two_certificates() {
    let (tmp, ws) = fixture();
    let files = tmp.path().join("files");
    let mut app = console(ws);
    app.page = Page::CertificateInspector;
    let mut h = harness(app);
    settle(&mut h);
    set_text(
        &mut h,
        "File to inspect",
        &files.join("woodgrove-mail.cer").display().to_string(),
    );
    click(&mut h, "Open");
    settle(&mut h);
    set_text(
        &mut h,
        "Compare with",
        &files.join("fabrikam-smtp.cer").display().to_string(),
    );
    click(&mut h, "Compare");
    settle(&mut h);
    assert!(
        h.query_all_by_label_contains("fields changed")
            .next()
            .is_some()
    );
    assert!(
        h.query_all_by_label_contains("another CA issued it")
            .next()
            .is_some()
    );
    assert!(
        h.query_all_by_label_contains("no longer names mail.woodgrove.test")
            .next()
            .is_some()
    );
    assert!(
        h.query_all_by_label_contains(
            "a public-key pin (Direct Trust or partner pin) must be replaced"
        )
        .next()
        .is_some()
    );
}
