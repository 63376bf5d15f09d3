//! The console's look: a light and a dark theme (following the desktop's, switchable in the
//! status bar) with one accent colour, comfortable spacing, larger headings, and the colours of
//! statuses and security badges, used the same way on every page. Every colour is a function
//! that answers for the theme of the frame being drawn ([`follow`]).

use egui::{Color32, CornerRadius, FontId, Stroke, TextStyle, Theme, Visuals};
use std::cell::Cell;

/// One colour in both themes.
struct Pair {
    light: Color32,
    dark: Color32,
}

const fn pair(light: (u8, u8, u8), dark: (u8, u8, u8)) -> Pair {
    Pair {
        light: Color32::from_rgb(light.0, light.1, light.2),
        dark: Color32::from_rgb(dark.0, dark.1, dark.2),
    }
}

thread_local! {
    /// Whether the frame being drawn on this thread is dark (set by [`follow`] each frame).
    static DARK: Cell<bool> = const { Cell::new(false) };
}

/// Makes the colours below follow the context's theme (called at the start of each frame).
pub fn follow(ctx: &egui::Context) {
    DARK.with(|d| d.set(ctx.theme() == Theme::Dark));
}

/// Whether the console is drawn dark.
pub fn is_dark() -> bool {
    DARK.with(Cell::get)
}

fn pick(p: &Pair) -> Color32 {
    if is_dark() { p.dark } else { p.light }
}

const ACCENT: Pair = pair((0x1f, 0x5f, 0xbf), (0x4f, 0x8f, 0xea));
const CHROME: Pair = pair((0xee, 0xf1, 0xf5), (0x23, 0x27, 0x2e));
const PAGE: Pair = pair((0xfb, 0xfc, 0xfd), (0x1a, 0x1d, 0x22));
const CARD: Pair = pair((0xff, 0xff, 0xff), (0x24, 0x28, 0x2f));
const TEXT: Pair = pair((0x1d, 0x23, 0x2b), (0xe4, 0xe8, 0xee));
const MUTED: Pair = pair((0x5f, 0x6b, 0x7a), (0x9c, 0xa7, 0xb5));
const LINE: Pair = pair((0xd5, 0xdb, 0xe3), (0x3a, 0x41, 0x4b));
const BUTTON: Pair = pair((0xe8, 0xec, 0xf1), (0x31, 0x37, 0x40));
const GOOD: Pair = pair((0x1e, 0x8e, 0x3e), (0x4c, 0xc4, 0x6a));
const WARN: Pair = pair((0xc2, 0x6a, 0x00), (0xf0, 0xa3, 0x3a));
const BAD: Pair = pair((0xc6, 0x28, 0x28), (0xf2, 0x6b, 0x6b));
const INFO: Pair = pair((0x1f, 0x5f, 0xbf), (0x62, 0x9f, 0xf5));
const ENCRYPTED: Pair = pair((0x1f, 0x6f, 0xd1), (0x62, 0x9f, 0xf5));
const PLAINTEXT: Pair = pair((0xd8, 0x4a, 0x12), (0xff, 0x80, 0x4a));

/// Accent (selection, links, primary buttons).
pub fn accent() -> Color32 {
    pick(&ACCENT)
}
/// Background of the navigation panel and the status bar.
pub fn chrome() -> Color32 {
    pick(&CHROME)
}
/// Background of pages.
pub fn page() -> Color32 {
    pick(&PAGE)
}
/// Background of cards and side panels.
pub fn card_fill() -> Color32 {
    pick(&CARD)
}
/// Body text.
pub fn text() -> Color32 {
    pick(&TEXT)
}
/// Secondary text.
pub fn muted() -> Color32 {
    pick(&MUTED)
}
/// Lines between areas.
pub fn line() -> Color32 {
    pick(&LINE)
}
/// Fill of secondary buttons.
pub fn button_fill() -> Color32 {
    pick(&BUTTON)
}
/// Statuses.
pub fn good() -> Color32 {
    pick(&GOOD)
}
pub fn warn() -> Color32 {
    pick(&WARN)
}
pub fn bad() -> Color32 {
    pick(&BAD)
}
pub fn info() -> Color32 {
    pick(&INFO)
}
/// Security badges: Domain Secure green, Encrypted blue, Plaintext orange-red.
pub fn domain_secure() -> Color32 {
    pick(&GOOD)
}
pub fn encrypted() -> Color32 {
    pick(&ENCRYPTED)
}
pub fn plaintext() -> Color32 {
    pick(&PLAINTEXT)
}

/// Installs the theme on a context.
pub fn install(ctx: &egui::Context) {
    ctx.set_fonts(super::assets::fonts());
    ctx.set_theme(egui::ThemePreference::System);
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
    });
    ctx.style_mut_of(Theme::Light, |style| style.visuals = visuals(false));
    ctx.style_mut_of(Theme::Dark, |style| style.visuals = visuals(true));
}

fn visuals(dark: bool) -> Visuals {
    let c = |p: &Pair| if dark { p.dark } else { p.light };
    let rgb = |light: (u8, u8, u8), dark_rgb: (u8, u8, u8)| {
        let (r, g, b) = if dark { dark_rgb } else { light };
        Color32::from_rgb(r, g, b)
    };
    let mut v = if dark {
        Visuals::dark()
    } else {
        Visuals::light()
    };
    v.override_text_color = Some(c(&TEXT));
    v.panel_fill = c(&PAGE);
    v.window_fill = c(&CARD);
    v.extreme_bg_color = rgb((0xff, 0xff, 0xff), (0x15, 0x18, 0x1c));
    v.faint_bg_color = rgb((0xf3, 0xf5, 0xf8), (0x2a, 0x2f, 0x37));
    v.code_bg_color = rgb((0xf1, 0xf3, 0xf6), (0x15, 0x18, 0x1c));
    v.hyperlink_color = c(&ACCENT);
    v.selection.bg_fill = rgb((0xd3, 0xe3, 0xfa), (0x27, 0x45, 0x72));
    // A selected row keeps the text colour: link-blue text reads as a link (issue 12).
    v.selection.stroke = Stroke::new(1.0, c(&TEXT));
    v.window_corner_radius = CornerRadius::same(8);
    v.window_stroke = Stroke::new(1.0, c(&LINE));
    v.warn_fg_color = c(&WARN);
    v.error_fg_color = c(&BAD);
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
    v.widgets.noninteractive.bg_stroke = Stroke::new(1.0, c(&LINE));
    // Inputs and buttons get a visible edge on the cards.
    v.widgets.inactive.bg_stroke = Stroke::new(1.0, rgb((0xc3, 0xcb, 0xd6), (0x4a, 0x52, 0x5e)));
    v.widgets.hovered.bg_stroke = Stroke::new(1.0, rgb((0x9f, 0xb0, 0xc6), (0x6a, 0x78, 0x8a)));
    v.text_edit_bg_color = Some(rgb((0xff, 0xff, 0xff), (0x15, 0x18, 0x1c)));
    v.widgets.inactive.weak_bg_fill = c(&BUTTON);
    v.widgets.inactive.bg_fill = c(&BUTTON);
    let hovered = rgb((0xdc, 0xe4, 0xee), (0x3c, 0x44, 0x4f));
    v.widgets.hovered.weak_bg_fill = hovered;
    v.widgets.hovered.bg_fill = hovered;
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The console starts in the desktop's theme, and both themes are styled: the dark one
    /// is dark, the light one light.
    #[test]
    fn the_desktops_theme_is_followed_and_both_are_styled() {
        let ctx = egui::Context::default();
        install(&ctx);
        assert_eq!(
            ctx.options(|o| o.theme_preference),
            egui::ThemePreference::System
        );
        assert!(ctx.style_of(Theme::Dark).visuals.dark_mode);
        assert!(!ctx.style_of(Theme::Light).visuals.dark_mode);
        assert_eq!(
            ctx.style_of(Theme::Dark).visuals.panel_fill,
            PAGE.dark,
            "our dark page colour"
        );
        ctx.set_theme(Theme::Dark);
        follow(&ctx);
        assert_eq!(muted(), MUTED.dark);
        ctx.set_theme(Theme::Light);
        follow(&ctx);
        assert_eq!(muted(), MUTED.light);
    }
}
