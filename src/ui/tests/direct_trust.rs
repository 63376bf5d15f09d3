//! The Direct trust page: each kind of pin says what it grants where it is added, and a
//! partner pin added in the console is bound to the partner's domains (through the same admin
//! operation as `mailflow partner pin`).

use super::*;
use crate::config::Pin;
use crate::ui::pages::direct_trust::{PARTNER_PIN_MEANS, RELAY_PIN_MEANS};
use crate::ui::widgets::nav::Page;
use egui_kittest::kittest::Queryable;

#[test]
fn a_partner_pin_is_added_for_its_domains_and_each_pin_says_what_it_grants() {
    let (_tmp, ws) = fixture();
    let mut app = console(ws);
    app.page = Page::DirectTrust;
    let mut h = harness(app);
    settle(&mut h);
    for text in [RELAY_PIN_MEANS, PARTNER_PIN_MEANS] {
        assert!(h.query_all_by_label(text).next().is_some(), "{text}");
    }
    assert!(
        h.query_all_by_label("No partner is pinned by its own certificate.")
            .next()
            .is_some()
    );
    let tp = "0A".repeat(20);
    {
        let v = &mut h.state_mut().views.direct;
        v.partner = "Fabrikam".into();
        v.partner_domains = "fabrikam.test, Fabrikam.Example".into();
        v.partner_pin = tp.clone();
    }
    h.step();
    h.get_by_label("Pin this partner").click();
    h.step();
    settle(&mut h);
    let pins = h.state().data.settings.partner_pins.clone();
    assert_eq!(pins.len(), 1, "{pins:?}");
    assert_eq!(pins[0].name, "Fabrikam");
    assert_eq!(pins[0].domains, ["fabrikam.test", "fabrikam.example"]);
    assert_eq!(pins[0].pin, Pin::Thumbprint(tp));
    assert!(
        h.query_all_by_label("fabrikam.test, fabrikam.example")
            .next()
            .is_some(),
        "listed with its domains"
    );
    assert!(h.state().views.direct.partner.is_empty(), "form cleared");
    assert!(
        h.state()
            .data
            .settings
            .direct_trust
            .iter()
            .all(|e| e.name != "Fabrikam")
    );
}
