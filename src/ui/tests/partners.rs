//! The partners page: the report of every partner read on the query worker, the trust and
//! certificate cells from the certificate watch, a red cell's "Fix…" applied through the same
//! settings change as the connector pages, and a partner's own page.

use super::*;
use crate::ui::widgets::nav::Page;

/// The sample organization's console (changed by `change`) open on the Partners page, its
/// report read.
fn partners_page(
    name: &str,
    change: impl FnOnce(&mut crate::config::Settings),
) -> (std::path::PathBuf, Harness<'static, ConsoleApp>) {
    let (root, mut ws) = sample::shots(name);
    ws.change_settings(|s| {
        change(s);
        Ok(())
    })
    .expect("settings");
    let mut app = console(ws);
    attach_fake(&mut app, sample::snapshot());
    let mut h = harness(app);
    settle(&mut h);
    h.state_mut().page = Page::Partners;
    h.step();
    settle(&mut h);
    (root, h)
}

#[test]
fn a_red_cell_is_fixed_from_the_partners_page() {
    let (_root, mut h) = partners_page("partners-fix", |s| {
        for c in &mut s.send_connectors {
            c.domain_secure_enabled = false;
        }
    });
    // The certificate Woodgrove presented, judged against today's roots.
    assert!(has_text(&h, "Woodgrove Root CA"), "trust cell");
    assert!(has_text(&h, "mail.woodgrove.test from Woodgrove Root CA"));
    assert!(has_text(
        &h,
        "Domain Security off, so mail to the partner waits"
    ));
    click(&mut h, "Fix Send connector of woodgrove.test");
    assert!(has_text(&h, "Turn on Domain Security on send connector"));
    click(&mut h, "Apply");
    settle(&mut h);
    // Saved, and the report read again.
    settle(&mut h);
    assert!(
        h.state()
            .workspace
            .settings
            .send_connectors
            .iter()
            .any(|c| c.domain_secure_enabled)
    );
    assert!(
        has_text(&h, ": Domain Security on"),
        "the cell turned green"
    );
    // The partner's own page: every cell, the certificates it presented, its mail per day.
    click(&mut h, "woodgrove.test");
    assert_eq!(
        h.state().views.partners.open.as_deref(),
        Some("woodgrove.test")
    );
    assert!(has_text(&h, "Certificates it presented"));
    assert!(has_text(&h, "Receiving from us"));
    assert!(has_text(&h, "198.51.100.25"));
    click(&mut h, "⬅ All partners");
    assert_eq!(h.state().views.partners.open, None);
    click(&mut h, "woodgrove.test");
    // From the partner's page to the simulator: a message from Woodgrove without a client
    // certificate is refused at MAIL FROM, as the relay refuses it.
    click(&mut h, "❓ What if they send to us…");
    assert_eq!(h.state().page, Page::WhatIf);
    assert_eq!(h.state().views.what_if.from, "postmaster@woodgrove.test");
    click(&mut h, "Explain");
    settle(&mut h);
    assert!(
        has_text(
            &h,
            "Refused: MAIL FROM is answered 530 5.7.1 Not authenticated"
        ),
        "{:?}",
        h.state().views.what_if.answer
    );
    assert!(has_text(&h, "Client certificate presented"));
    // With Woodgrove's certificate as the client certificate: accepted as Domain Secure.
    set_text(
        &mut h,
        "Client certificate (optional)",
        &root_file(&_root, "woodgrove-mail.cer"),
    );
    click(&mut h, "Explain");
    settle(&mut h);
    assert!(
        has_text(&h, "accepted (Domain Secure)"),
        "{:?}",
        h.state().views.what_if.answer
    );
    assert!(has_text(&h, "X-Mailflow-AuthAs: Partner"));
    // Mail from us: only the delivery, Domain Secure through the partner's connector, its
    // certificate as last seen judged under that requirement.
    h.state_mut().views.what_if.from_client = false;
    h.state_mut().views.what_if.from = "alice@contoso.test".into();
    h.state_mut().views.what_if.to = "bob@woodgrove.test".into();
    click(&mut h, "Explain");
    settle(&mut h);
    let answer = h.state().views.what_if.answer.clone();
    let Some(Ok(x)) = answer else {
        panic!("{answer:?}")
    };
    assert!(x.receiving.is_none());
    let d = x.delivering.expect("delivering");
    assert!(
        matches!(&d.result, Ok(t) if t.contains("(Domain Secure)")),
        "{d:?}"
    );
    assert!(
        d.steps
            .iter()
            .any(|s| s.check.contains("as last seen") && s.detail.contains("Verified")),
        "{d:?}"
    );
    // A client address that is none is said so, and nothing is guessed.
    h.state_mut().views.what_if.from_client = true;
    h.step();
    set_text(&mut h, "Client address (optional)", "mail.woodgrove.test");
    click(&mut h, "Explain");
    settle(&mut h);
    assert!(
        has_text(&h, "'mail.woodgrove.test' is not an IP address"),
        "{:?}",
        h.state().views.what_if.answer
    );
}

fn root_file(root: &std::path::Path, name: &str) -> String {
    root.join("files").join(name).display().to_string()
}

/// The evidence report is saved from the partners page (on the query worker): the partner's
/// own from its page, as HTML; and an existing file is never replaced.
#[test]
fn an_evidence_report_is_saved_from_a_partners_page() {
    let (root, mut h) = partners_page("partners-evidence", |_| {});
    click(&mut h, "woodgrove.test");
    let file = root.join("woodgrove-evidence.html");
    set_text(&mut h, "Save to", &file.display().to_string());
    click(&mut h, "Save report");
    settle(&mut h);
    let page = std::fs::read_to_string(&file).expect("the report was written");
    assert!(page.contains("Mail security evidence — Contoso, partner woodgrove.test"));
    assert!(page.contains("<svg"));
    assert!(has_text(&h, "The evidence report saved to"));
    // Again: the file is there, so nothing is replaced and the page says why.
    std::fs::write(&file, "kept").expect("write");
    click(&mut h, "Save report");
    settle(&mut h);
    assert_eq!(std::fs::read_to_string(&file).expect("read"), "kept");
}
