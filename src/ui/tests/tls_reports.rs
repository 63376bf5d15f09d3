//! Toolbox › TLS reports and Transport settings › TLS reporting, driven by their labels: the
//! report address is set (an address outside our domains refused at its field), and the page
//! shows the reports others sent (rows, failures named, a chart) and our own days.

use super::*;
use crate::policy::tls_rpt::{
    PolicyType, ReportPolicy, Reporter, ResultType, SessionOutcome, aggregate,
};
use crate::store::tls_outcomes;
use crate::store::tls_received::{self, ReceivedReport};
use crate::ui::widgets::nav::Page;

fn page(h: &mut Harness<'static, ConsoleApp>, p: Page) {
    h.state_mut().page = p;
    h.step();
    settle(h);
}

fn outcome(domain: &str, policy: &ReportPolicy, failure: Option<ResultType>) -> SessionOutcome {
    SessionOutcome {
        policy_domain: domain.into(),
        policy: policy.clone(),
        mx_host: format!("mail.{domain}"),
        receiving_ip: Some("192.0.2.25".into()),
        sending_ip: Some("198.51.100.7".into()),
        failure,
        detail: None,
    }
}

/// A report `org` sent about contoso.test for `day`.
fn received(
    org: &str,
    day: &str,
    ok: usize,
    failed: usize,
    policy: &ReportPolicy,
) -> ReceivedReport {
    let mut outcomes = vec![outcome("contoso.test", policy, None); ok];
    outcomes.extend(vec![
        outcome(
            "contoso.test",
            policy,
            Some(ResultType::CertificateExpired)
        );
        failed
    ]);
    let start = format!("{day}T00:00:00Z");
    let end = format!("{day}T23:59:59Z");
    let id = format!("{day}_{org}");
    let reporter = Reporter {
        organization_name: org,
        contact_info: "",
        start: &start,
        end: &end,
        report_id: &id,
    };
    ReceivedReport {
        received: now_ms(),
        submitter: format!("mx.{}.example", org.to_lowercase()),
        report: aggregate(&reporter, "contoso.test", &outcomes),
    }
}

/// Reports from two organizations over four days, and two days of our own sessions.
pub(super) fn write_sample(dir: &crate::store::DataDir) {
    let sts = ReportPolicy {
        policy_type: PolicyType::Sts,
        policy_strings: vec!["version: STSv1".into(), "mode: enforce".into()],
        mx_patterns: vec!["mail.contoso.test".into()],
    };
    let tlsa = ReportPolicy {
        policy_type: PolicyType::Tlsa,
        policy_strings: vec!["3 1 1 8f0c".into()],
        mx_patterns: Vec::new(),
    };
    for (org, day, ok, failed, policy) in [
        ("Fabrikam", "2026-11-27", 120, 0, &sts),
        ("Fabrikam", "2026-11-28", 134, 0, &sts),
        ("Fabrikam", "2026-11-29", 98, 6, &sts),
        ("Woodgrove", "2026-11-29", 40, 0, &tlsa),
        ("Fabrikam", "2026-11-30", 141, 2, &sts),
    ] {
        tls_received::save(dir, &received(org, day, ok, failed, policy)).unwrap();
    }
    let none = ReportPolicy::none();
    tls_outcomes::append(
        dir,
        "2026-11-30",
        &[
            outcome("woodgrove.test", &tlsa, None),
            outcome("woodgrove.test", &tlsa, None),
            outcome("fabrikam.test", &sts, Some(ResultType::StsWebpkiInvalid)),
        ],
    )
    .unwrap();
    tls_outcomes::mark_sent(dir, "2026-11-30").unwrap();
    tls_outcomes::append(dir, "2026-12-01", &[outcome("woodgrove.test", &none, None)]).unwrap();
}

#[test]
fn the_tls_reports_page_shows_what_others_and_we_reported() {
    let (_tmp, ws) = fixture();
    write_sample(&ws.dir);
    let mut h = harness(console(ws));
    settle(&mut h);
    page(&mut h, Page::TlsReports);
    assert!(has_text(&h, "certificate-expired ×6 at mail.contoso.test"));
    assert!(has_text(&h, "Woodgrove"));
    assert!(has_text(&h, "DANE"));
    assert!(has_text(&h, "MTA-STS"));
    let data = h.state().views.tls_reports.data.clone().expect("read");
    assert_eq!(data.received.len(), 5);
    assert_eq!(
        data.daily[2],
        ("2026-11-29".to_string(), 138, 6),
        "both reporters' sessions that day"
    );
    // Our own days, newest first, with whether the reports went out.
    assert_eq!(data.sent[0].day, "2026-12-01");
    assert!(!data.sent[0].sent && data.sent[1].sent);
    assert_eq!(
        data.sent[1].domains,
        vec![
            ("fabrikam.test".to_string(), 0, 1),
            ("woodgrove.test".to_string(), 2, 0)
        ]
    );
    assert!(has_text(&h, "reports sent"));
    assert!(has_text(&h, "not sent yet"));
    assert!(has_text(&h, "No report address is set"));
    // A report that arrives later shows after Refresh.
    tls_received::save(
        &h.state().workspace.dir,
        &received("Northwind", "2026-11-30", 7, 1, &ReportPolicy::none()),
    )
    .unwrap();
    click(&mut h, "⟳ Refresh");
    settle(&mut h);
    assert!(has_text(&h, "Northwind"));
}

#[test]
fn transport_settings_set_our_tls_report_address() {
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
            .tls_rpt_address
    };
    set_text(&mut h, "Report address", "tls-reports@woodgrove.test");
    click(&mut h, "Save");
    settle(&mut h);
    assert!(has_text(
        &h,
        "woodgrove.test is not one of our accepted domains"
    ));
    assert_eq!(saved(), None, "nothing saved");
    set_text(&mut h, "Report address", "tls-reports@contoso.test");
    click(&mut h, "Save");
    settle(&mut h);
    assert_eq!(saved().as_deref(), Some("tls-reports@contoso.test"));
    assert!(has_text(
        &h,
        "_smtp._tls.contoso.test. IN TXT \"v=TLSRPTv1; rua=mailto:tls-reports@contoso.test\""
    ));
    page(&mut h, Page::TlsReports);
    assert!(has_text(&h, "Reports to us go to tls-reports@contoso.test"));
}
