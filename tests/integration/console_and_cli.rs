//! One home for the rules of administration: the console (driven by its labels with
//! egui_kittest) and the command line make the same Domain Security change on copies of the
//! same data directory, and settings.ron ends byte for byte the same — or both refuse it and
//! neither changes. The wizard's set-up is also one command, `mailflow partner setup`.

use crate::support::util::{Org, openssl_self_signed, p, peer};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use mailflow::admin::Workspace;
use mailflow::store::DataDir;
use mailflow::ui::{Clock, ConsoleApp, Page};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Another organization with a copy of `org`'s data directory.
fn copy_of(org: &Org) -> Org {
    let copy = Org::empty();
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(&org.dir)
        .arg(&copy.dir)
        .status()
        .expect("cp runs");
    assert!(status.success(), "copy the data directory");
    copy
}

/// Two identical organizations: `cli` for the command line, `console` for the console.
fn twins() -> (Org, Org) {
    let cli = Org::new("mail.contoso.test", "contoso.test");
    let console = copy_of(&cli);
    (cli, console)
}

fn settings(org: &Org) -> String {
    std::fs::read_to_string(org.dir.join("settings.ron")).expect("settings.ron")
}

fn console(dir: &Path) -> Harness<'static, ConsoleApp> {
    let ws = Workspace::open(&DataDir::new(dir.to_path_buf())).expect("open");
    let app = ConsoleApp::new(
        ws,
        Arc::new(|| {}),
        Clock::System,
        Arc::new(mailflow::ui::probe::Unavailable),
        None,
    );
    Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .with_max_steps(20)
        .build_ui_state(|ui, app: &mut ConsoleApp| app.frame(ui), app)
}

fn has_text(h: &Harness<'static, ConsoleApp>, part: &str) -> bool {
    h.query_all_by_label_contains(part).next().is_some()
}

fn click(h: &mut Harness<'static, ConsoleApp>, label: &str) {
    h.get_by_label(label).click();
    h.step();
    h.step();
}

fn set_text(h: &mut Harness<'static, ConsoleApp>, label: &str, text: &str) {
    use egui::accesskit::Role;
    let fields: Vec<_> = h
        .query_all_by_label(label)
        .filter(|n| {
            matches!(
                n.accesskit_node().role(),
                Role::TextInput | Role::MultilineTextInput
            )
        })
        .collect();
    assert_eq!(fields.len(), 1, "one text field labelled {label:?}");
    fields[0].set_text_value_accesskit(text);
    h.step();
    h.step();
}

/// Runs frames until `part` shows (the admin worker answered).
fn wait_for(h: &mut Harness<'static, ConsoleApp>, part: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !has_text(h, part) {
        assert!(Instant::now() < deadline, "timed out waiting for {part:?}");
        std::thread::sleep(Duration::from_millis(15));
        h.step();
    }
}

/// Turns Domain Security on the receive connector Default from its page.
fn console_turns_on_default(h: &mut Harness<'static, ConsoleApp>) {
    h.state_mut().open_page(Page::ReceiveConnectors);
    h.step();
    h.step();
    click(h, "Domain Security on Default");
    click(h, "Turn on");
}

#[test]
fn turning_domain_security_on_reaches_the_same_settings_from_console_and_cli() {
    let (cli, con) = twins();
    cli.ok(&[
        "connector",
        "receive",
        "set",
        "Default",
        "--domain-secure",
        "true",
    ]);
    let mut h = console(&con.dir);
    console_turns_on_default(&mut h);
    wait_for(
        &mut h,
        "Domain Security is on on receive connector 'Default'",
    );
    assert!(settings(&cli).contains("domain_secure_enabled: true"));
    assert_eq!(settings(&con), settings(&cli));
}

#[test]
fn without_the_tls_mechanism_both_refuse_and_nothing_changes() {
    let (cli, con) = twins();
    // The administrator chose STARTTLS off on both (BasicAuth only).
    for org in [&cli, &con] {
        org.ok(&[
            "connector",
            "receive",
            "set",
            "Default",
            "--auth",
            "basicauth",
        ]);
    }
    let before = settings(&cli);
    crate::support::util::refused(
        &cli,
        &[
            "connector",
            "receive",
            "set",
            "Default",
            "--domain-secure",
            "true",
        ],
        "Domain Security needs the Tls authentication mechanism",
    );
    let mut h = console(&con.dir);
    console_turns_on_default(&mut h);
    wait_for(
        &mut h,
        "Domain Security needs the Tls authentication mechanism",
    );
    assert_eq!(settings(&cli), before);
    assert_eq!(
        settings(&con),
        before,
        "the console added nothing behind the administrator's back"
    );
}

/// A partner root CA made by openssl, in the scratch folder of `org`.
fn partner_root(org: &Org) -> Option<PathBuf> {
    peer("openssl")?;
    let crt = org.file("fabrikam-root.cer");
    openssl_self_signed(
        &org.file("fabrikam-root.key"),
        &crt,
        "P-256",
        "/O=Fabrikam/CN=Fabrikam Root CA",
        365,
        &[
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
    Some(crt)
}

/// Splits one of the wizard's commands into arguments (its quoting is POSIX single quotes).
fn words(command: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in command.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                any = true;
            }
            ' ' if !quoted => {
                if any || !word.is_empty() {
                    out.push(std::mem::take(&mut word));
                }
                any = false;
            }
            c => word.push(c),
        }
    }
    if any || !word.is_empty() {
        out.push(word);
    }
    out
}

#[test]
fn the_wizard_and_its_equivalent_commands_reach_the_same_settings() {
    let (cli, con) = twins();
    // The receive connector also offers BasicAuth: the set-up keeps it and adds only Tls.
    for org in [&cli, &con] {
        org.ok(&[
            "connector",
            "receive",
            "set",
            "Default",
            "--auth",
            "basicauth,tls",
        ]);
    }
    let one_command = copy_of(&cli);
    let Some(root) = partner_root(&con) else {
        return;
    };
    let mut h = console(&con.dir);
    click(&mut h, "Set up Domain Security…");
    set_text(&mut h, "Partner domain", "fabrikam.test");
    click(&mut h, "Next >");
    click(&mut h, "Import the partner's root CA from a file");
    set_text(&mut h, "Root CA file", p(&root));
    click(&mut h, "Read the file");
    wait_for(&mut h, "Fabrikam Root CA");
    click(
        &mut h,
        "Pin fabrikam.test to this root: no other CA may vouch for it",
    );
    click(&mut h, "Next >");
    click(&mut h, "Next >");
    click(&mut h, "Next >");
    let node = h.get_by_label_contains("mailflow transport set");
    let node = node.accesskit_node();
    let shown = node
        .label()
        .or_else(|| node.value())
        .expect("the equivalent commands")
        .to_string();
    click(&mut h, "Apply");
    wait_for(&mut h, "Domain Security with fabrikam.test is set up");

    for command in shown.lines() {
        let args = words(command);
        assert_eq!(args[0], "mailflow", "{command}");
        let args: Vec<&str> = args[1..].iter().map(String::as_str).collect();
        cli.ok(&args);
    }
    let after = settings(&con);
    assert!(after.contains("fabrikam.test"), "{after}");
    assert!(after.contains("BasicAuth"), "{after}");
    assert_eq!(settings(&cli), after);

    // The same operation as one command.
    let said = one_command.ok(&[
        "partner",
        "setup",
        "fabrikam.test",
        "--root",
        p(&root),
        "--pin",
        "--send-connector",
        "Outbound",
        "--receive-connector",
        "Default",
    ]);
    assert!(
        said.contains("Domain Security with fabrikam.test is set up"),
        "{said}"
    );
    assert_eq!(settings(&one_command), after);
}
