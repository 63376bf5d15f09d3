//! What a receive and a send connector have in common, for the code that handles either kind
//! the same way (the console's connector page, the command line's connector commands): the
//! kind's word, where its connectors are in the settings, the name, the enabled flag and the
//! Domain Security switch.

use super::model::{ReceiveConnector, SendConnector, Settings};
use std::fmt::Debug;

/// Which of the two kinds of connector an operation is about, where the caller picks it at run
/// time (a console action, a command-line subcommand).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectorType {
    Receive,
    Send,
}

impl ConnectorType {
    /// "receive" or "send", as the command line and the console say it.
    pub fn word(self) -> &'static str {
        match self {
            ConnectorType::Receive => ReceiveConnector::KIND,
            ConnectorType::Send => SendConnector::KIND,
        }
    }
}

/// A receive or a send connector.
pub trait Connector: Clone + Debug + Default + PartialEq + 'static {
    /// "receive" or "send", as the command line and the console say it.
    const KIND: &'static str;
    /// Which kind this is.
    const TYPE: ConnectorType;
    /// The connectors of this kind in `settings`.
    fn all(settings: &Settings) -> &[Self];
    /// The connectors of this kind in `settings`, to change.
    fn all_mut(settings: &mut Settings) -> &mut Vec<Self>;
    /// The connector of this kind named `name`; names compare regardless of case.
    fn named<'s>(settings: &'s Settings, name: &str) -> Option<&'s Self> {
        Self::all(settings)
            .iter()
            .find(|c| c.name().eq_ignore_ascii_case(name))
    }
    fn name(&self) -> &str;
    fn name_mut(&mut self) -> &mut String;
    fn enabled(&self) -> bool;
    fn domain_secure(&self) -> bool;
    fn domain_secure_mut(&mut self) -> &mut bool;
}

macro_rules! connector {
    ($type:ty, $variant:ident, $kind:literal, $list:ident) => {
        impl Connector for $type {
            const KIND: &'static str = $kind;
            const TYPE: ConnectorType = ConnectorType::$variant;
            fn all(settings: &Settings) -> &[Self] {
                &settings.$list
            }
            fn all_mut(settings: &mut Settings) -> &mut Vec<Self> {
                &mut settings.$list
            }
            fn name(&self) -> &str {
                &self.name
            }
            fn name_mut(&mut self) -> &mut String {
                &mut self.name
            }
            fn enabled(&self) -> bool {
                self.enabled
            }
            fn domain_secure(&self) -> bool {
                self.domain_secure_enabled
            }
            fn domain_secure_mut(&mut self) -> &mut bool {
                &mut self.domain_secure_enabled
            }
        }
    };
}

connector!(ReceiveConnector, Receive, "receive", receive_connectors);
connector!(SendConnector, Send, "send", send_connectors);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_kinds_are_found_by_name_regardless_of_case() {
        let s = Settings::initial("Contoso", "mail.contoso.test", "contoso.test");
        let receive = &s.receive_connectors[0].name;
        let send = &s.send_connectors[0].name;
        assert_eq!(
            ReceiveConnector::named(&s, &receive.to_uppercase()).map(|c| c.name()),
            Some(receive.as_str())
        );
        assert_eq!(
            SendConnector::named(&s, &send.to_lowercase()).map(|c| c.name()),
            Some(send.as_str())
        );
        assert!(ReceiveConnector::named(&s, send).is_none() || receive == send);
        assert_eq!(
            (ReceiveConnector::KIND, SendConnector::KIND),
            ("receive", "send")
        );
        assert_eq!(ConnectorType::Receive.word(), "receive");
        assert_eq!(SendConnector::TYPE, ConnectorType::Send);
    }
}
