//! MTA-STS (RFC 8461) between two relays on loopback: Woodgrove publishes its policy over HTTPS
//! (the relay's own policy server, checked with curl), the test DNS server announces it, and
//! Contoso fetches it (trusting Woodgrove's CA) and delivers accordingly — enforce with a good
//! certificate, a certificate not valid for the MX host, an MX host the policy does not list,
//! testing mode, and a cached policy that outlives a restart and a failed fetch.

use crate::support::dns::{TestDns, Zone};
use crate::support::mx::{FIRST, contoso, mx_port, woodgrove_mx};
use crate::support::partners::{TestCa, install, self_signed, trust};
use crate::support::relay_util::{Relay, of_kind, send_mail};
use crate::support::util::{Org, free_port, in_ci, peer, refused, tlsa_sha256};
use mailflow::config::units::TimeSpan;
use mailflow::config::{CertificateSelection, MtaStsMode, MtaStsPublishing};
use mailflow::store::tracking::{EventKind, TrackingEvent};
use std::net::TcpListener;
use std::process::Command;

/// A port free on 127.0.0.2 for the policy server.
fn policy_port() -> u16 {
    loop {
        let port = free_port();
        if TcpListener::bind((FIRST, port)).is_ok() {
            return port;
        }
    }
}

/// Woodgrove's zone: its MX (mx1.woodgrove.test) and policy host on 127.0.0.2, and the TXT
/// record announcing policy `id`.
fn zone(id: &str) -> Zone {
    Zone::new("woodgrove.test")
        .mx("woodgrove.test", 10, "mx1.woodgrove.test")
        .a("mx1.woodgrove.test", FIRST)
        .a("mta-sts.woodgrove.test", FIRST)
        .txt("_mta-sts.woodgrove.test", &format!("v=STSv1; id={id}"))
}

/// Woodgrove: its MX host on 127.0.0.2 with a CA-issued certificate naming the MX host and the
/// policy host, publishing a policy of `mode` for `mx` on `sts_port`.
struct Woodgrove {
    mx: Relay,
    ca: TestCa,
    /// The thumbprint of the CA-issued certificate.
    issued: String,
}

fn woodgrove(port: u16, sts_port: u16, mode: MtaStsMode, mx: &[&str]) -> Woodgrove {
    let relay = woodgrove_mx(FIRST, port);
    let ca = TestCa::new("Woodgrove Web CA");
    let (bundle, _, _) = ca.good(
        "mx1.woodgrove.test",
        &["mx1.woodgrove.test", "mta-sts.woodgrove.test"],
    );
    let issued = install(&relay, &bundle);
    let mx: Vec<String> = mx.iter().map(|m| m.to_string()).collect();
    relay.change(|s| {
        s.receive_connectors[0].certificate = CertificateSelection::Thumbprint(issued.clone());
        s.transport.mta_sts_policy = Some(MtaStsPublishing {
            listen: format!("{FIRST}:{sts_port}"),
            mode,
            mx,
            max_age: TimeSpan::secs(86_400),
        });
    });
    Woodgrove {
        mx: relay,
        ca,
        issued,
    }
}

/// Contoso routing by `dns`, fetching policies from `sts_port` and trusting Woodgrove's CA.
fn sender(dns: &TestDns, port: u16, sts_port: u16, woodgrove: &Woodgrove) -> Relay {
    let relay = contoso(dns, port);
    trust(&relay, &woodgrove.ca);
    // As an administrator would: from the command line, then applied to the running relay.
    let out = relay
        .org
        .ok(&["transport", "set", "--mta-sts-port", &sts_port.to_string()]);
    assert!(out.contains("saved"), "{out}");
    relay.reload();
    assert_eq!(
        relay.workspace().settings.transport.mta_sts_port,
        sts_port,
        "the port is set"
    );
    relay
}

/// Woodgrove's MX host presents a self-signed certificate from now on (not valid for PKIX);
/// returns it (DER).
fn present_self_signed(woodgrove: &Woodgrove) -> Vec<u8> {
    let (bundle, der, _) = self_signed("mx1.woodgrove.test", &["mx1.woodgrove.test"]);
    let thumbprint = install(&woodgrove.mx, &bundle);
    woodgrove.mx.change(|s| {
        s.receive_connectors[0].certificate = CertificateSelection::Thumbprint(thumbprint)
    });
    der
}

fn send(contoso: &Relay, subject: &str) {
    let reply = send_mail(
        contoso.addr(),
        "alice@contoso.test",
        &["bob@woodgrove.test"],
        &format!("Subject: {subject}\n\nunder MTA-STS\n"),
    );
    assert!(reply.starts_with("250"), "{reply}");
}

fn detail(e: &TrackingEvent) -> String {
    e.detail.clone().unwrap_or_default()
}

fn first_deferral(contoso: &Relay) -> String {
    let defers = contoso.wait_kind(EventKind::Defer, 1);
    assert!(
        contoso.track(&of_kind(EventKind::Send)).is_empty(),
        "nothing sent"
    );
    defers[0].response.clone().unwrap_or_default()
}

#[test]
fn an_enforced_policy_is_fetched_served_and_met() {
    let (port, sts_port) = (mx_port(), policy_port());
    let woodgrove = woodgrove(port, sts_port, MtaStsMode::Enforce, &["mx1.woodgrove.test"]);
    // curl, an HTTPS client nobody here wrote, reads the policy as senders will.
    let ca_file = woodgrove.mx.org.file("woodgrove-ca.pem");
    std::fs::write(&ca_file, woodgrove.ca.pem()).expect("CA file");
    match peer("curl") {
        Some(curl) => {
            let out = Command::new(curl)
                .args([
                    "--silent",
                    "--show-error",
                    "--fail",
                    "--resolve",
                    &format!("mta-sts.woodgrove.test:{sts_port}:{FIRST}"),
                    "--cacert",
                    ca_file.to_str().expect("path"),
                    &format!("https://mta-sts.woodgrove.test:{sts_port}/.well-known/mta-sts.txt"),
                ])
                .output()
                .expect("curl runs");
            let body = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "curl: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(
                body,
                "version: STSv1\r\nmode: enforce\r\nmx: mx1.woodgrove.test\r\nmax_age: 86400\r\n"
            );
        }
        None => {
            assert!(!in_ci(), "curl is needed in CI");
            eprintln!("SKIPPED PART: curl is not installed, the policy was not read by curl");
        }
    }
    let dns = TestDns::start(vec![zone("20261207")]);
    let contoso = sender(&dns, port, sts_port, &woodgrove);
    send(&contoso, "enforced");
    woodgrove.mx.wait_mailbox("woodgrove.test", "bob", 1);
    let sent = contoso.wait_kind(EventKind::Send, 1);
    let evidence = detail(&sent[0]);
    assert!(
        evidence.contains("MTA-STS enforce (fetched now)")
            && evidence.contains("certificate valid for mx1.woodgrove.test (MTA-STS)"),
        "{evidence}"
    );
    // The console's Policy column names it.
    assert_eq!(
        mailflow::policy::classify::hop_policy_text(&evidence),
        "MTA-STS"
    );
    // The policy is kept on disk for the next run, and listed.
    let cache = std::fs::read_to_string(contoso.dir().mta_sts_cache()).expect("policy cache");
    assert!(
        cache.contains("woodgrove.test") && cache.contains("20261207"),
        "{cache}"
    );
    let probed = contoso.org.ok(&["probe", "--domain", "woodgrove.test"]);
    assert!(
        probed.contains("MTA-STS         MTA-STS enforce (cached policy 20261207)")
            && probed.contains("[PASS] MTA-STS (enforce)"),
        "{probed}"
    );
    let shown = contoso.org.ok(&["mta-sts", "show"]);
    assert!(
        shown.contains("Policies cached from other domains")
            && shown.contains("woodgrove.test")
            && shown.contains("20261207")
            && shown.contains("enforce"),
        "{shown}"
    );
}

#[test]
fn publishing_from_the_command_line_says_what_to_put_in_dns_and_refuses_junk() {
    let org = Org::new("mail.contoso.test", "contoso.test");
    let out = org.ok(&[
        "mta-sts",
        "publish",
        "--listen",
        "127.0.0.1:0",
        "--mode",
        "enforce",
        "--mx",
        "mail.contoso.test,*.backup.contoso.test",
        "--max-age",
        "1d",
    ]);
    assert!(
        out.contains("_mta-sts.contoso.test. IN TXT \"v=STSv1; id=")
            && out.contains("names mta-sts.contoso.test"),
        "{out}"
    );
    let shown = org.ok(&["mta-sts", "show"]);
    assert!(
        shown.contains("https://mta-sts.contoso.test/.well-known/mta-sts.txt")
            && shown.contains(
                "mode: enforce\nmx: mail.contoso.test\nmx: *.backup.contoso.test\nmax_age: 86400"
            ),
        "{shown}"
    );
    // The id changes with the policy.
    let id = |text: &str| {
        text.lines()
            .find(|l| l.starts_with("Id"))
            .map(|l| l.split_whitespace().last().unwrap_or_default().to_string())
            .unwrap_or_default()
    };
    let before = id(&shown);
    org.ok(&[
        "mta-sts",
        "publish",
        "--listen",
        "127.0.0.1:0",
        "--mode",
        "testing",
        "--mx",
        "mail.contoso.test",
        "--max-age",
        "1d",
    ]);
    let after = id(&org.ok(&["mta-sts", "show"]));
    assert!(!before.is_empty() && before != after, "{before} {after}");
    refused(
        &org,
        &[
            "mta-sts",
            "publish",
            "--mode",
            "enforce",
            "--mx",
            "not a host!",
        ],
        "is not a host name",
    );
    refused(
        &org,
        &[
            "mta-sts",
            "publish",
            "--listen",
            "everywhere",
            "--mode",
            "enforce",
            "--mx",
            "mail.contoso.test",
        ],
        "is not an address to listen on",
    );
    org.ok(&["mta-sts", "withdraw"]);
    assert!(
        org.ok(&["mta-sts", "show"])
            .contains("No MTA-STS policy is published")
    );
}

#[test]
fn an_enforced_policy_refuses_a_certificate_not_valid_for_the_mx_host() {
    let (port, sts_port) = (mx_port(), policy_port());
    let woodgrove = woodgrove(port, sts_port, MtaStsMode::Enforce, &["mx1.woodgrove.test"]);
    present_self_signed(&woodgrove);
    let dns = TestDns::start(vec![zone("1")]);
    let contoso = sender(&dns, port, sts_port, &woodgrove);
    send(&contoso, "self-signed");
    let why = first_deferral(&contoso);
    assert!(
        why.starts_with("451 4.7.5")
            && why.contains("MTA-STS (enforce) needs a certificate valid for mx1.woodgrove.test"),
        "{why}"
    );
    assert!(woodgrove.mx.track(&of_kind(EventKind::Receive)).is_empty());
    let probed = contoso.org.ok(&["probe", "--domain", "woodgrove.test"]);
    assert!(probed.contains("[FAIL] MTA-STS (enforce)"), "{probed}");
    // With MTA-STS off on the send connector, the policy is not applied.
    let connector = contoso.workspace().settings.send_connectors[0].name.clone();
    contoso
        .org
        .ok(&["connector", "send", "set", &connector, "--mta-sts", "false"]);
    contoso.reload();
    contoso.retry_now("woodgrove.test", std::time::Duration::from_secs(30));
    woodgrove.mx.wait_mailbox("woodgrove.test", "bob", 1);
}

#[test]
fn an_enforced_policy_leaves_out_mx_hosts_it_does_not_list() {
    let (port, sts_port) = (mx_port(), policy_port());
    let woodgrove = woodgrove(
        port,
        sts_port,
        MtaStsMode::Enforce,
        &["*.mail.woodgrove.test"],
    );
    let dns = TestDns::start(vec![zone("1")]);
    let contoso = sender(&dns, port, sts_port, &woodgrove);
    send(&contoso, "not listed");
    let why = first_deferral(&contoso);
    assert!(
        why.starts_with("451 4.7.5")
            && why.contains(
                "mx *.mail.woodgrove.test) allows none of its MX hosts (mx1.woodgrove.test)"
            ),
        "{why}"
    );
    assert!(woodgrove.mx.track(&of_kind(EventKind::Receive)).is_empty());
}

#[test]
fn a_testing_policy_delivers_and_says_so() {
    let (port, sts_port) = (mx_port(), policy_port());
    let woodgrove = woodgrove(port, sts_port, MtaStsMode::Testing, &["mx1.woodgrove.test"]);
    present_self_signed(&woodgrove);
    let dns = TestDns::start(vec![zone("1")]);
    let contoso = sender(&dns, port, sts_port, &woodgrove);
    send(&contoso, "testing");
    woodgrove.mx.wait_mailbox("woodgrove.test", "bob", 1);
    let sent = contoso.wait_kind(EventKind::Send, 1);
    assert!(
        detail(&sent[0]).contains("MTA-STS testing (fetched now)"),
        "{sent:#?}"
    );
}

#[test]
fn a_cached_policy_outlives_a_restart_and_a_failed_fetch_and_no_cache_means_no_policy() {
    let (port, sts_port) = (mx_port(), policy_port());
    let woodgrove = woodgrove(port, sts_port, MtaStsMode::Enforce, &["mx1.woodgrove.test"]);
    let dns = TestDns::start(vec![zone("1")]);
    let mut contoso = sender(&dns, port, sts_port, &woodgrove);
    send(&contoso, "first");
    woodgrove.mx.wait_mailbox("woodgrove.test", "bob", 1);
    // Woodgrove stops serving its policy, announces a new one, and its MX presents a
    // certificate no policy would accept; Contoso restarts.
    woodgrove.mx.change(|s| s.transport.mta_sts_policy = None);
    present_self_signed(&woodgrove);
    let renewed = TestDns::start(vec![zone("2")]);
    let server = renewed.addr().to_string();
    contoso.change(|s| s.transport.dns_servers = vec![server]);
    contoso.restart();
    send(&contoso, "second");
    let defers = contoso.wait_kind(EventKind::Defer, 1);
    let why = defers[0].response.clone().unwrap_or_default();
    assert!(
        why.contains("MTA-STS (enforce) needs a certificate valid for mx1.woodgrove.test"),
        "the cached policy still holds: {why}"
    );
    let noted = defers[0].detail.clone().unwrap_or_default() + &why;
    assert!(
        noted.contains("cached policy 1 (the fetch failed"),
        "{defers:#?}"
    );
    assert_eq!(woodgrove.mx.mailbox("woodgrove.test", "bob").len(), 1);
    // A sender that never had the policy: announced, not fetched, no policy — delivered.
    let fresh = sender(&renewed, port, sts_port, &woodgrove);
    send(&fresh, "third");
    woodgrove.mx.wait_mailbox("woodgrove.test", "bob", 2);
    let sent = fresh.wait_kind(EventKind::Send, 1);
    assert!(!detail(&sent[0]).contains("MTA-STS"), "{sent:#?}");
}

#[test]
fn where_dane_applies_it_decides_and_mta_sts_never_overrides_it() {
    let (port, sts_port) = (mx_port(), policy_port());
    let woodgrove = woodgrove(port, sts_port, MtaStsMode::Enforce, &["mx1.woodgrove.test"]);
    let self_signed = present_self_signed(&woodgrove);
    let owner = format!("_{port}._tcp.mx1.woodgrove.test");
    // DANE-EE names the self-signed certificate, which MTA-STS alone would refuse.
    let dns = TestDns::start(vec![
        zone("1")
            .tlsa(&owner, 3, 1, 1, &tlsa_sha256(&self_signed, 1))
            .signed(),
    ]);
    let mut contoso = sender(&dns, port, sts_port, &woodgrove);
    send(&contoso, "dane decides");
    woodgrove.mx.wait_mailbox("woodgrove.test", "bob", 1);
    let sent = contoso.wait_kind(EventKind::Send, 1);
    let evidence = detail(&sent[0]);
    assert!(
        evidence.contains("authenticated by DANE-EE(3)") && !evidence.contains("MTA-STS"),
        "{evidence}"
    );
    // The other way round: a certificate MTA-STS would accept, which DANE does not name.
    let issued = woodgrove.issued.clone();
    woodgrove
        .mx
        .change(|s| s.receive_connectors[0].certificate = CertificateSelection::Thumbprint(issued));
    contoso.restart();
    send(&contoso, "dane refuses");
    let defers = contoso.wait_kind(EventKind::Defer, 1);
    let why = defers[0].response.clone().unwrap_or_default();
    assert!(
        why.contains("DANE: the certificate of mx1.woodgrove.test matches none"),
        "{why}"
    );
    assert_eq!(woodgrove.mx.mailbox("woodgrove.test", "bob").len(), 1);
}

/// Our policy server follows the settings while the relay runs: a changed policy is served at
/// once, and a changed listener moves it (the old port stops answering). Read with curl.
#[test]
fn the_policy_server_follows_a_changed_policy_and_listener() {
    let Some(curl) = peer("curl") else {
        assert!(!in_ci(), "curl is needed in CI");
        eprintln!("SKIPPED: curl is not installed, the policy server was not read");
        return;
    };
    let (port, sts_port) = (mx_port(), policy_port());
    let woodgrove = woodgrove(port, sts_port, MtaStsMode::Enforce, &["mx1.woodgrove.test"]);
    let ca_file = woodgrove.mx.org.file("woodgrove-ca.pem");
    std::fs::write(&ca_file, woodgrove.ca.pem()).expect("CA file");
    let fetch = |p: u16| {
        Command::new(&curl)
            .args([
                "--silent",
                "--show-error",
                "--fail",
                "--max-time",
                "10",
                "--resolve",
                &format!("mta-sts.woodgrove.test:{p}:{FIRST}"),
                "--cacert",
                ca_file.to_str().expect("path"),
                &format!("https://mta-sts.woodgrove.test:{p}/.well-known/mta-sts.txt"),
            ])
            .output()
            .expect("curl runs")
    };
    let body = |out: &std::process::Output| String::from_utf8_lossy(&out.stdout).to_string();
    assert!(body(&fetch(sts_port)).contains("mode: enforce"));
    // A new mode, served on a new port.
    let moved = policy_port();
    woodgrove.mx.change(|s| {
        if let Some(p) = &mut s.transport.mta_sts_policy {
            p.mode = MtaStsMode::Testing;
            p.listen = format!("{FIRST}:{moved}");
        }
    });
    let mut served = String::new();
    crate::support::relay_util::wait_until(
        "the new policy on the new port",
        std::time::Duration::from_secs(30),
        || {
            served = body(&fetch(moved));
            served.contains("mode: testing")
        },
    );
    assert!(served.starts_with("version: STSv1\r\n"), "{served}");
    let old = fetch(sts_port);
    assert!(
        !old.status.success(),
        "the old port still answers: {}",
        body(&old)
    );
    // Withdrawn: nothing is served.
    woodgrove.mx.change(|s| s.transport.mta_sts_policy = None);
    crate::support::relay_util::wait_until(
        "the policy withdrawn",
        std::time::Duration::from_secs(30),
        || !fetch(moved).status.success(),
    );
}
