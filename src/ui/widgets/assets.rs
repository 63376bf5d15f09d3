//! What the console takes from the repository's `assets/` folder, embedded in the binary with
//! `include_bytes!` (nothing is read from disk at run time): its fonts — the text face, the
//! monospace face for hashes, commands and transcripts, and the icon fonts — and the
//! application icon shown in the title bar and the task switcher.

use egui::{FontDefinitions, FontTweak};
use std::sync::Arc;

/// The fonts, by the names egui's font families use.
const FONTS: [(&str, &[u8]); 5] = [
    (
        "Ubuntu-Light",
        include_bytes!("../../../assets/fonts/Ubuntu-Light.ttf"),
    ),
    (
        "Hack",
        include_bytes!("../../../assets/fonts/Hack-Regular.ttf"),
    ),
    (
        "NotoEmoji-Regular",
        include_bytes!("../../../assets/fonts/NotoEmoji-Regular.ttf"),
    ),
    (
        "emoji-icon-font",
        include_bytes!("../../../assets/fonts/emoji-icon-font.ttf"),
    ),
    (
        "egui-icons",
        include_bytes!("../../../assets/fonts/egui-icons.ttf"),
    ),
];

/// The application icon (256 px PNG).
pub const ICON_PNG: &[u8] = include_bytes!("../../../assets/icons/mailflow-256.png");

/// egui's font families with our font files: each face keeps egui's size tweak (the emoji
/// fonts are scaled to sit on the text's line), its bytes are ours.
pub fn fonts() -> FontDefinitions {
    let mut defs = FontDefinitions::default();
    for (name, bytes) in FONTS {
        let tweak = defs
            .font_data
            .get(name)
            .map(|d| d.tweak.clone())
            .unwrap_or_else(FontTweak::default);
        let mut data = egui::FontData::from_static(bytes);
        data.tweak = tweak;
        defs.font_data.insert(name.to_string(), Arc::new(data));
    }
    defs
}

/// The window icon, decoded from [`ICON_PNG`]; `None` (egui's default icon) if it cannot be.
pub fn icon() -> Option<egui::IconData> {
    eframe::icon_data::from_png_bytes(ICON_PNG).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every family the console draws with is made of our files only.
    #[test]
    fn the_fonts_are_ours() {
        let defs = fonts();
        for (name, bytes) in FONTS {
            let data = defs.font_data.get(name).expect("installed");
            assert_eq!((*data.font).as_ref(), bytes, "{name}");
        }
        for family in defs.families.values() {
            for name in family {
                assert!(
                    FONTS.iter().any(|(n, _)| n == name),
                    "{name} is not from assets/fonts"
                );
            }
        }
    }

    #[test]
    fn the_icon_is_a_256_pixel_png() {
        let icon = icon().expect("decodes");
        assert_eq!((icon.width, icon.height), (256, 256));
        assert_eq!(icon.rgba.len(), 256 * 256 * 4);
    }
}
