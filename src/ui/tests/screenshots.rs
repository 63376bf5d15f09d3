//! Rendered snapshots of every main screen and wizard page, committed as `screenshots/*.png`
//! and shown in the README. The data is the committed fixture organization at a fixed path,
//! with a fixed clock and a scripted relay, so every run renders the same pixels; the
//! comparison tolerates the tiny differences between GPU drivers.
//! `UPDATE_SNAPSHOTS=force cargo test --lib ui::tests::screenshots` rewrites them.

use super::sample;
use super::*;
use crate::ui::app::actions::{FileTarget, Form, WizardStart};
use crate::ui::app::feedback::Feedback;
use crate::ui::app::jobs::{Failure, RequestCreated};
use crate::ui::pages::connector_common::Toggle;
use crate::ui::pages::inspector::Tab as InspectorTab;
use crate::ui::pages::receive_connectors::Tab as ReceiveTab;
use crate::ui::pages::send_connectors::Tab as SendTab;
use crate::ui::state::live::NextSnapshot;
use crate::ui::widgets::nav::Page;
use crate::ui::wizards::Wizard;
use egui_kittest::SnapshotOptions;
use egui_kittest::kittest::Queryable;
use std::sync::Arc;

fn options() -> SnapshotOptions {
    SnapshotOptions::new()
        .output_path(Path::new(env!("CARGO_MANIFEST_DIR")).join("screenshots"))
        .threshold(1.0)
        .max_failed_pixels(400)
}

/// Renders the page at rest as `screenshots/NAME.png` (`dark-NAME.png` in the dark theme).
fn shoot(h: &mut Harness<'static, ConsoleApp>, name: &str) {
    let name = if crate::ui::widgets::theme::is_dark() {
        format!("dark-{name}")
    } else {
        name.to_string()
    };
    let name = name.as_str();
    settle(h);
    h.remove_cursor();
    // Let every animation end (a click scrolls its widget into view, and how far that scroll
    // had got depended on how long the worker took): the picture is the page at rest.
    for _ in 0..60 {
        h.step();
    }
    h.snapshot_options(name, &options());
}

fn app_with_relay(name: &str) -> (PathBuf, ConsoleApp, Arc<FakeRelay>) {
    let (root, ws) = sample::shots(name);
    let mut app = console(ws);
    let fake = attach_fake(&mut app, sample::snapshot());
    *fake.messages.lock().expect("lock") = sample::queue_messages();
    *fake.quarantine.lock().expect("lock") = sample::quarantine();
    (root, app, fake)
}

fn page(h: &mut Harness<'static, ConsoleApp>, p: Page) {
    h.state_mut().page = p;
    h.step();
    settle(h);
}

#[test]
fn main_screens() {
    let (root, app, fake) = app_with_relay("main");
    let mut h = harness(app);
    settle(&mut h);

    page(&mut h, Page::Partners);
    shoot(&mut h, "console-partners");
    h.state_mut().views.partners.open = Some("woodgrove.test".into());
    shoot(&mut h, "console-partner");
    h.state_mut().views.partners.open = None;

    // What if Woodgrove sends with its certificate: each step of the relay's decision.
    {
        let v = &mut h.state_mut().views.what_if;
        v.from = "ana@woodgrove.test".into();
        v.to = "bob@contoso.test".into();
        v.certificate = root.join("files/woodgrove-mail.cer").display().to_string();
    }
    page(&mut h, Page::WhatIf);
    let spec = h.state().views.what_if.spec();
    act(&mut h, Action::Explain(Box::new(spec)));
    assert!(
        has_text(&h, "accepted (Domain Secure)"),
        "{:?}",
        h.state().views.what_if.answer
    );
    shoot(&mut h, "console-what-if");

    page(&mut h, Page::TransportSettings);
    shoot(&mut h, "console-transport-settings");

    h.state_mut().views.send.selected = Some(0);
    h.state_mut().views.send.tab = SendTab::Tls;
    page(&mut h, Page::SendConnectors);
    shoot(&mut h, "console-send-connectors");

    page(&mut h, Page::AcceptedDomains);
    shoot(&mut h, "console-accepted-domains");

    h.state_mut().views.receive.selected = Some(0);
    h.state_mut().views.receive.tab = ReceiveTab::Authentication;
    page(&mut h, Page::ReceiveConnectors);
    shoot(&mut h, "console-receive-connectors");

    h.state_mut().views.receive.toggle = Some(Toggle {
        kind: crate::config::ConnectorType::Receive,
        name: "Default".into(),
        enable: false,
        save: None,
    });
    shoot(&mut h, "console-domain-security-switch");
    h.state_mut().views.receive.toggle = None;

    let tp = h.state().data.smtp_identity.clone();
    h.state_mut().views.certificates.selected = tp;
    page(&mut h, Page::Certificates);
    shoot(&mut h, "console-certificates");

    page(&mut h, Page::TrustedRoots);
    shoot(&mut h, "console-trusted-roots");

    page(&mut h, Page::DirectTrust);
    shoot(&mut h, "console-direct-trust");

    page(&mut h, Page::MessageTracking);
    let first = {
        let v = &h.state().views.tracking;
        let set = v.set.clone().expect("tracking results");
        let order = v.order.clone().expect("order");
        set.rows[order[2] as usize].internal_id.clone()
    };
    h.state_mut().views.tracking.selected = Some(first.clone());
    act(&mut h, Action::TrackHistory(first));
    shoot(&mut h, "console-message-tracking");
    // At the default size every column fits beside the details: the Security header ends
    // before the details panel begins (it was cut off once).
    {
        // The table's header, below the search form's own "Security" field.
        let security = h
            .query_all_by_label("Security")
            .map(|n| n.rect())
            .max_by(|a, b| a.min.y.total_cmp(&b.min.y))
            .expect("the Security header");
        let details = h.get_by_label("Policy (in » out)").rect();
        assert!(
            security.max.x < details.min.x,
            "the Security column ({security:?}) runs under the details ({details:?})"
        );
        // The badge is an early column: right after the time.
        let sender = h
            .query_all_by_label("Sender")
            .map(|n| n.rect())
            .max_by(|a, b| a.min.y.total_cmp(&b.min.y))
            .expect("the Sender header");
        assert!(security.max.x < sender.min.x, "Security before Sender");
        // The details panel is resizable: dragging the gap to its left widens it.
        let card = h.get_by_label("Hops").rect();
        let drag = |h: &mut Harness<'static, ConsoleApp>, x: f32, dx: f32| {
            let y = card.center().y;
            h.event(egui::Event::PointerMoved(egui::pos2(x, y)));
            h.step();
            h.event(egui::Event::PointerButton {
                pos: egui::pos2(x, y),
                button: egui::PointerButton::Primary,
                pressed: true,
                modifiers: Default::default(),
            });
            h.step();
            for i in 1..=10 {
                h.event(egui::Event::PointerMoved(egui::pos2(
                    x + dx * i as f32 / 10.0,
                    y,
                )));
                h.step();
            }
            h.event(egui::Event::PointerButton {
                pos: egui::pos2(x + dx, y),
                button: egui::PointerButton::Primary,
                pressed: false,
                modifiers: Default::default(),
            });
            h.step();
            h.step();
        };
        drag(&mut h, card.min.x - 20.0, -100.0);
        let wider = h.get_by_label("Hops").rect();
        assert!(
            wider.min.x < card.min.x - 60.0,
            "the details panel did not widen: {card:?} then {wider:?}"
        );
        // And back, for the pictures that follow.
        drag(&mut h, wider.min.x - 20.0, 100.0);
        let back = h.get_by_label("Hops").rect();
        assert!((back.min.x - card.min.x).abs() < 20.0, "{card:?} {back:?}");
    }

    // The refusals alone, one selected: why it was refused and what would change it.
    h.state_mut().views.tracking.security = crate::ui::pages::tracking::SecurityFilter::Refused;
    let q = h
        .state()
        .views
        .tracking
        .query(crate::ui::state::clock::Clock::System.now_ms());
    act(&mut h, Action::TrackSearch(Box::new(q)));
    settle(&mut h);
    let refused = "00000000000004D2-R1".to_string();
    h.state_mut().views.tracking.selected = Some(refused.clone());
    act(&mut h, Action::TrackHistory(refused));
    shoot(&mut h, "console-tracking-refused");
    // Its session's lines in the protocol log, opened from the refusal.
    click(&mut h, "📃 Protocol log of this session");
    settle(&mut h);
    assert_eq!(h.state().page, Page::ProtocolLogs);
    shoot(&mut h, "console-protocol-log");
    h.state_mut().page = Page::MessageTracking;
    h.state_mut().views.tracking.security = crate::ui::pages::tracking::SecurityFilter::Any;

    h.state_mut().views.queues.selected_queue = Some("adatum.test via Outbound".into());
    page(&mut h, Page::QueueViewer);
    settle(&mut h);
    h.state_mut().views.queues.selected_message =
        Some("0b3e5d7a-1111-4000-8000-000000000000".into());
    shoot(&mut h, "console-queue-viewer");
    assert!(h.query_all_by_label("4 messages queued").next().is_some());
    // From a queued message to its events in tracking.
    click(&mut h, "🔍 Track this message");
    settle(&mut h);
    assert_eq!(h.state().page, Page::MessageTracking);
    assert_eq!(
        h.state().views.tracking.internal_id,
        "0b3e5d7a-1111-4000-8000-000000000000"
    );
    assert_eq!(
        h.state().views.tracking.selected.as_deref(),
        Some("0b3e5d7a-1111-4000-8000-000000000000")
    );
    h.state_mut().views.tracking = Default::default();

    h.state_mut().views.monitor.selected = Some(101);
    page(&mut h, Page::LiveMonitor);
    shoot(&mut h, "console-live-monitor");
    // The sessions of the last hour, the refused partner's selected.
    h.state_mut().views.monitor.shown = crate::ui::state::sessions::Shown::Closed;
    h.state_mut().views.monitor.selected = Some(1234);
    h.step();
    shoot(&mut h, "console-live-monitor-closed");
    h.state_mut().views.monitor.shown = crate::ui::state::sessions::Shown::Active;

    page(&mut h, Page::CertificateInspector);
    let file = root.join("files/woodgrove-mail.cer");
    h.state_mut().views.inspector.path = file.display().to_string();
    act(
        &mut h,
        Action::LoadFile {
            target: FileTarget::Inspector,
            path: file,
            password: None,
        },
    );
    shoot(&mut h, "console-certificate-inspector");
    h.state_mut().views.inspector.tab = InspectorTab::Details;
    shoot(&mut h, "console-certificate-inspector-details");
    h.state_mut().views.inspector.tab = InspectorTab::Path;
    shoot(&mut h, "console-certificate-inspector-path");
    // Side by side with another certificate, scrolled to the comparison.
    let other = root.join("files/fabrikam-smtp.cer");
    h.state_mut().views.inspector.compare_path = other.display().to_string();
    act(
        &mut h,
        Action::LoadFile {
            target: FileTarget::InspectorCompare,
            path: other,
            password: None,
        },
    );
    h.get_by_label("Compare with another certificate")
        .scroll_to_me();
    for _ in 0..12 {
        h.step();
    }
    shoot(&mut h, "console-certificate-compare");
    let file = root.join("files/fabrikam-smtp.cer");
    h.state_mut().views.inspector.path = file.display().to_string();
    h.state_mut().views.inspector.tab = InspectorTab::General;
    act(
        &mut h,
        Action::LoadFile {
            target: FileTarget::Inspector,
            path: file,
            password: None,
        },
    );
    shoot(&mut h, "console-certificate-inspector-findings");

    h.state_mut().views.probe.domain = "woodgrove.test".into();
    h.state_mut().views.probe.host = "mail.woodgrove.test:25".into();
    page(&mut h, Page::ConnectivityProbe);
    click(&mut h, "📡 Probe");
    settle(&mut h);
    shoot(&mut h, "console-connectivity-probe");

    {
        let v = &mut h.state_mut().views.test_message;
        v.to = "bob@woodgrove.test".into();
        v.result = Some(Ok(sample::test_message_report()));
    }
    page(&mut h, Page::TestMessage);
    shoot(&mut h, "console-test-message");

    // A problem the relay reports, in plain words where the administrator looks.
    {
        let mut s = fake.snapshot.lock().expect("lock");
        s.listeners[1].error =
            Some("cannot listen on 127.0.0.1:2526: Address already in use (os error 98)".into());
        s.problems =
            vec!["cannot listen on 127.0.0.1:2526: Address already in use (os error 98)".into()];
    }
    h.state_mut().live.refresh(&fake, NextSnapshot::Now);
    h.state_mut().views.receive.selected = Some(1);
    h.state_mut().views.receive.tab = ReceiveTab::Network;
    h.state_mut().views.receive.draft = None;
    page(&mut h, Page::ReceiveConnectors);
    shoot(&mut h, "console-relay-problem");
    // The status bar says a listener is down (not a green "running"), and each part opens
    // its page.
    assert!(
        h.query_all_by_label("⏺ Running, 1 listener down")
            .next()
            .is_some()
    );
    assert!(h.query_all_by_label("⏺ Relay running").next().is_none());
    click(&mut h, "Queue: 4 messages");
    assert_eq!(h.state().page, Page::QueueViewer);
    click(&mut h, "⚠ 1 certificate expires within 30 days");
    assert_eq!(h.state().page, Page::Certificates);
    click(&mut h, "⏺ Running, 1 listener down");
    assert_eq!(h.state().page, Page::LiveMonitor);
}

fn wizard<R>(h: &mut Harness<'static, ConsoleApp>, f: impl FnOnce(&mut Wizard) -> R) -> R {
    f(h.state_mut().wizard.as_mut().expect("a wizard is open"))
}

#[test]
fn request_wizard_pages() {
    request_wizard_pages_in(egui::Theme::Light);
}

#[test]
fn request_wizard_pages_dark() {
    request_wizard_pages_in(egui::Theme::Dark);
}

fn request_wizard_pages_in(theme: egui::Theme) {
    let dir = match theme {
        egui::Theme::Light => "request",
        egui::Theme::Dark => "request-dark",
    };
    let (root, app, _fake) = app_with_relay(dir);
    let mut h = harness_in(app, theme);
    act(
        &mut h,
        Action::OpenWizard(WizardStart::Request {
            subject: None,
            domains: Vec::new(),
        }),
    );
    shoot(&mut h, "wizard-request-1-introduction");
    wizard(&mut h, |w| {
        if let Wizard::Request(w) = w {
            use crate::pki::subject::RdnKind;
            use crate::ui::wizards::request::RdnRow;
            w.step = 1;
            w.rows = vec![
                RdnRow {
                    kind: RdnKind::C,
                    value: "US".into(),
                },
                RdnRow {
                    kind: RdnKind::S,
                    value: "Washington".into(),
                },
                RdnRow {
                    kind: RdnKind::L,
                    value: "Redmond".into(),
                },
                RdnRow {
                    kind: RdnKind::O,
                    value: "Contoso".into(),
                },
                RdnRow {
                    kind: RdnKind::OU,
                    value: "Messaging".into(),
                },
                RdnRow {
                    kind: RdnKind::OU,
                    value: "Partner Gateway Services for the Western Region".into(),
                },
                RdnRow {
                    kind: RdnKind::CN,
                    value: "mail.contoso.test".into(),
                },
            ];
            w.rows[5].value.push_str(" and Domain Security");
            w.add_kind = crate::pki::subject::RdnKind::DC;
        }
    });
    shoot(&mut h, "wizard-request-2-subject");
    wizard(&mut h, |w| {
        if let Wizard::Request(w) = w {
            w.rows.remove(5);
            w.step = 2;
            w.domains = vec![
                "mail.contoso.test".into(),
                "autodiscover.contoso.test".into(),
            ];
        }
    });
    shoot(&mut h, "wizard-request-3-domains");
    wizard(&mut h, |w| {
        if let Wizard::Request(w) = w {
            w.domains.push("contoso.test".into());
            w.step = 3;
            w.friendly_name = "Contoso SMTP 2027".into();
        }
    });
    shoot(&mut h, "wizard-request-4-key");
    wizard(&mut h, |w| {
        if let Wizard::Request(w) = w {
            w.step = 4;
        }
    });
    shoot(&mut h, "wizard-request-5-review");
    let id = h.state().data.requests[0].id.clone();
    let pem = std::fs::read_to_string(root.join("files/relay2.req")).expect("request file");
    let save = root.join("mail.contoso.test.req").display().to_string();
    wizard(&mut h, |w| {
        if let Wizard::Request(w) = w {
            w.step = 5;
            w.created = Some(RequestCreated {
                id,
                subject:
                    "C=US, S=Washington, L=Redmond, O=Contoso, OU=Messaging, CN=mail.contoso.test"
                        .into(),
                domains: w.domains.clone(),
                der: Arc::new(Vec::new()),
                pem,
            });
            w.save_path = save.clone();
            w.saved_to = Some(save);
        }
    });
    shoot(&mut h, "wizard-request-6-completion");
}

#[test]
fn import_wizard_pages() {
    import_wizard_pages_in(egui::Theme::Light);
}

#[test]
fn import_wizard_pages_dark() {
    import_wizard_pages_in(egui::Theme::Dark);
}

fn import_wizard_pages_in(theme: egui::Theme) {
    let dir = match theme {
        egui::Theme::Light => "import",
        egui::Theme::Dark => "import-dark",
    };
    let (root, app, _fake) = app_with_relay(dir);
    let mut h = harness_in(app, theme);
    act(&mut h, Action::OpenWizard(WizardStart::Import));
    let file = root.join("files/relay2-issued.cer");
    wizard(&mut h, |w| {
        if let Wizard::Import(w) = w {
            w.path = file.display().to_string();
        }
    });
    shoot(&mut h, "wizard-import-1-file");
    wizard(&mut h, |w| {
        if let Wizard::Import(w) = w {
            w.step = 1;
        }
    });
    h.state_mut().feedback.set(
        Form::ImportWizard,
        Feedback::Error(Failure {
            text: "This PKCS#12 (.pfx/.p12) file is protected by a password: type it in the Password field.".into(),
            problems: None,
            needs_password: true,
        }),
    );
    shoot(&mut h, "wizard-import-2-password");
    h.state_mut().feedback.clear(Form::ImportWizard);
    wizard(&mut h, |w| {
        if let Wizard::Import(w) = w {
            w.step = 0;
        }
    });
    click(&mut h, "Next >");
    settle(&mut h);
    shoot(&mut h, "wizard-import-3-preview");
    click(&mut h, "Next >");
    shoot(&mut h, "wizard-import-4-options");
    click(&mut h, "Import");
    settle(&mut h);
    shoot(&mut h, "wizard-import-5-done");
}

#[test]
fn domain_security_wizard_pages() {
    domain_security_wizard_pages_in(egui::Theme::Light);
}

#[test]
fn domain_security_wizard_pages_dark() {
    domain_security_wizard_pages_in(egui::Theme::Dark);
}

fn domain_security_wizard_pages_in(theme: egui::Theme) {
    let dir = match theme {
        egui::Theme::Light => "domain-security",
        egui::Theme::Dark => "domain-security-dark",
    };
    let (root, app, _fake) = app_with_relay(dir);
    let mut h = harness_in(app, theme);
    act(
        &mut h,
        Action::OpenWizard(WizardStart::DomainSecurity {
            domain: String::new(),
        }),
    );
    wizard(&mut h, |w| {
        if let Wizard::DomainSecurity(w) = w {
            w.domain = "fabrikam.test".into();
        }
    });
    shoot(&mut h, "wizard-domain-security-1-partner");
    click(&mut h, "Next >");
    let file = root.join("files/fabrikam-root.cer");
    let a = wizard(&mut h, |w| match w {
        Wizard::DomainSecurity(w) => {
            w.pin = true;
            Some(w.choose_root(file))
        }
        _ => None,
    });
    if let Some(a) = a {
        act(&mut h, a);
    }
    shoot(&mut h, "wizard-domain-security-2-root");
    click(&mut h, "Next >");
    shoot(&mut h, "wizard-domain-security-3-lists");
    click(&mut h, "Next >");
    shoot(&mut h, "wizard-domain-security-4-connectors");
    click(&mut h, "Next >");
    shoot(&mut h, "wizard-domain-security-5-checks");
    click(&mut h, "Apply");
    settle(&mut h);
    shoot(&mut h, "wizard-domain-security-6-done");
}

/// Trusted roots › Revocation lists: a CRL added from a file (by its label and button) is
/// listed with its next-update date, marked when that date has passed.
#[test]
fn trusted_roots_add_a_revocation_list_and_see_it_is_out_of_date() {
    let (root, ws) = sample::shots("crl");
    let (ca_der, ca_key) = ws.store.lab_ca_material().unwrap().unwrap();
    let issuer = rcgen::Issuer::from_ca_cert_der(
        &rustls::pki_types::CertificateDer::from(ca_der.as_slice()),
        &ca_key,
    )
    .unwrap();
    let crl = rcgen::CertificateRevocationListParams {
        this_update: time::macros::datetime!(2026-11-01 08:00 UTC),
        next_update: time::macros::datetime!(2026-11-20 08:00 UTC),
        crl_number: rcgen::SerialNumber::from(7u64),
        issuing_distribution_point: None,
        revoked_certs: vec![rcgen::RevokedCertParams {
            serial_number: rcgen::SerialNumber::from(0x1234u64),
            revocation_time: time::macros::datetime!(2026-10-30 08:00 UTC),
            reason_code: Some(rcgen::RevocationReason::KeyCompromise),
            invalidity_date: None,
        }],
        key_identifier_method: rcgen::KeyIdMethod::Sha256,
    }
    .signed_by(&issuer)
    .unwrap();
    let file = root.join("files").join("contoso-lab.crl");
    std::fs::write(&file, crl.pem().unwrap()).unwrap();
    let mut h = harness(console(ws));
    settle(&mut h);
    page(&mut h, Page::TrustedRoots);
    h.get_by_label("No revocation list added.");
    h.state_mut().views.roots.crl_path = file.display().to_string();
    h.step();
    click(&mut h, "Add revocation list");
    settle(&mut h);
    let crls = h.state().data.crls.clone();
    assert_eq!(crls.len(), 1, "{crls:?}");
    assert!(crls[0].out_of_date && crls[0].info.revoked == 1, "{crls:?}");
    assert!(
        h.query_all_by_label_contains("out of date")
            .next()
            .is_some()
    );
    shoot(&mut h, "console-trusted-roots-revocation");
}

/// Transport settings › DNS (MX routing): a DNS server typed and added, the MX port changed,
/// both saved; a port that is not one is refused at its field and nothing is saved.
#[test]
fn transport_settings_save_the_dns_servers_and_mx_port() {
    let (_tmp, ws) = fixture();
    let dir = ws.dir.clone();
    let mut h = harness(console(ws));
    settle(&mut h);
    page(&mut h, Page::TransportSettings);
    set_text(&mut h, "MX port", "twenty-five");
    click(&mut h, "Save");
    settle(&mut h);
    assert!(has_text(&h, "'twenty-five' is not a port number"));
    let unchanged = crate::admin::Workspace::open(&dir).unwrap();
    assert_eq!(unchanged.settings.transport.mx_port, 25);
    set_text(&mut h, "MX port", "2525");
    set_text(&mut h, "New DNS server", "127.0.0.1:5353");
    click(&mut h, "Add DNS server");
    click(&mut h, "Save");
    settle(&mut h);
    let saved = crate::admin::Workspace::open(&dir).unwrap();
    assert_eq!(saved.settings.transport.mx_port, 2525);
    assert_eq!(saved.settings.transport.dns_servers, ["127.0.0.1:5353"]);
    // A trust anchor file that cannot be read is refused by the admin layer, nothing saved.
    click(&mut h, "A file of DNSKEY records (a private root, a lab)");
    set_text(&mut h, "Trust anchor file", "/nonexistent/root.key");
    click(&mut h, "Save");
    settle(&mut h);
    assert!(has_text(&h, "is not a DNSSEC trust anchor"));
    let unchanged = crate::admin::Workspace::open(&dir).unwrap();
    assert_eq!(
        unchanged.settings.transport.dnssec_trust_anchor,
        crate::config::DnssecTrustAnchor::IanaRoot
    );
    click(
        &mut h,
        "Off: every answer counts as insecure (only for DNS servers that strip DNSSEC)",
    );
    click(&mut h, "Save");
    settle(&mut h);
    let saved = crate::admin::Workspace::open(&dir).unwrap();
    assert_eq!(
        saved.settings.transport.dnssec_trust_anchor,
        crate::config::DnssecTrustAnchor::Off
    );
    shoot(&mut h, "console-transport-dns");
}

/// Send connector › Network (the fixture's "Outbound", routed by MX): "Route mail through"
/// smart hosts needs one (nothing saved
/// without); DNS (MX) clears them; the TLS page switches DANE and MTA-STS off and on.
#[test]
fn a_send_connector_routes_by_mx_or_smart_hosts_and_switches_dane_and_mta_sts() {
    let (_tmp, ws) = fixture();
    let dir = ws.dir.clone();
    let mut h = harness(console(ws));
    settle(&mut h);
    h.state_mut().views.send.selected = Some(1);
    h.state_mut().views.send.tab = SendTab::Network;
    page(&mut h, Page::SendConnectors);
    let saved = || {
        crate::admin::Workspace::open(&dir)
            .unwrap()
            .settings
            .send_connectors[1]
            .clone()
    };
    let before = saved();
    click(&mut h, "Smart hosts, in order");
    click(&mut h, "Save");
    settle(&mut h);
    assert!(has_text(
        &h,
        "add at least one smart host, or route mail through DNS (MX)"
    ));
    assert_eq!(saved(), before, "nothing saved");
    set_text(&mut h, "New smart host", "relay.contoso.test");
    click(&mut h, "Add smart host");
    click(&mut h, "Save");
    settle(&mut h);
    assert_eq!(saved().smart_hosts, ["relay.contoso.test"]);
    click(&mut h, "DNS (MX records)");
    h.state_mut().views.send.tab = SendTab::Tls;
    h.step();
    h.step();
    click(
        &mut h,
        "DANE: authenticate MX hosts by their DNSSEC-signed TLSA records (RFC 7672)",
    );
    click(&mut h, "Save");
    settle(&mut h);
    let after = saved();
    assert!(after.smart_hosts.is_empty(), "{:?}", after.smart_hosts);
    assert!(!after.dane_enabled && after.mta_sts_enabled);
    click(
        &mut h,
        "DANE: authenticate MX hosts by their DNSSEC-signed TLSA records (RFC 7672)",
    );
    click(&mut h, "Save");
    settle(&mut h);
    assert!(saved().dane_enabled);
    shoot(&mut h, "console-send-connector-tls");
    h.state_mut().views.send.tab = SendTab::Network;
    h.step();
    h.step();
    shoot(&mut h, "console-send-connector-routing");
}

/// Transport settings › MTA-STS: our policy is published from the page (a bad max age is
/// refused at its field, a bad listener by the settings' rules, nothing saved), and the TXT
/// record to publish is shown for the saved policy.
#[test]
fn transport_settings_publish_our_mta_sts_policy() {
    let (_tmp, ws) = fixture();
    let dir = ws.dir.clone();
    let mut h = harness(console(ws));
    settle(&mut h);
    page(&mut h, Page::TransportSettings);
    let saved = || {
        crate::admin::Workspace::open(&dir)
            .unwrap()
            .settings
            .transport
            .mta_sts_policy
    };
    click(&mut h, "Publish our MTA-STS policy");
    set_text(&mut h, "Policy listener", "everywhere");
    set_text(&mut h, "New MX host", "mail.contoso.test");
    click(&mut h, "Add MX host");
    set_text(&mut h, "Senders keep it for", "soon");
    click(&mut h, "Save");
    settle(&mut h);
    assert!(
        has_text(&h, "(for example 7d)"),
        "max age refused at its field"
    );
    assert_eq!(saved(), None);
    set_text(&mut h, "Senders keep it for", "1d");
    click(&mut h, "Save");
    settle(&mut h);
    assert!(has_text(&h, "'everywhere' is not an address to listen on"));
    assert_eq!(saved(), None, "nothing saved");
    set_text(&mut h, "Policy listener", "127.0.0.1:8443");
    click(&mut h, "Enforce");
    click(&mut h, "Save");
    settle(&mut h);
    let policy = saved().expect("published");
    assert_eq!(
        (policy.listen.as_str(), policy.mode, policy.mx.as_slice()),
        (
            "127.0.0.1:8443",
            crate::config::MtaStsMode::Enforce,
            &["mail.contoso.test".to_string()][..]
        )
    );
    assert!(has_text(&h, "_mta-sts.contoso.test. IN TXT \"v=STSv1; id="));
    // Where the clicks left the page scrolled depends on when the save finished: from the top,
    // bring the card's end into view, the same way every run.
    for label in ["New send domain", "Certificate revocation"] {
        h.get_by_label(label).scroll_to_me();
        for _ in 0..12 {
            h.step();
        }
    }
    shoot(&mut h, "console-transport-mta-sts");
}

/// Transport settings › Certificate revocation: strict mode is chosen by its label and saved.
#[test]
fn transport_settings_save_the_strict_revocation_mode() {
    let (_tmp, ws) = fixture();
    let dir = ws.dir.clone();
    let mut h = harness(console(ws));
    settle(&mut h);
    page(&mut h, Page::TransportSettings);
    click(
        &mut h,
        "Refuse it (strict: Domain Security mail waits until a current list is at hand)",
    );
    click(&mut h, "Save");
    settle(&mut h);
    let saved = crate::admin::Workspace::open(&dir).unwrap();
    assert_eq!(
        saved.settings.transport.unknown_revocation_status,
        crate::config::UnknownRevocationStatus::Refuse
    );
}

/// Toolbox › TLS reports with reports from two organizations and two days of our own.
#[test]
fn tls_reports_page() {
    let (_root, app, _fake) = app_with_relay("tls-reports");
    super::tls_reports::write_sample(&app.workspace.dir);
    let mut h = harness(app);
    settle(&mut h);
    page(&mut h, Page::TlsReports);
    shoot(&mut h, "console-tls-reports");
}

/// A prober that answers with the sample's findings, for the picture of the per-host table
/// (the real probe of every host is tested in `relay_pages`).
struct SampleProber;

impl crate::ui::state::probe::Prober for SampleProber {
    fn available(&self) -> bool {
        true
    }

    fn probe(
        &self,
        _: &crate::ui::state::probe::ProbeRequest,
        _: &crate::admin::Workspace,
    ) -> Result<Vec<crate::ui::state::probe::ProbeReport>, String> {
        Ok(sample::probe_reports())
    }
}

/// Toolbox › Connectivity probe without a host: every MX host of the domain, one row each.
#[test]
fn connectivity_probe_of_every_mx_host() {
    let (_root, ws) = sample::shots("probe-hosts");
    let mut app = ConsoleApp::new(
        ws,
        no_waker(),
        Clock::Fixed(NOW),
        Arc::new(SampleProber),
        None,
    );
    attach_fake(&mut app, sample::snapshot());
    let mut h = harness(app);
    settle(&mut h);
    h.state_mut().views.probe.domain = "woodgrove.test".into();
    page(&mut h, Page::ConnectivityProbe);
    click(&mut h, "📡 Probe");
    settle(&mut h);
    assert!(has_text(&h, "2 hosts, best first"));
    shoot(&mut h, "console-connectivity-probe-hosts");
}

/// Every page in the dark theme (the light ones are above), and the switch between themes
/// in the status bar.
#[test]
fn dark_theme() {
    let (_root, app, _fake) = app_with_relay("dark");
    let mut h = harness_in(app, egui::Theme::Dark);
    settle(&mut h);
    assert!(crate::ui::widgets::theme::is_dark());
    h.state_mut().views.test_message.to = "bob@woodgrove.test".into();
    h.state_mut().views.test_message.result = Some(Ok(sample::test_message_report()));
    h.state_mut().views.send.selected = Some(0);
    h.state_mut().views.send.tab = SendTab::Tls;
    h.state_mut().views.receive.selected = Some(0);
    h.state_mut().views.receive.tab = ReceiveTab::Authentication;
    h.state_mut().views.queues.selected_queue = Some("adatum.test via Outbound".into());
    h.state_mut().views.probe.domain = "woodgrove.test".into();
    for section in crate::ui::widgets::nav::SECTIONS {
        for &p in section.pages {
            page(&mut h, p);
            shoot(&mut h, p.slug());
        }
    }
    // The status bar's switch goes back to light.
    h.get_by_label("Light theme").click();
    h.step();
    h.step();
    assert!(!crate::ui::widgets::theme::is_dark());
    assert_eq!(h.ctx.theme(), egui::Theme::Light);
}
