//! The evidence report end to end: two organizations exchange Domain Secure mail both ways
//! and one client is refused; `mailflow report` writes the CSV (each hop's security, TLS and
//! certificate thumbprint, the refusal) and the self-contained HTML report, which Debian's
//! Chromium opens headless: its DOM holds the totals and the chart, and its screenshot is
//! kept in `target/evidence-report.png` to look at.

use crate::support::partners::pair;
use crate::support::relay_util::send_mail;
use crate::support::tls::mail_from;
use crate::support::util::peer;
use mailflow::store::tracking::EventKind;
use std::process::Command;

/// Chromium headless with the flags this closed network needs, on `args`.
fn chromium(bin: &std::path::Path, profile: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "chromium {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_evidence_report_as_csv_and_in_a_real_browser() {
    let (a, b) = pair();
    for (from, to, relay) in [
        ("alice@contoso.test", "bob@woodgrove.test", &a.relay),
        ("bob@woodgrove.test", "alice@contoso.test", &b.relay),
    ] {
        let r = send_mail(relay.addr(), from, &[to], "Subject: audited\n\nhello\n");
        assert!(r.starts_with("250 2.6.0"), "{r}");
    }
    // Someone sending as Woodgrove without TLS is refused.
    assert_eq!(
        mail_from(a.relay.addr(), None, "mallory@woodgrove.test", false),
        "530 5.7.1 Not authenticated"
    );
    a.relay.wait_kind(EventKind::Send, 1);
    a.relay.wait_kind(EventKind::Deliver, 1);
    a.relay.wait_kind(EventKind::Reject, 1);
    let dir = tempfile::tempdir().unwrap();
    let csv_file = dir.path().join("evidence.csv");
    let out = a.relay.org.ok(&[
        "report",
        "--since",
        "1h",
        "--out",
        csv_file.to_str().unwrap(),
    ]);
    assert!(out.contains("2 messages (2 Domain Secure"), "{out}");
    let text = std::fs::read_to_string(&csv_file).unwrap();
    let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    let sent = rows
        .iter()
        .find(|r| r[3] == "alice@contoso.test")
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(sent[2], "woodgrove.test");
    assert_eq!(sent[12], "Domain Secure");
    assert!(sent[13].starts_with("TLSv1."), "{sent:?}");
    assert_eq!(
        sent[15].len(),
        40,
        "the server certificate's thumbprint: {sent:?}"
    );
    let received = rows
        .iter()
        .find(|r| r[3] == "bob@woodgrove.test" && r[1] == "message")
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(received[8], "Domain Secure");
    assert_eq!(
        received[11].len(),
        40,
        "the client certificate's thumbprint"
    );
    let refusal = rows
        .iter()
        .find(|r| r[1] == "refusal")
        .unwrap_or_else(|| panic!("{text}"));
    assert!(refusal[16].starts_with("530 5.7.1"), "{refusal:?}");
    // The HTML report for Woodgrove, opened in a real browser.
    let html_file = dir.path().join("woodgrove.html");
    a.relay.org.ok(&[
        "report",
        "--since",
        "1h",
        "--partner",
        "woodgrove.test",
        "--out",
        html_file.to_str().unwrap(),
    ]);
    let Some(bin) = peer("chromium") else { return };
    let profile = tempfile::tempdir().unwrap();
    let url = format!("file://{}", html_file.display());
    let dom = chromium(&bin, profile.path(), &["--dump-dom", &url]);
    assert!(dom.contains("partner woodgrove.test"), "{dom}");
    assert!(dom.contains("<table id=\"totals\">"), "{dom}");
    assert!(dom.contains("<svg"), "the chart: {dom}");
    assert!(dom.contains("Refusals (1)"), "{dom}");
    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("evidence-report.png");
    let _ = std::fs::remove_file(&shot);
    chromium(
        &bin,
        profile.path(),
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,1000",
            &url,
        ],
    );
    let png = std::fs::read(&shot).expect("the screenshot");
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    assert!(png.len() > 10_000, "a page was drawn ({} bytes)", png.len());
}
