//! TLS reporting (RFC 8460): the relay keeps the TLS outcome of every attempt to an MX host, and
//! `mailflow tls-report show` gives the day's aggregate report for a domain in the RFC's JSON —
//! checked here against the shape the RFC's schema (§4.4) requires, and against what happened:
//! a first MX host whose certificate its TLSA record does not name (a validation failure), a
//! second one that DANE authenticates (a success), each under its own policy.

use crate::support::collector::Posted;
use crate::support::dns::{TestDns, Zone};
use crate::support::mx::{FIRST, SECOND, contoso, mx_port, woodgrove_presenting};
use crate::support::next_hop::presenting;
use crate::support::partners::self_signed;
use crate::support::partners::{TestCa, trust};
use crate::support::relay_util::send_mail;
use crate::support::util::tlsa_sha256;
use mailflow::policy::tls_rpt::{ReportPolicy, SessionOutcome};
use mailflow::store::tracking::EventKind;
use serde_json::Value;
use std::sync::{Arc, Mutex};

/// The fields and types RFC 8460 §4.4 requires (its JSON schema's `required` lists).
fn assert_rfc8460_shape(report: &Value) {
    let text = |v: &Value, field: &str| {
        assert!(
            v.get(field).is_some_and(Value::is_string),
            "{field} must be a string: {v:#}"
        )
    };
    let count = |v: &Value, field: &str| {
        assert!(
            v.get(field).is_some_and(Value::is_u64),
            "{field} must be a count: {v:#}"
        )
    };
    for field in ["organization-name", "contact-info", "report-id"] {
        text(report, field);
    }
    let range = &report["date-range"];
    for field in ["start-datetime", "end-datetime"] {
        text(range, field);
        let when = range[field].as_str().unwrap_or_default();
        assert!(
            time::OffsetDateTime::parse(when, &time::format_description::well_known::Rfc3339)
                .is_ok(),
            "{field} is RFC 3339: {when}"
        );
    }
    let policies = report["policies"].as_array().expect("policies is an array");
    for entry in policies {
        let policy = &entry["policy"];
        let kind = policy["policy-type"].as_str().unwrap_or_default();
        assert!(
            ["tlsa", "sts", "no-policy-found"].contains(&kind),
            "policy-type {kind}"
        );
        text(policy, "policy-domain");
        count(&entry["summary"], "total-successful-session-count");
        count(&entry["summary"], "total-failure-session-count");
        for detail in entry["failure-details"].as_array().into_iter().flatten() {
            text(detail, "result-type");
            count(detail, "failed-session-count");
        }
    }
}

/// An HTTPS collector on loopback presenting a certificate for `names` from a new CA: the CA
/// (for the sender to trust), its port, and what it records.
fn collector(names: &[&str]) -> (TestCa, u16, Arc<Mutex<Vec<Posted>>>) {
    let ca = TestCa::new("Woodgrove Web CA");
    let (_, der, key) = ca.good(names[0], names);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("collector port");
    let port = listener.local_addr().expect("addr").port();
    let posted = crate::support::collector::start(listener, presenting(&der, &key));
    (ca, port, posted)
}

/// One session to Woodgrove's MX without a policy, as the relay records it.
fn woodgrove_session() -> SessionOutcome {
    SessionOutcome {
        policy_domain: "woodgrove.test".into(),
        policy: ReportPolicy::none(),
        mx_host: "mx1.woodgrove.test".into(),
        receiving_ip: Some("127.0.0.2".into()),
        sending_ip: Some("127.0.0.1".into()),
        failure: None,
        detail: None,
    }
}

#[test]
fn the_days_report_counts_each_policy_as_the_rfc_writes_it() {
    let port = mx_port();
    let (bundle1, _, _) = self_signed("mx1.woodgrove.test", &["mx1.woodgrove.test"]);
    let (_, not_mx1, _) = self_signed("mx1.woodgrove.test", &["mx1.woodgrove.test"]);
    let (bundle2, der2, _) = self_signed("mx2.woodgrove.test", &["mx2.woodgrove.test"]);
    let mx1 = woodgrove_presenting(FIRST, port, &bundle1);
    let mx2 = woodgrove_presenting(SECOND, port, &bundle2);
    let dns = TestDns::start(vec![
        Zone::new("woodgrove.test")
            .mx("woodgrove.test", 10, "mx1.woodgrove.test")
            .mx("woodgrove.test", 20, "mx2.woodgrove.test")
            .a("mx1.woodgrove.test", FIRST)
            .a("mx2.woodgrove.test", SECOND)
            .tlsa(
                &format!("_{port}._tcp.mx1.woodgrove.test"),
                3,
                1,
                1,
                &tlsa_sha256(&not_mx1, 1),
            )
            .tlsa(
                &format!("_{port}._tcp.mx2.woodgrove.test"),
                3,
                1,
                1,
                &tlsa_sha256(&der2, 1),
            )
            .txt(
                "_smtp._tls.woodgrove.test",
                "v=TLSRPTv1; rua=mailto:tlsrpt@woodgrove.test",
            )
            .signed(),
    ]);
    let contoso = contoso(&dns, port);
    // Woodgrove reads the reports mailed to it (set by the command line, then applied).
    let set = mx2.org.ok(&[
        "transport",
        "set",
        "--tls-rpt-address",
        "tlsrpt@woodgrove.test",
    ]);
    assert!(
        set.contains(
            "_smtp._tls.woodgrove.test. TXT \"v=TLSRPTv1; rua=mailto:tlsrpt@woodgrove.test\""
        ),
        "{set}"
    );
    mx2.reload();
    let reply = send_mail(
        contoso.addr(),
        "alice@contoso.test",
        &["bob@woodgrove.test"],
        "Subject: reported\n\nx\n",
    );
    assert!(reply.starts_with("250"), "{reply}");
    mx2.wait_mailbox("woodgrove.test", "bob", 1);
    assert!(mx1.mailbox("woodgrove.test", "bob").is_empty());
    contoso.wait_kind(EventKind::Send, 1);
    // The outcomes are written off the delivery task: wait for both.
    let mut report = Value::Null;
    crate::support::relay_util::wait_until(
        "both outcomes kept",
        std::time::Duration::from_secs(30),
        || {
            let out = contoso
                .org
                .ok(&["tls-report", "show", "--domain", "woodgrove.test"]);
            report = serde_json::from_str(&out).expect("the report is JSON");
            report["policies"].as_array().is_some_and(|p| p.len() == 2)
        },
    );
    assert_rfc8460_shape(&report);
    assert_eq!(report["organization-name"], "Test Org");
    let policies = report["policies"].as_array().expect("policies");
    let failed = policies
        .iter()
        .find(|p| p["summary"]["total-failure-session-count"] == 1)
        .unwrap_or_else(|| panic!("{report:#}"));
    let succeeded = policies
        .iter()
        .find(|p| p["summary"]["total-successful-session-count"] == 1)
        .unwrap_or_else(|| panic!("{report:#}"));
    for (entry, digest) in [
        (failed, tlsa_sha256(&not_mx1, 1)),
        (succeeded, tlsa_sha256(&der2, 1)),
    ] {
        assert_eq!(entry["policy"]["policy-type"], "tlsa");
        assert_eq!(entry["policy"]["policy-domain"], "woodgrove.test");
        assert_eq!(
            entry["policy"]["policy-string"][0],
            format!("3 1 1 {}", hex::encode(digest))
        );
    }
    assert_eq!(failed["summary"]["total-successful-session-count"], 0);
    let detail = &failed["failure-details"][0];
    assert_eq!(detail["result-type"], "validation-failure");
    assert_eq!(detail["receiving-mx-hostname"], "mx1.woodgrove.test");
    assert_eq!(detail["receiving-ip"], "127.0.0.2");
    assert_eq!(detail["sending-mta-ip"], "127.0.0.1");
    assert_eq!(detail["failed-session-count"], 1);
    assert_eq!(succeeded["summary"]["total-failure-session-count"], 0);
    // Another domain, and a day without sessions, have empty reports.
    let other = contoso
        .org
        .ok(&["tls-report", "show", "--domain", "fabrikam.test"]);
    let other: Value = serde_json::from_str(&other).expect("JSON");
    assert_rfc8460_shape(&other);
    assert_eq!(other["policies"].as_array().map(Vec::len), Some(0));
    let err = contoso.org.fails(&[
        "tls-report",
        "show",
        "--domain",
        "woodgrove.test",
        "--date",
        "yesterday",
    ]);
    assert!(err.contains("write it as YYYY-MM-DD"), "{err}");

    // The day's report goes by mail to the address Woodgrove publishes at _smtp._tls.
    let today = mailflow::engine::tls_reports::day_of(time::OffsetDateTime::now_utc());
    let queued = contoso
        .handle()
        .send_tls_reports(&today)
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("an answer");
    assert_eq!(queued, Ok(1));
    let mail = mx2.wait_mailbox("woodgrove.test", "tlsrpt", 1).remove(0);
    for header in [
        "TLS-Report-Domain: woodgrove.test",
        "TLS-Report-Submitter: mail.contoso.test",
        "Content-Type: multipart/report; report-type=\"tlsrpt\"",
        "Content-Type: application/tlsrpt+gzip",
        "mail.contoso.test!woodgrove.test!",
    ] {
        assert!(mail.contains(header), "{header} missing:\n{mail}");
    }
    // The attachment is the report, gzipped.
    let attachment = mail
        .split("Content-Transfer-Encoding: base64")
        .nth(1)
        .unwrap_or_else(|| panic!("no attachment:\n{mail}"));
    let encoded: String = attachment
        .lines()
        .skip(1)
        .skip_while(|l| !l.trim().is_empty())
        .skip(1)
        .take_while(|l| !l.starts_with("--"))
        .map(str::trim)
        .collect();
    let gzipped =
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, encoded.trim())
            .unwrap_or_else(|e| panic!("base64 ({e}):\n{mail}"));
    let mut json = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gzipped[..]), &mut json)
        .expect("gzip");
    let mailed: Value = serde_json::from_str(&json).expect("JSON");
    assert_rfc8460_shape(&mailed);
    assert_eq!(mailed["policies"], report["policies"]);
    // Woodgrove read it on delivery and lists it as received.
    let kept = mx2.wait_track(
        "the report kept on delivery",
        &crate::support::relay_util::of_kind(EventKind::Deliver),
        |evs| {
            evs.iter().any(|e| {
                e.detail
                    .as_deref()
                    .is_some_and(|d| d.contains("from Test Org about woodgrove.test kept"))
            })
        },
    );
    assert!(!kept.is_empty());
    let received = mx2
        .org
        .ok(&["tls-report", "received", "--domain", "woodgrove.test"]);
    assert!(
        received.contains("Test Org  woodgrove.test (tlsa)  mail.contoso.test  ok 0  failed 1  [validation-failure ×1 at mx1.woodgrove.test]"),
        "{received}"
    );
    assert!(received.contains("ok 1  failed 0"), "{received}");
    let none = mx2
        .org
        .ok(&["tls-report", "received", "--domain", "fabrikam.test"]);
    assert!(none.contains("No TLS reports received yet"), "{none}");
    // The report's own delivery (mx1 refused, mx2 took it) was not counted.
    contoso.wait_kind(EventKind::Send, 2);
    std::thread::sleep(std::time::Duration::from_millis(500));
    let after: Value = serde_json::from_str(&contoso.org.ok(&[
        "tls-report",
        "show",
        "--domain",
        "woodgrove.test",
    ]))
    .expect("JSON");
    assert_eq!(after["policies"], report["policies"]);
}

/// RFC 8460 §5.4: a report goes to an `https:` address as a POST of the gzipped JSON with
/// `Content-Type: application/tlsrpt+gzip`, checked with a certificate from a root Contoso
/// trusts; an address that does not take it (503) is left out of the next sending, the one
/// that took it is not.
#[test]
fn reports_are_posted_to_https_addresses_and_a_failing_one_is_left_out() {
    let (ca, port, posted) = collector(&["reports.woodgrove.test", "down.woodgrove.test"]);
    let dns = TestDns::start(vec![
        Zone::new("woodgrove.test")
            .a("reports.woodgrove.test", std::net::Ipv4Addr::LOCALHOST)
            .a("down.woodgrove.test", std::net::Ipv4Addr::LOCALHOST)
            .txt(
                "_smtp._tls.woodgrove.test",
                &format!(
                    "v=TLSRPTv1; rua=https://reports.woodgrove.test:{port}/v1,https://down.woodgrove.test:{port}/fail"
                ),
            ),
    ]);
    let contoso = contoso(&dns, mx_port());
    trust(&contoso, &ca);
    contoso.reload();
    // A day with one session to Woodgrove, as the relay records it.
    let outcome = woodgrove_session();
    for day in ["2026-12-01", "2026-12-02"] {
        mailflow::store::tls_outcomes::append(&contoso.dir(), day, std::slice::from_ref(&outcome))
            .expect("outcomes");
    }
    let send = |day: &str| {
        contoso
            .handle()
            .send_tls_reports(day)
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("an answer")
    };
    assert_eq!(send("2026-12-01"), Ok(1), "one address took it");
    let got = posted.lock().unwrap().clone();
    assert_eq!(got.len(), 2, "both were tried: {got:?}");
    let ok = got.iter().find(|p| p.path == "/v1").expect("posted to /v1");
    assert_eq!(ok.content_type, "application/tlsrpt+gzip");
    let mut json = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&ok.body[..]), &mut json)
        .expect("gzip");
    let report: Value = serde_json::from_str(&json).expect("JSON");
    assert_rfc8460_shape(&report);
    assert_eq!(
        report["date-range"]["start-datetime"],
        "2026-12-01T00:00:00Z"
    );
    assert_eq!(
        report["policies"][0]["summary"]["total-successful-session-count"],
        1
    );
    // The failing address is left out of the next day's sending; the good one is not.
    let suppressed = mailflow::store::tls_outcomes::suppressed(&contoso.dir());
    assert!(
        suppressed.contains_key(&format!("https://down.woodgrove.test:{port}/fail")),
        "{suppressed:?}"
    );
    assert_eq!(send("2026-12-02"), Ok(1));
    let paths: Vec<String> = posted
        .lock()
        .unwrap()
        .iter()
        .map(|p| p.path.clone())
        .collect();
    assert_eq!(paths.len(), 3, "{paths:?}");
    assert_eq!(paths[2], "/v1");
}

/// A report mail that the domain's MX refuses for good (550) leaves that `mailto:` address out
/// for a while.
#[test]
fn a_report_address_whose_mail_fails_is_left_out() {
    let port = mx_port();
    let listener = std::net::TcpListener::bind((FIRST, port)).expect("MX port");
    crate::support::next_hop::answering(
        listener,
        b"220 mx1.woodgrove.test ESMTP\r\n",
        b"250 mx1.woodgrove.test\r\n",
        |_| b"550 5.1.1 no such mailbox\r\n",
    );
    let dns = TestDns::start(vec![
        Zone::new("woodgrove.test")
            .mx("woodgrove.test", 10, "mx1.woodgrove.test")
            .a("mx1.woodgrove.test", FIRST)
            .txt(
                "_smtp._tls.woodgrove.test",
                "v=TLSRPTv1; rua=mailto:gone@woodgrove.test",
            ),
    ]);
    let contoso = contoso(&dns, port);
    let outcome = woodgrove_session();
    mailflow::store::tls_outcomes::append(&contoso.dir(), "2026-12-01", &[outcome])
        .expect("outcomes");
    let queued = contoso
        .handle()
        .send_tls_reports("2026-12-01")
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("an answer");
    assert_eq!(queued, Ok(1));
    contoso.wait_kind(EventKind::Fail, 1);
    crate::support::relay_util::wait_until(
        "the address left out",
        std::time::Duration::from_secs(30),
        || {
            mailflow::store::tls_outcomes::suppressed(&contoso.dir())
                .contains_key("mailto:gone@woodgrove.test")
        },
    );
}

/// RFC 8460 §4.3.2.4: an MTA-STS policy announced but not fetched (its host does not answer),
/// or fetched but not a policy, does not stop delivery (there is no policy to enforce) and is
/// reported as `sts-policy-fetch-error` or `sts-policy-invalid` under policy type `sts`.
#[test]
fn an_mta_sts_policy_that_cannot_be_fetched_or_read_is_reported() {
    use crate::support::relay_util::wait_until;
    use crate::support::util::free_port;
    let (ca, junk_port, _) = collector(&["mta-sts.woodgrove.test"]);
    let port = mx_port();
    let mx = crate::support::mx::woodgrove_mx(FIRST, port);
    let dns = TestDns::start(vec![
        Zone::new("woodgrove.test")
            .mx("woodgrove.test", 10, "mx1.woodgrove.test")
            .a("mx1.woodgrove.test", FIRST)
            .a("mta-sts.woodgrove.test", std::net::Ipv4Addr::LOCALHOST)
            .txt("_mta-sts.woodgrove.test", "v=STSv1; id=20261207"),
    ]);
    let contoso = contoso(&dns, port);
    trust(&contoso, &ca);
    let dead = free_port();
    contoso.change(|s| s.transport.mta_sts_port = dead);
    let report = || -> Value {
        serde_json::from_str(
            &contoso
                .org
                .ok(&["tls-report", "show", "--domain", "woodgrove.test"]),
        )
        .expect("JSON")
    };
    let failures = |r: &Value| -> Vec<String> {
        r["policies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["policy"]["policy-type"] == "sts")
            .flat_map(|p| p["failure-details"].as_array().cloned().unwrap_or_default())
            .map(|d| d["result-type"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    let reply = send_mail(
        contoso.addr(),
        "alice@contoso.test",
        &["bob@woodgrove.test"],
        "Subject: no policy host\n\nx\n",
    );
    assert!(reply.starts_with("250"), "{reply}");
    mx.wait_mailbox("woodgrove.test", "bob", 1);
    wait_until(
        "the fetch error reported",
        std::time::Duration::from_secs(30),
        || failures(&report()) == ["sts-policy-fetch-error"],
    );
    // Now the policy host answers, with something that is not a policy.
    contoso.change(|s| s.transport.mta_sts_port = junk_port);
    send_mail(
        contoso.addr(),
        "alice@contoso.test",
        &["bob@woodgrove.test"],
        "Subject: junk policy\n\nx\n",
    );
    mx.wait_mailbox("woodgrove.test", "bob", 2);
    wait_until(
        "the invalid policy reported",
        std::time::Duration::from_secs(30),
        || {
            let mut f = failures(&report());
            f.sort();
            f == ["sts-policy-fetch-error", "sts-policy-invalid"]
        },
    );
    let r = report();
    assert_rfc8460_shape(&r);
    let sts = r["policies"]
        .as_array()
        .expect("policies")
        .iter()
        .find(|p| p["policy"]["policy-type"] == "sts")
        .expect("an sts entry");
    assert_eq!(sts["summary"]["total-failure-session-count"], 2);
    let invalid = sts["failure-details"]
        .as_array()
        .expect("details")
        .iter()
        .find(|d| d["result-type"] == "sts-policy-invalid")
        .expect("invalid");
    assert!(
        invalid["additional-information"]
            .as_str()
            .is_some_and(|t| t.contains("mta-sts.txt")),
        "{invalid:#}"
    );
}

/// The daily sending itself: a relay that starts with yesterday's outcomes not yet reported
/// sends them at once (a relay down at midnight sends when it is back), and marks the day sent.
#[test]
fn a_relay_sends_yesterdays_reports_when_it_starts() {
    let (ca, port, posted) = collector(&["reports.woodgrove.test"]);
    let dns = TestDns::start(vec![
        Zone::new("woodgrove.test")
            .a("reports.woodgrove.test", std::net::Ipv4Addr::LOCALHOST)
            .txt(
                "_smtp._tls.woodgrove.test",
                &format!("v=TLSRPTv1; rua=https://reports.woodgrove.test:{port}/v1"),
            ),
    ]);
    let mut contoso = contoso(&dns, mx_port());
    trust(&contoso, &ca);
    let yesterday = mailflow::engine::tls_reports::day_of(
        time::OffsetDateTime::now_utc() - time::Duration::days(1),
    );
    let outcome = woodgrove_session();
    mailflow::store::tls_outcomes::append(&contoso.dir(), &yesterday, &[outcome])
        .expect("outcomes");
    contoso.restart();
    crate::support::relay_util::wait_until(
        "yesterday's report posted",
        std::time::Duration::from_secs(60),
        || !posted.lock().unwrap().is_empty(),
    );
    crate::support::relay_util::wait_until(
        "the day marked sent",
        std::time::Duration::from_secs(30),
        || mailflow::store::tls_outcomes::is_sent(&contoso.dir(), &yesterday),
    );
    // Started again, it does not send the day twice.
    contoso.restart();
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(posted.lock().unwrap().len(), 1);
}

/// A report mail that never gets through (the domain's MX does not answer until the message
/// expires) leaves its address out too: the expiry is a failure for good.
#[test]
fn a_report_address_whose_mail_expires_is_left_out() {
    let port = mx_port(); // nothing listens there
    let dns = TestDns::start(vec![
        Zone::new("woodgrove.test")
            .mx("woodgrove.test", 10, "mx1.woodgrove.test")
            .a("mx1.woodgrove.test", FIRST)
            .txt(
                "_smtp._tls.woodgrove.test",
                "v=TLSRPTv1; rua=mailto:slow@woodgrove.test",
            ),
    ]);
    let contoso = contoso(&dns, port);
    contoso.change(|s| {
        s.transport.delay_notification_timeout = mailflow::config::units::TimeSpan::secs(1);
        s.transport.message_expiration_timeout = mailflow::config::units::TimeSpan::secs(3);
    });
    mailflow::store::tls_outcomes::append(&contoso.dir(), "2026-12-01", &[woodgrove_session()])
        .expect("outcomes");
    let queued = contoso
        .handle()
        .send_tls_reports("2026-12-01")
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("an answer");
    assert_eq!(queued, Ok(1));
    crate::support::relay_util::wait_until(
        "the address left out after expiry",
        std::time::Duration::from_secs(60),
        || {
            mailflow::store::tls_outcomes::suppressed(&contoso.dir())
                .contains_key("mailto:slow@woodgrove.test")
        },
    );
    assert!(
        contoso
            .track(&crate::support::relay_util::of_kind(EventKind::Send))
            .is_empty(),
        "it never got through"
    );
}
