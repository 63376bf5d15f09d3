//! The wizards and the Domain Security switch driven end to end by their labels, as an
//! administrator would: the request file exists and openssl accepts it; an imported
//! certificate is listed as Valid and enabled for SMTP; a PKCS#12 file asks for its password;
//! the Domain Security wizard leaves the lists, the pin and the connector flags in the
//! settings; the connector switch asks first; validation problems appear at their field.

use super::*;
use crate::pki::builder;
use crate::pki::inspect::CertStatus;
use crate::pki::keys::KeySpec;
use crate::pki::subject::Subject;
use crate::ui::widgets::nav::Page;
use crate::ui::wizards::Wizard;
use egui::accesskit::Toggled;
use egui_kittest::kittest::{NodeT, Queryable};
use std::process::Command;

/// Finds a peer tool; missing: a loud note locally, a failure in CI.
fn openssl() -> Option<std::path::PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("openssl"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        let msg =
            "PEER TOOL MISSING: `openssl` is not installed; the check that needs it did NOT run";
        if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
            panic!("{msg}");
        }
        eprintln!("\n*** {msg} ***\n");
    }
    found
}

#[test]
fn request_wizard_writes_a_request_openssl_accepts() {
    let (tmp, ws) = fresh_org();
    let mut app = console(ws);
    app.page = Page::Certificates;
    let mut h = harness(app);
    settle(&mut h);
    click(&mut h, "➕ New request…");
    assert!(has_text(&h, "creates a key pair and a certificate request"));
    click(&mut h, "Next >");
    // Subject: CN is there; add O, and a country that is too long first.
    click(&mut h, "Add part");
    set_text(&mut h, "Organization (O)", "Contoso");
    assert!(
        has_text(&h, "O=Contoso, CN=mail.contoso.test"),
        "live preview"
    );
    if let Some(Wizard::Request(r)) = h.state_mut().wizard.as_mut() {
        r.add_kind = crate::pki::subject::RdnKind::C;
    }
    h.step();
    click(&mut h, "Add part");
    set_text(&mut h, "Country/Region (C)", "USA");
    assert!(has_text(&h, "two-letter"), "Table 1 limit shown at the row");
    assert!(
        h.get_by_label("Next >").accesskit_node().is_disabled(),
        "Next is disabled while the subject is invalid"
    );
    set_text(&mut h, "Country/Region (C)", "US");
    assert!(has_text(&h, "C=US, O=Contoso, CN=mail.contoso.test"));
    click(&mut h, "Next >");
    // Domains: the organization's domain is there; removing it warns.
    let remove = h.get_all_by_label("✖").nth(1).expect("remove contoso.test");
    remove.click();
    h.step();
    h.step();
    assert!(
        has_text(&h, "is not in the list"),
        "warning for the missing domain"
    );
    click(&mut h, "Add contoso.test");
    assert!(!has_text(&h, "is not in the list"));
    click(&mut h, "Next >");
    click(&mut h, "ECDSA P-256");
    click(&mut h, "Next >");
    assert!(has_text(
        &h,
        "mailflow cert request --subject 'C=US, O=Contoso, CN=mail.contoso.test' --domain mail.contoso.test --domain contoso.test --key p256"
    ));
    click(&mut h, "Generate request");
    step_until(
        &mut h,
        "the request",
        Duration::from_secs(60),
        |a| matches!(&a.wizard, Some(Wizard::Request(r)) if r.created.is_some()),
    );
    assert!(has_text(&h, "The request is ready"));
    let out = tmp.path().join("request.req");
    set_text(&mut h, "File", &out.display().to_string());
    click(&mut h, "Save");
    settle(&mut h);
    assert!(has_text(&h, "Saved to"), "saved");
    assert!(out.exists());
    click(&mut h, "📋 Copy to clipboard");
    let copied = h.output().platform_output.commands.iter().any(|c| {
        matches!(c, egui::OutputCommand::CopyText(t) if t.starts_with("-----BEGIN CERTIFICATE REQUEST-----"))
    }) || has_text(&h, "Copied to the clipboard");
    assert!(copied, "PEM copied");
    if let Some(openssl) = openssl() {
        let o = Command::new(openssl)
            .args(["req", "-in"])
            .arg(&out)
            .args(["-noout", "-verify", "-subject"])
            .output()
            .expect("openssl runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(o.status.success(), "openssl: {text}");
        assert!(
            text.contains("verify OK")
                || text.contains("Certificate request self-signature verify OK"),
            "{text}"
        );
        assert!(text.contains("mail.contoso.test"), "{text}");
    }
    click(&mut h, "Finish");
    assert!(h.state().wizard.is_none());
    assert_eq!(h.state().page, Page::Certificates);
    assert_eq!(h.state().data.requests.len(), 1, "listed as pending");
    assert!(has_text(&h, "Pending request"));
}

/// With a lab CA, the request wizard finishes by issuing the request and installing it: no
/// file, no other tool.
#[test]
fn request_wizard_can_finish_with_the_lab_ca() {
    let (_tmp, mut ws) = fresh_org();
    ws.ca_init("Contoso Lab CA", crate::pki::keys::KeySpec::P256, 5, NOW)
        .expect("lab CA");
    let before = ws.store.certificates().len();
    let mut app = console(ws);
    app.page = Page::Certificates;
    let mut h = harness(app);
    settle(&mut h);
    click(&mut h, "➕ New request…");
    click(&mut h, "Next >");
    click(&mut h, "Next >");
    click(&mut h, "Next >");
    // Each key type is named once: its help says something else.
    for k in ["ECDSA P-256", "ECDSA P-384"] {
        assert_eq!(h.query_all_by_label_contains(k).count(), 1, "{k}");
    }
    click(&mut h, "ECDSA P-256");
    click(&mut h, "Next >");
    click(&mut h, "Generate request");
    step_until(
        &mut h,
        "the request",
        Duration::from_secs(60),
        |a| matches!(&a.wizard, Some(Wizard::Request(r)) if r.created.is_some()),
    );
    click(&mut h, "Issue with the lab CA and install");
    settle(&mut h);
    assert!(has_text(&h, "Issued and installed"), "said in the wizard");
    let data = &h.state().data;
    assert_eq!(data.certificates.len(), before + 1);
    assert!(data.requests.is_empty(), "the request completed");
    assert!(
        data.certificates
            .iter()
            .any(|c| c.issuer.contains("Contoso Lab CA") && c.smtp && c.has_private_key)
    );
}

/// A CA-issued certificate for a pending request, written to a file.
fn issued_for_pending(tmp: &Path, workspace: &mut Workspace) -> PathBuf {
    workspace
        .ca_init("Contoso Lab CA", KeySpec::P256, 5, NOW)
        .expect("ca");
    let subject = Subject::parse("O=Contoso, CN=mail.contoso.test").expect("subject");
    let r = workspace
        .new_request(
            &subject,
            &["mail.contoso.test".into(), "contoso.test".into()],
            KeySpec::P256,
            None,
            NOW,
        )
        .expect("request");
    let (cert, ca) = workspace
        .ca_issue(r.pem.as_bytes(), 365, NOW)
        .expect("issue");
    let path = tmp.join("certnew.cer");
    std::fs::write(
        &path,
        format!("{}{}", builder::to_pem(&cert), builder::to_pem(&ca)),
    )
    .expect("write");
    path
}

#[test]
fn import_wizard_lists_the_certificate_as_valid_and_enabled() {
    let (tmp, mut ws) = fresh_org();
    let file = issued_for_pending(tmp.path(), &mut ws);
    let mut app = console(ws);
    let fake = attach_fake(&mut app, Default::default());
    let mut h = harness(app);
    settle(&mut h);
    click(&mut h, "Import certificate…");
    // A file that does not exist: an error in plain words, nothing imported.
    set_text(&mut h, "Certificate file", "/nonexistent/certnew.cer");
    click(&mut h, "Next >");
    settle(&mut h);
    assert!(
        has_text(&h, "Cannot read /nonexistent/certnew.cer"),
        "plain error"
    );
    set_text(&mut h, "Certificate file", &file.display().to_string());
    click(&mut h, "Next >");
    settle(&mut h);
    assert!(
        has_text(&h, "Completes pending request"),
        "matches the request"
    );
    // Beside "completes pending request" the key is known: the request's.
    assert!(has_text(&h, "You have a private key for this certificate"));
    assert!(!has_text(&h, "Not known (not in this server's store)"));
    click(&mut h, "Next >");
    let enable = h.get_by_label("Enable this certificate for SMTP");
    assert_eq!(enable.accesskit_node().toggled(), Some(Toggled::True));
    click(&mut h, "Import");
    settle(&mut h);
    assert!(has_text(&h, "imported"), "done page");
    click(&mut h, "Finish");
    assert_eq!(h.state().page, Page::Certificates);
    let data = h.state().data.clone();
    let c = data
        .certificates
        .iter()
        .find(|c| c.issuer.contains("Contoso Lab CA"))
        .expect("imported certificate listed");
    assert_eq!(c.status, CertStatus::Valid);
    assert!(c.smtp, "enabled for SMTP");
    assert!(data.requests.is_empty(), "the request is complete");
    assert_eq!(data.smtp_identity.as_deref(), Some(c.thumbprint.as_str()));
    assert!(h.query_all_by_label("Valid").count() >= 2);
    assert!(
        !fake.applied.lock().expect("lock").is_empty(),
        "the relay got the new certificate"
    );
}

#[test]
fn import_wizard_asks_for_the_pkcs12_password() {
    let Some(openssl) = openssl() else { return };
    let (tmp, ws) = fresh_org();
    let dir = tmp.path();
    let run = |args: &[&str]| {
        let o = Command::new(&openssl)
            .current_dir(dir)
            .args(args)
            .output()
            .expect("openssl");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "k.pem",
        "-out",
        "c.pem",
        "-days",
        "30",
        "-subj",
        "/CN=gateway.contoso.test",
        "-addext",
        "subjectAltName=DNS:gateway.contoso.test",
        "-addext",
        "extendedKeyUsage=serverAuth,clientAuth",
    ]);
    run(&[
        "pkcs12",
        "-export",
        "-in",
        "c.pem",
        "-inkey",
        "k.pem",
        "-out",
        "g.pfx",
        "-passout",
        "pass:s3cret!",
    ]);
    let mut h = harness(console(ws));
    settle(&mut h);
    click(&mut h, "Import certificate…");
    set_text(
        &mut h,
        "Certificate file",
        &dir.join("g.pfx").display().to_string(),
    );
    click(&mut h, "Next >");
    settle(&mut h);
    assert!(has_text(&h, "protected by a password"), "asks for it");
    set_text(&mut h, "Password", "wrong");
    click(&mut h, "Next >");
    settle(&mut h);
    assert!(has_text(&h, "The password is wrong"));
    set_text(&mut h, "Password", "s3cret!");
    click(&mut h, "Next >");
    settle(&mut h);
    assert!(has_text(&h, "carries its own private key"));
    click(&mut h, "Next >");
    click(&mut h, "Import");
    settle(&mut h);
    let data = h.state().data.clone();
    let c = data
        .certificates
        .iter()
        .find(|c| c.subject.contains("gateway.contoso.test"))
        .expect("imported");
    assert!(c.has_private_key && c.smtp);
}

#[test]
fn domain_security_wizard_sets_lists_pin_and_connectors() {
    let (tmp, ws) = fixture();
    let mut app = console(ws);
    let fake = attach_fake(&mut app, Default::default());
    let mut h = harness(app);
    settle(&mut h);
    click(&mut h, "Set up Domain Security…");
    set_text(&mut h, "Partner domain", "not a domain!");
    assert!(h.get_by_label("Next >").accesskit_node().is_disabled());
    set_text(&mut h, "Partner domain", "Fabrikam.test");
    click(&mut h, "Next >");
    // The trusted roots include Woodgrove's (another partner's): nothing is preselected, so
    // its check cannot come up green for Fabrikam by default.
    assert!(
        matches!(h.state().wizard.as_ref(), Some(Wizard::DomainSecurity(w)) if w.existing.is_none())
    );
    assert!(h.get_by_label("Next >").accesskit_node().is_disabled());
    click(&mut h, "Import the partner's root CA from a file");
    let root = tmp.path().join("files/fabrikam-root.cer");
    set_text(&mut h, "Root CA file", &root.display().to_string());
    click(&mut h, "Read the file");
    settle(&mut h);
    assert!(has_text(&h, "Fabrikam Root CA"), "root read");
    click(
        &mut h,
        "Pin fabrikam.test to this root: no other CA may vouch for it",
    );
    click(&mut h, "Next >");
    assert!(has_text(
        &h,
        "Add fabrikam.test to the send domain secure list"
    ));
    click(&mut h, "Next >");
    // Outbound (*) covers fabrikam.test; "To Woodgrove" does not, but it has Domain Security
    // on already: the step shows the state as it is.
    let to_wg = h.get_by_label("Send connector To Woodgrove");
    assert_eq!(to_wg.accesskit_node().toggled(), Some(Toggled::True));
    assert!(has_text(&h, "Domain Security is on already"));
    let outbound = h.get_by_label("Send connector Outbound");
    assert_eq!(outbound.accesskit_node().toggled(), Some(Toggled::True));
    click(&mut h, "Next >");
    assert!(has_text(
        &h,
        "Our SMTP certificate has serverAuth and clientAuth"
    ));
    assert!(has_text(
        &h,
        "mailflow transport set --send-domain-secure woodgrove.test,fabrikam.test"
    ));
    click(&mut h, "Apply");
    settle(&mut h);
    assert!(has_text(&h, "Domain Security with fabrikam.test is set up"));
    let s = &h.state().data.settings;
    assert!(
        s.transport
            .tls_send_domain_secure_list
            .contains(&"fabrikam.test".to_string())
    );
    assert!(
        s.transport
            .tls_receive_domain_secure_list
            .contains(&"fabrikam.test".to_string())
    );
    assert!(
        s.send_connector("Outbound")
            .is_some_and(|c| c.domain_secure_enabled)
    );
    let default = s.receive_connector("Default").expect("Default");
    assert!(default.domain_secure_enabled);
    assert!(
        default
            .auth_mechanisms
            .contains(&crate::config::AuthMechanism::Tls)
    );
    assert!(
        s.partner_anchors
            .iter()
            .any(|p| p.domain == "fabrikam.test")
    );
    assert!(
        h.state()
            .data
            .roots
            .iter()
            .any(|r| r.subject.contains("Fabrikam Root CA"))
    );
    let applied = fake.applied.lock().expect("lock");
    let last = applied.last().expect("the relay got the settings");
    assert!(
        last.settings
            .transport
            .tls_send_domain_secure_list
            .contains(&"fabrikam.test".to_string())
    );
    // On disk, too.
    let on_disk = Workspace::open(&DataDir::new(tmp.path().join("org"))).expect("open");
    assert_eq!(on_disk.settings, h.state().data.settings);
}

#[test]
fn connector_switch_asks_then_applies_to_the_relay() {
    let (_tmp, ws) = fresh_org();
    let mut app = console(ws);
    let fake = attach_fake(&mut app, Default::default());
    app.page = Page::ReceiveConnectors;
    let mut h = harness(app);
    settle(&mut h);
    assert!(!h.state().data.settings.receive_connectors[0].domain_secure_enabled);
    click(&mut h, "Domain Security on Default");
    assert!(has_text(
        &h,
        "Turn on Domain Security on receive connector 'Default'?"
    ));
    click(&mut h, "Cancel");
    settle(&mut h);
    assert!(
        !h.state().data.settings.receive_connectors[0].domain_secure_enabled,
        "cancel changes nothing"
    );
    click(&mut h, "Domain Security on Default");
    click(&mut h, "Turn on");
    settle(&mut h);
    let c = &h.state().data.settings.receive_connectors[0];
    assert!(c.domain_secure_enabled);
    assert!(
        c.auth_mechanisms
            .contains(&crate::config::AuthMechanism::Tls)
    );
    assert!(has_text(
        &h,
        "it applies from the next MAIL FROM or message"
    ));
    assert!(
        fake.applied
            .lock()
            .expect("lock")
            .last()
            .is_some_and(|w| w.settings.receive_connectors[0].domain_secure_enabled)
    );
    // The send connector, from its TLS property page.
    h.state_mut().page = Page::SendConnectors;
    h.state_mut().views.send.selected = Some(0);
    h.state_mut().views.send.tab = crate::ui::pages::send_connectors::Tab::Tls;
    h.step();
    h.step();
    let boxes: Vec<_> = h.get_all_by_label("Domain Security on Outbound").collect();
    assert_eq!(boxes.len(), 2, "in the list and on the TLS page");
    // On the property page the box is a field like the others: it waits for Save, and Save
    // asks before switching Domain Security.
    boxes[1].click();
    h.step();
    h.step();
    assert!(!has_text(
        &h,
        "Turn on Domain Security on send connector 'Outbound'?"
    ));
    assert!(!h.state().data.settings.send_connectors[0].domain_secure_enabled);
    click(&mut h, "Save");
    assert!(has_text(
        &h,
        "Turn on Domain Security on send connector 'Outbound'?"
    ));
    click(&mut h, "Cancel");
    settle(&mut h);
    assert!(
        !h.state().data.settings.send_connectors[0].domain_secure_enabled,
        "cancel saves nothing"
    );
    click(&mut h, "Save");
    click(&mut h, "Turn on");
    settle(&mut h);
    assert!(h.state().data.settings.send_connectors[0].domain_secure_enabled);
}

#[test]
fn validation_problems_appear_at_the_field_and_nothing_is_saved() {
    let (tmp, ws) = fresh_org();
    let before = std::fs::read(tmp.path().join("org/settings.ron")).expect("settings");
    let mut app = console(ws);
    app.page = Page::TransportSettings;
    let mut h = harness(app);
    settle(&mut h);
    set_text(&mut h, "New send domain", "*.woodgrove.test");
    click(&mut h, "Add send domain");
    set_text(&mut h, "Delay notice after", "soon");
    click(&mut h, "Save");
    assert!(has_text(&h, "soon"), "parse error at the field");
    set_text(&mut h, "Delay notice after", "4h");
    click(&mut h, "Save");
    settle(&mut h);
    assert!(
        has_text(&h, "wildcards are not allowed"),
        "problem at the list entry"
    );
    assert!(has_text(&h, "Nothing was saved"));
    assert_eq!(
        std::fs::read(tmp.path().join("org/settings.ron")).expect("settings"),
        before
    );
    // A receive connector banner must start with 220.
    h.state_mut().page = Page::ReceiveConnectors;
    h.state_mut().views.receive.selected = Some(0);
    h.step();
    h.step();
    set_text(&mut h, "Banner", "Welcome");
    click(&mut h, "Save");
    settle(&mut h);
    let p = h.state().feedback.problems_at(
        crate::ui::app::actions::Form::ReceiveConnectors,
        "receive_connectors[0].banner",
    );
    assert!(!p.is_empty(), "banner problem kept with its path");
    assert!(has_text(&h, &p[0]), "shown at the Banner field: {p:?}");
}

/// The request wizard splits a pasted whole subject into its parts (the article's subject with
/// two DCs), and says why when it cannot, keeping the parts as they were.
#[test]
fn request_wizard_splits_a_pasted_subject() {
    let (_tmp, ws) = fresh_org();
    let mut app = console(ws);
    app.page = Page::Certificates;
    let mut h = harness(app);
    settle(&mut h);
    click(&mut h, "➕ New request…");
    click(&mut h, "Next >");
    set_text(&mut h, "Or paste a whole subject", "C=USA, CN=x");
    click(&mut h, "Split into parts");
    let rows = |h: &Harness<'static, ConsoleApp>| match h.state().wizard.as_ref() {
        Some(Wizard::Request(r)) => r.rows.clone(),
        _ => panic!("the request wizard"),
    };
    assert_eq!(rows(&h).len(), 1, "unchanged after a bad paste");
    assert!(has_text(&h, "two"), "the reason is shown");
    set_text(
        &mut h,
        "Or paste a whole subject",
        "DC=msft,dc=nwtraders,CN=W2K3",
    );
    click(&mut h, "Split into parts");
    let r = rows(&h);
    assert_eq!(
        r.iter().map(|x| x.value.as_str()).collect::<Vec<_>>(),
        vec!["msft", "nwtraders", "W2K3"]
    );
    assert!(has_text(&h, "DC=msft, DC=nwtraders, CN=W2K3"), "preview");
}
