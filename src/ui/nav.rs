//! The navigation tree: Organization, Server and Toolbox, as the Exchange Management Console
//! groups them.

/// A page of the console.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Page {
    TransportSettings,
    SendConnectors,
    AcceptedDomains,
    ReceiveConnectors,
    Certificates,
    TrustedRoots,
    DirectTrust,
    MessageTracking,
    QueueViewer,
    LiveMonitor,
    CertificateInspector,
    ConnectivityProbe,
}

/// A group of pages in the navigation tree.
pub struct Section {
    pub title: &'static str,
    pub pages: &'static [Page],
}

pub const SECTIONS: &[Section] = &[
    Section {
        title: "Organization",
        pages: &[
            Page::TransportSettings,
            Page::SendConnectors,
            Page::AcceptedDomains,
        ],
    },
    Section {
        title: "Server",
        pages: &[
            Page::ReceiveConnectors,
            Page::Certificates,
            Page::TrustedRoots,
            Page::DirectTrust,
        ],
    },
    Section {
        title: "Toolbox",
        pages: &[
            Page::MessageTracking,
            Page::QueueViewer,
            Page::LiveMonitor,
            Page::CertificateInspector,
            Page::ConnectivityProbe,
        ],
    },
];

impl Page {
    pub fn title(self) -> &'static str {
        match self {
            Page::TransportSettings => "Transport settings",
            Page::SendConnectors => "Send connectors",
            Page::AcceptedDomains => "Accepted domains",
            Page::ReceiveConnectors => "Receive connectors",
            Page::Certificates => "Certificates",
            Page::TrustedRoots => "Trusted roots",
            Page::DirectTrust => "Direct trust",
            Page::MessageTracking => "Message tracking",
            Page::QueueViewer => "Queue viewer",
            Page::LiveMonitor => "Live monitor",
            Page::CertificateInspector => "Certificate inspector",
            Page::ConnectivityProbe => "Connectivity probe",
        }
    }

    pub fn all() -> impl Iterator<Item = Page> {
        SECTIONS.iter().flat_map(|s| s.pages.iter().copied())
    }
}
