//! Toolbox › Certificate inspector: opens any PEM, DER, request, PKCS#7 or PKCS#12 file (typed,
//! chosen in a dialog, or dropped on the window) or a certificate of our store, and shows it
//! like the Windows certificate dialog — General, Details, Certification path — with the
//! findings highlighted (expired, missing clientAuth, name mismatch, untrusted chain). The
//! report view is shared with the import wizard.

use super::Cx;
use crate::admin::{CertificateReport, FileReport};
use crate::pki::chain::ChainVerdict;
use crate::pki::inspect::{CertStatus, Severity};
use crate::pki::request::RequestInfo;
use crate::ui::app::actions::{Action, FileTarget, Form, PickTarget};
use crate::ui::app::jobs::{Failure, LoadedFile};
use crate::ui::widgets::format;
use crate::ui::widgets::theme::{self, bad, good, info, muted, warn};
use crate::ui::widgets::{self, Mark};
use egui::{RichText, Ui};
use std::sync::Arc;
use zeroize::Zeroizing;

const FORM: Form = Form::Inspector;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Tab {
    #[default]
    General,
    Details,
    Path,
}

/// What the inspector shows.
#[derive(Clone)]
pub enum Shown {
    File(LoadedFile),
    Stored {
        thumbprint: String,
        report: Arc<CertificateReport>,
    },
}

#[derive(Default)]
pub struct InspectorView {
    pub path: String,
    pub password: String,
    pub needs_password: bool,
    pub tab: Tab,
    pub index: usize,
    pub shown: Option<Shown>,
    pub usage: UseView,
    /// The file to compare the shown certificate with, and what it held.
    pub compare_path: String,
    pub compare: Option<LoadedFile>,
}

/// What "Use this certificate" keeps while the administrator types.
#[derive(Default)]
pub struct UseView {
    /// Pin the public key (survives renewal with the same key) instead of the certificate.
    pub key_pin: bool,
    /// The name of a Direct Trust entry or a partner pin.
    pub name: String,
    /// The partner domain(s), comma-separated.
    pub domains: String,
}

impl InspectorView {
    pub fn on_loaded(&mut self, r: Result<LoadedFile, Failure>) {
        match r {
            Ok(f) => {
                self.needs_password = false;
                self.index = 0;
                self.shown = Some(Shown::File(f));
            }
            Err(f) => {
                self.needs_password = f.needs_password;
                self.shown = None;
            }
        }
    }

    pub fn on_compare(&mut self, r: Result<LoadedFile, Failure>) {
        self.compare = r.ok();
    }

    pub fn on_stored(&mut self, thumbprint: String, r: Result<Arc<CertificateReport>, Failure>) {
        if let Ok(report) = r {
            self.index = 0;
            self.shown = Some(Shown::Stored { thumbprint, report });
        }
    }
}

pub fn certificate_inspector_page(ui: &mut Ui, v: &mut InspectorView, cx: &mut Cx) {
    widgets::page_header(
        ui,
        "Certificate inspector",
        "Open a certificate (.cer, .crt, .pem), a request (.req, .csr), a chain (.p7b) or an archive (.pfx) — or drop it on the window.",
    );
    cx.feedback(ui, FORM);
    widgets::card(ui, |ui| {
        ui.set_width(ui.available_width());
        widgets::form_grid(ui, "inspector-open", |ui| {
            if widgets::path_field(ui, "File to inspect", &mut v.path, &[]) {
                cx.push(Action::Pick {
                    target: PickTarget::InspectorFile,
                    save: false,
                    file_name: String::new(),
                });
            }
            if v.needs_password {
                widgets::field(ui, "PKCS#12 password", &[], |ui| {
                    ui.add(
                        egui::TextEdit::singleline(&mut v.password)
                            .password(true)
                            .desired_width(240.0),
                    )
                });
            }
        });
        if widgets::primary_button(ui, "Open", !v.path.trim().is_empty() && !cx.busy(FORM))
            .clicked()
        {
            cx.push(Action::LoadFile {
                target: FileTarget::Inspector,
                path: v.path.trim().into(),
                password: v.needs_password.then(|| Zeroizing::new(v.password.clone())),
            });
        }
    });
    ui.add_space(10.0);
    // The report and what to do with it are taller than the window: they scroll.
    egui::ScrollArea::vertical()
        .id_salt("inspector-scroll")
        .auto_shrink([false, false])
        .show(ui, |ui| shown(ui, v, cx));
}

fn shown(ui: &mut Ui, v: &mut InspectorView, cx: &mut Cx) {
    match v.shown.clone() {
        None => {
            ui.label(RichText::new("Nothing opened yet.").color(muted()));
        }
        Some(Shown::Stored { thumbprint, report }) => {
            ui.label(
                RichText::new(format!("From this server's store: {thumbprint}")).color(muted()),
            );
            report_view(ui, &report, &mut v.tab, cx.now);
        }
        Some(Shown::File(f)) => {
            file_view(
                ui,
                &f.report,
                &file_name(&f.path),
                &mut v.index,
                &mut v.tab,
                cx.now,
            );
            if let Some(c) = f
                .report
                .certificates
                .get(v.index)
                .or(f.report.certificates.first())
            {
                ui.add_space(8.0);
                use_certificate(ui, &mut v.usage, c, cx);
                ui.add_space(8.0);
                compare_card(ui, v, c, cx);
            }
        }
    }
}

/// The shown certificate beside another (a partner's old and new one at rotation): every
/// field, the changed ones marked with what the change means for Domain Security.
fn compare_card(ui: &mut Ui, v: &mut InspectorView, c: &CertificateReport, cx: &mut Cx) {
    widgets::card(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.label(
            RichText::new("Compare with another certificate")
                .strong()
                .size(15.5),
        );
        ui.label(
            RichText::new(
                "At a partner's rotation: open its new certificate here to see what changed.",
            )
            .color(muted()),
        );
        ui.horizontal(|ui| {
            let l = ui.label("Compare with");
            ui.add(
                egui::TextEdit::singleline(&mut v.compare_path)
                    .hint_text("/path/to/new-certificate.cer")
                    .desired_width(320.0),
            )
            .labelled_by(l.id);
            if ui
                .add_enabled(
                    !v.compare_path.trim().is_empty() && !cx.busy(FORM),
                    egui::Button::new("Compare"),
                )
                .clicked()
            {
                cx.push(Action::LoadFile {
                    target: FileTarget::InspectorCompare,
                    path: v.compare_path.trim().into(),
                    password: None,
                });
            }
        });
        let Some(other) = v
            .compare
            .as_ref()
            .and_then(|f| f.report.certificates.first())
        else {
            return;
        };
        let diffs = crate::pki::compare::compare(&c.info, &other.info);
        let changed = diffs.iter().filter(|d| d.changed).count();
        ui.add_space(4.0);
        ui.label(RichText::new(format!("{changed} of {} fields changed", diffs.len())).strong());
        egui::Grid::new("compare-grid")
            .num_columns(3)
            .striped(true)
            .spacing([16.0, 6.0])
            .show(ui, |ui| {
                ui.label(RichText::new("Field").strong());
                ui.label(RichText::new(format!("This one ({})", c.info.display_name())).strong());
                ui.label(
                    RichText::new(format!("The other ({})", other.info.display_name())).strong(),
                );
                ui.end_row();
                for d in &diffs {
                    let style = |t: &str| {
                        if d.changed {
                            RichText::new(t).color(warn()).strong()
                        } else {
                            RichText::new(t)
                        }
                    };
                    ui.label(style(d.field));
                    ui.add(egui::Label::new(style(&d.old)).wrap());
                    ui.vertical(|ui| {
                        ui.add(egui::Label::new(style(&d.new)).wrap());
                        if let Some(n) = &d.note {
                            ui.label(RichText::new(format!("⚠ {n}")).color(bad()).size(12.0));
                        }
                    });
                    ui.end_row();
                }
            });
    });
}

/// Trust, pin or anchor the certificate shown — buttons, not commands to copy.
fn use_certificate(ui: &mut Ui, u: &mut UseView, c: &CertificateReport, cx: &mut Cx) {
    use crate::config::{DirectTrustEntry, PartnerPin, Pin};
    use crate::ui::app::actions::SettingsChange;
    let info = &c.info;
    let pin = if u.key_pin {
        Pin::PublicKeySha256(info.public_key_sha256.clone())
    } else {
        Pin::Thumbprint(info.thumbprint.clone())
    };
    if u.name.is_empty() {
        u.name = info
            .common_names
            .last()
            .cloned()
            .unwrap_or_else(|| info.thumbprint.clone());
    }
    let busy = cx.busy(FORM);
    widgets::card(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.label(RichText::new("Use this certificate").strong().size(15.5));
        if info.is_ca {
            ui.horizontal(|ui| {
                let root = info.self_signed;
                if ui
                    .add_enabled(root && !busy, egui::Button::new("🛡 Trust this root"))
                    .on_hover_text("Certificates it issues are trusted for TLS and Domain Security")
                    .on_disabled_hover_text(
                        "Only a root (self-signed CA) is trusted; this CA is issued by another",
                    )
                    .clicked()
                {
                    cx.push(Action::TrustCertificate {
                        der: Arc::new(c.der.clone()),
                        form: FORM,
                    });
                }
                ui.label(
                    RichText::new(if root {
                        "a partner's root CA: its certificates become trusted for every domain"
                    } else {
                        "an intermediate CA: trust its root, or anchor a partner domain to it below"
                    })
                    .color(muted()),
                );
            });
        }
        ui.checkbox(
            &mut u.key_pin,
            "Pin the public key instead of the certificate (survives renewal with the same key)",
        );
        ui.horizontal(|ui| {
            let l = ui.label("Name");
            ui.add(egui::TextEdit::singleline(&mut u.name).desired_width(200.0))
                .labelled_by(l.id);
            if ui
                .add_enabled(
                    !busy && !u.name.trim().is_empty(),
                    egui::Button::new("🔗 Pin for Direct Trust"),
                )
                .on_hover_text("One of OUR own relays: it may relay anywhere and its marks pass")
                .clicked()
            {
                cx.push(Action::Change {
                    form: FORM,
                    change: SettingsChange::AddDirectTrust(DirectTrustEntry {
                        name: u.name.trim().to_string(),
                        pin: pin.clone(),
                    }),
                });
            }
        });
        ui.horizontal(|ui| {
            let l = ui.label("Partner domain(s)");
            ui.add(
                egui::TextEdit::singleline(&mut u.domains)
                    .hint_text("woodgrove.test")
                    .desired_width(200.0),
            )
            .labelled_by(l.id);
            let domains: Vec<String> = u
                .domains
                .split([',', ' '])
                .map(str::trim)
                .filter(|d| !d.is_empty())
                .map(str::to_string)
                .collect();
            let one = domains.len() == 1;
            if ui
                .add_enabled(
                    !busy && one,
                    egui::Button::new("⚓ Anchor for partner domain"),
                )
                .on_hover_text("Only a chain through this certificate (or key) authenticates the partner domain")
                .on_disabled_hover_text("Type one partner domain")
                .clicked()
            {
                cx.push(Action::Change {
                    form: FORM,
                    change: SettingsChange::AddPartnerAnchor {
                        domain: domains[0].clone(),
                        pin: pin.clone(),
                    },
                });
            }
            if ui
                .add_enabled(
                    !busy && !domains.is_empty() && !u.name.trim().is_empty(),
                    egui::Button::new("📌 Pin for a partner"),
                )
                .on_hover_text("A partner's own (self-signed or privately issued) certificate, for its domains only: it is authenticated as Partner, never as one of our servers")
                .on_disabled_hover_text("Type the partner's domain(s) and a name")
                .clicked()
            {
                cx.push(Action::Change {
                    form: FORM,
                    change: SettingsChange::AddPartnerPin(PartnerPin {
                        name: u.name.trim().to_string(),
                        domains,
                        pin: pin.clone(),
                    }),
                });
            }
        });
    });
}

/// The file name of a path, for headings.
pub fn file_name(p: &std::path::Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

/// A whole file: what it holds, a choice when it holds several certificates, then the report.
pub fn file_view(
    ui: &mut Ui,
    report: &FileReport,
    name: &str,
    index: &mut usize,
    tab: &mut Tab,
    now: time::OffsetDateTime,
) {
    let mut parts = Vec::new();
    if let Some(f) = report.format {
        parts.push(format!("{f}"));
    }
    parts.push(format!("{} certificate(s)", report.certificates.len()));
    if !report.requests.is_empty() {
        parts.push(format!("{} request(s)", report.requests.len()));
    }
    if report.private_keys > 0 {
        parts.push(format!("{} private key(s)", report.private_keys));
    }
    ui.label(RichText::new(format!("{name}: {}", parts.join(", "))).color(muted()));
    if let Some(r) = &report.completes_request {
        widgets::note(
            ui,
            good(),
            "✔",
            &format!(
                "Completes pending request {} ({}): importing it joins the certificate to the request's private key.",
                r.id, r.subject
            ),
        );
    }
    if report.certificates.len() > 1 {
        ui.horizontal_wrapped(|ui| {
            ui.label("Certificate:");
            for (i, c) in report.certificates.iter().enumerate() {
                ui.selectable_value(index, i, c.info.display_name());
            }
        });
    }
    ui.add_space(4.0);
    if let Some(c) = report
        .certificates
        .get(*index)
        .or(report.certificates.first())
    {
        report_view(ui, c, tab, now);
    }
    for r in &report.requests {
        request_view(ui, r);
    }
}

fn status_color(s: CertStatus) -> egui::Color32 {
    match s {
        CertStatus::Valid => good(),
        CertStatus::PendingRequest => warn(),
        _ => bad(),
    }
}

fn severity(s: Severity) -> (egui::Color32, &'static str) {
    match s {
        Severity::Problem => (bad(), "✖"),
        Severity::Warning => (warn(), "⚠"),
        Severity::Info => (info(), "ℹ"),
    }
}

/// One certificate, Windows style: General, Details, Certification path.
pub fn report_view(ui: &mut Ui, r: &CertificateReport, tab: &mut Tab, now: time::OffsetDateTime) {
    widgets::card(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.horizontal(|ui| {
            ui.label(RichText::new("📄").size(22.0));
            ui.vertical(|ui| {
                ui.label(RichText::new(r.info.display_name()).strong().size(16.0));
                ui.horizontal(|ui| {
                    widgets::pill(ui, &r.status.to_string(), status_color(r.status));
                    if r.info.is_ca {
                        widgets::pill(ui, "CA", info());
                    }
                    if r.info.self_signed {
                        widgets::pill(ui, "Self-signed", muted());
                    }
                });
            });
        });
        ui.add_space(6.0);
        super::tabs(
            ui,
            tab,
            &[
                (Tab::General, "General"),
                (Tab::Details, "Details"),
                (Tab::Path, "Certification path"),
            ],
        );
        match tab {
            Tab::General => certificate_general_tab(ui, r, now),
            Tab::Details => certificate_details_tab(ui, r),
            Tab::Path => certificate_path_tab(ui, r),
        }
    });
}

fn certificate_general_tab(ui: &mut Ui, r: &CertificateReport, now: time::OffsetDateTime) {
    let i = &r.info;
    ui.label(RichText::new("This certificate is intended for:").strong());
    widgets::check_line(
        ui,
        Mark::from_bool(i.server_auth),
        "Proves a server's identity (serverAuth)",
        "",
    );
    widgets::check_line(
        ui,
        Mark::from_bool(i.client_auth),
        "Proves a client's identity (clientAuth)",
        "",
    );
    ui.add_space(6.0);
    widgets::property_grid(
        ui,
        "cert-general",
        &[
            ("Issued to", i.subject.clone()),
            ("Issued by", i.issuer.clone()),
            ("Names", format::list(&i.names())),
            (
                "Valid",
                format!(
                    "{} to {} ({})",
                    format::date(i.not_before),
                    format::date(i.not_after),
                    format::days_left(i.not_after, now)
                ),
            ),
            ("Thumbprint", i.thumbprint.clone()),
            (
                "Private key",
                match r.has_private_key {
                    Some(true) => "You have a private key for this certificate".into(),
                    Some(false) => "No private key".into(),
                    None => "Not known (not in this server's store)".into(),
                },
            ),
        ],
    );
    ui.add_space(8.0);
    if r.findings.is_empty() {
        widgets::note(
            ui,
            good(),
            "✔",
            "No findings: this certificate is fit for its purpose.",
        );
    }
    for f in &r.findings {
        let (color, icon) = severity(f.severity);
        widgets::note(ui, color, icon, &crate::ui::app::jobs::sentence(&f.text));
        ui.add_space(3.0);
    }
}

fn certificate_details_tab(ui: &mut Ui, r: &CertificateReport) {
    let i = &r.info;
    let mut rows: Vec<(&str, String)> = vec![
        ("Version", format!("V{}", i.version)),
        ("Serial number", i.serial.clone()),
        ("Signature algorithm", i.signature_algorithm.clone()),
        ("Issuer", i.issuer.clone()),
        ("Valid from", format::date_time(i.not_before)),
        ("Valid to", format::date_time(i.not_after)),
        ("Subject", i.subject.clone()),
        ("Public key", i.key.clone()),
        (
            "Key usage",
            i.key_usage
                .as_ref()
                .map(|k| k.join(", "))
                .unwrap_or_else(|| "(not present)".into()),
        ),
        (
            "Enhanced key usage",
            i.extended_key_usage
                .as_ref()
                .map(|k| k.join(", "))
                .unwrap_or_else(|| "(not present)".into()),
        ),
        (
            "Subject alternative names (DNS)",
            format::list(&i.dns_names),
        ),
    ];
    if !i.ip_addresses.is_empty() {
        rows.push(("Subject alternative names (IP)", i.ip_addresses.join(", ")));
    }
    if !i.email_addresses.is_empty() {
        rows.push(("E-mail addresses", i.email_addresses.join(", ")));
    }
    rows.push((
        "Basic constraints",
        if i.is_ca {
            format!(
                "Subject type = CA, path length = {}",
                i.path_len
                    .map(|p| p.to_string())
                    .unwrap_or_else(|| "none".into())
            )
        } else {
            "Subject type = End entity".into()
        },
    ));
    if let Some(k) = &i.subject_key_id {
        rows.push(("Subject key identifier", k.clone()));
    }
    if let Some(k) = &i.authority_key_id {
        rows.push(("Authority key identifier", k.clone()));
    }
    rows.push(("Thumbprint (SHA-1)", i.thumbprint.clone()));
    rows.push(("Fingerprint (SHA-256)", i.sha256.clone()));
    rows.push(("Public key SHA-256 (pin)", i.public_key_sha256.clone()));
    if !i.other_extensions.is_empty() {
        rows.push(("Other extensions", i.other_extensions.join(", ")));
    }
    egui::ScrollArea::vertical()
        .id_salt("cert-details")
        .max_height(420.0)
        .show(ui, |ui| {
            widgets::property_grid(ui, "cert-details-grid", &rows)
        });
}

fn certificate_path_tab(ui: &mut Ui, r: &CertificateReport) {
    ui.label(RichText::new("Certification path").strong());
    ui.add_space(4.0);
    path_tree(ui, &r.nodes);
    ui.add_space(10.0);
    ui.label(RichText::new("Certificate status").strong());
    match &r.verdict {
        Some(ChainVerdict::Trusted { .. }) => {
            widgets::note(
                ui,
                good(),
                "✔",
                "This certificate is OK: its chain leads to a trusted root.",
            );
        }
        Some(ChainVerdict::Untrusted { reason, .. }) => {
            widgets::note(
                ui,
                bad(),
                "✖",
                &crate::ui::app::jobs::sentence(&format!("The chain does not validate: {reason}")),
            );
        }
        None if r.info.self_signed && r.info.is_ca => {
            widgets::note(
                ui,
                info(),
                "ℹ",
                "A root certificate: it is its own issuer. It is trusted only when it is among the trusted roots.",
            );
        }
        None => {
            widgets::note(
                ui,
                info(),
                "ℹ",
                "Self-signed: there is no chain to check. It is accepted only by a pin: Direct Trust between our own relays, a partner pin between organizations.",
            );
        }
    }
}

/// The path drawn as a tree, root at the top, each certificate with its status — the
/// Windows certificate dialog's Certification Path, with the reason on the node that breaks it.
pub fn path_tree(ui: &mut Ui, nodes: &[crate::pki::path::PathNode]) {
    use crate::pki::path::NodeStatus;
    let last = nodes.len().saturating_sub(1);
    for (depth, n) in nodes.iter().enumerate() {
        let (color, mark) = match &n.status {
            s if s.is_good() => (good(), "✔"),
            NodeStatus::Expired | NodeStatus::NotYetValid => (warn(), "⚠"),
            _ => (bad(), "✖"),
        };
        ui.horizontal(|ui| {
            ui.add_space(depth as f32 * 22.0);
            if depth > 0 {
                // The tree's elbow, drawn (no font has every box-drawing glyph).
                let (rect, _) =
                    ui.allocate_exact_size(egui::vec2(14.0, 18.0), egui::Sense::hover());
                let stroke = egui::Stroke::new(1.0, muted());
                let x = rect.left() + 4.0;
                ui.painter().line_segment(
                    [
                        egui::pos2(x, rect.top() - 6.0),
                        egui::pos2(x, rect.center().y),
                    ],
                    stroke,
                );
                ui.painter().line_segment(
                    [
                        egui::pos2(x, rect.center().y),
                        egui::pos2(rect.right(), rect.center().y),
                    ],
                    stroke,
                );
            }
            let icon = if depth == 0 && depth != last {
                "🛡"
            } else {
                "📄"
            };
            ui.label(RichText::new(icon).color(theme::accent()));
            ui.label(RichText::new(&n.name).strong())
                .on_hover_text(format!("{}\nThumbprint {}", n.subject, n.thumbprint));
            ui.label(RichText::new(format!("{mark} {}", n.status.words())).color(color));
        });
        if let Some(nc) = &n.name_constraints {
            ui.horizontal(|ui| {
                ui.add_space(depth as f32 * 22.0 + 40.0);
                ui.label(
                    RichText::new(format!("Name constraints: {nc}"))
                        .color(muted())
                        .size(12.0),
                );
            });
        }
    }
    if nodes.is_empty() {
        ui.label(RichText::new("The path could not be drawn.").color(muted()));
    }
}

fn request_view(ui: &mut Ui, r: &RequestInfo) {
    ui.add_space(8.0);
    widgets::card(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.label(
            RichText::new("Certificate request (PKCS#10)")
                .strong()
                .size(15.5),
        );
        widgets::property_grid(
            ui,
            "request-view",
            &[
                ("Subject", r.subject.clone()),
                ("Domains (SAN)", format::list(&r.dns_names)),
                ("Public key", r.key_description.clone()),
                ("Signature algorithm", r.signature_algorithm.clone()),
                ("Public key SHA-256", r.public_key_sha256.clone()),
            ],
        );
        widgets::check_line(
            ui,
            Mark::from_bool(r.signature_valid),
            "Signature",
            if r.signature_valid {
                "valid: the request was signed by its key"
            } else {
                "does not verify: the file was altered"
            },
        );
        widgets::check_line(
            ui,
            Mark::from_bool(r.requests_server_auth),
            "Requests serverAuth",
            "",
        );
        widgets::check_line(
            ui,
            Mark::from_bool(r.requests_client_auth),
            "Requests clientAuth",
            "",
        );
    });
}
