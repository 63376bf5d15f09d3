//! The console's look: a light theme with one accent colour, comfortable spacing, larger
//! headings, and the colours of statuses and security badges, used the same way on every page.

use egui::{Color32, CornerRadius, FontId, Stroke, TextStyle, Visuals};

/// Accent (selection, links, primary buttons).
pub const ACCENT: Color32 = Color32::from_rgb(0x1f, 0x5f, 0xbf);
/// Background of the navigation panel and the status bar.
pub const CHROME: Color32 = Color32::from_rgb(0xee, 0xf1, 0xf5);
/// Background of pages.
pub const PAGE: Color32 = Color32::from_rgb(0xfb, 0xfc, 0xfd);
/// Body text.
pub const TEXT: Color32 = Color32::from_rgb(0x1d, 0x23, 0x2b);
/// Secondary text.
pub const MUTED: Color32 = Color32::from_rgb(0x5f, 0x6b, 0x7a);
/// Lines between areas.
pub const LINE: Color32 = Color32::from_rgb(0xd5, 0xdb, 0xe3);

/// Statuses.
pub const GOOD: Color32 = Color32::from_rgb(0x1e, 0x8e, 0x3e);
pub const WARN: Color32 = Color32::from_rgb(0xc2, 0x6a, 0x00);
pub const BAD: Color32 = Color32::from_rgb(0xc6, 0x28, 0x28);
pub const INFO: Color32 = Color32::from_rgb(0x1f, 0x5f, 0xbf);

/// Security badges: Domain Secure green, Encrypted blue, Plaintext orange-red.
pub const DOMAIN_SECURE: Color32 = Color32::from_rgb(0x1e, 0x8e, 0x3e);
pub const ENCRYPTED: Color32 = Color32::from_rgb(0x1f, 0x6f, 0xd1);
pub const PLAINTEXT: Color32 = Color32::from_rgb(0xd8, 0x4a, 0x12);

/// Installs the theme on a context.
pub fn install(ctx: &egui::Context) {
    ctx.set_fonts(super::assets::fonts());
    ctx.set_theme(egui::Theme::Light);
    ctx.all_styles_mut(|style| {
        style.text_styles = [
            (TextStyle::Heading, FontId::proportional(21.0)),
            (TextStyle::Body, FontId::proportional(14.0)),
            (TextStyle::Monospace, FontId::monospace(12.5)),
            (TextStyle::Button, FontId::proportional(14.0)),
            (TextStyle::Small, FontId::proportional(11.5)),
        ]
        .into();
        let s = &mut style.spacing;
        s.item_spacing = egui::vec2(8.0, 6.0);
        s.button_padding = egui::vec2(10.0, 4.0);
        s.interact_size.y = 22.0;
        s.text_edit_width = 280.0;
        s.combo_width = 180.0;
        s.window_margin = egui::Margin::same(14);
        style.visuals = visuals();
    });
}

fn visuals() -> Visuals {
    let mut v = Visuals::light();
    v.override_text_color = Some(TEXT);
    v.panel_fill = PAGE;
    v.window_fill = Color32::WHITE;
    v.extreme_bg_color = Color32::WHITE;
    v.faint_bg_color = Color32::from_rgb(0xf3, 0xf5, 0xf8);
    v.code_bg_color = Color32::from_rgb(0xf1, 0xf3, 0xf6);
    v.hyperlink_color = ACCENT;
    v.selection.bg_fill = Color32::from_rgb(0xd3, 0xe3, 0xfa);
    // A selected row keeps the text colour: link-blue text reads as a link (issue 12).
    v.selection.stroke = Stroke::new(1.0, TEXT);
    v.window_corner_radius = CornerRadius::same(8);
    v.window_stroke = Stroke::new(1.0, LINE);
    v.warn_fg_color = WARN;
    v.error_fg_color = BAD;
    let r = CornerRadius::same(4);
    for w in [
        &mut v.widgets.noninteractive,
        &mut v.widgets.inactive,
        &mut v.widgets.hovered,
        &mut v.widgets.active,
        &mut v.widgets.open,
    ] {
        w.corner_radius = r;
    }
    v.widgets.noninteractive.bg_stroke = Stroke::new(1.0, LINE);
    // Inputs and buttons get a visible edge on white cards.
    v.widgets.inactive.bg_stroke = Stroke::new(1.0, Color32::from_rgb(0xc3, 0xcb, 0xd6));
    v.widgets.hovered.bg_stroke = Stroke::new(1.0, Color32::from_rgb(0x9f, 0xb0, 0xc6));
    v.text_edit_bg_color = Some(Color32::WHITE);
    v.widgets.inactive.weak_bg_fill = Color32::from_rgb(0xe8, 0xec, 0xf1);
    v.widgets.inactive.bg_fill = Color32::from_rgb(0xe8, 0xec, 0xf1);
    v.widgets.hovered.weak_bg_fill = Color32::from_rgb(0xdc, 0xe4, 0xee);
    v.widgets.hovered.bg_fill = Color32::from_rgb(0xdc, 0xe4, 0xee);
    v
}
