//! The navigation tree: Organization, Server and Toolbox, as the Exchange Management Console
//! groups them.

/// A page of the console.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Page {
    Partners,
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
    TlsReports,
    ProtocolLogs,
    CertificateInspector,
    ConnectivityProbe,
    TestMessage,
    WhatIf,
}

/// A group of pages in the navigation tree.
pub struct Section {
    pub title: &'static str,
    pub icon: &'static str,
    pub pages: &'static [Page],
}

pub const SECTIONS: &[Section] = &[
    Section {
        title: "Organization",
        icon: "🏢",
        pages: &[
            Page::Partners,
            Page::TransportSettings,
            Page::SendConnectors,
            Page::AcceptedDomains,
        ],
    },
    Section {
        title: "Server",
        icon: "🖥",
        pages: &[
            Page::ReceiveConnectors,
            Page::Certificates,
            Page::TrustedRoots,
            Page::DirectTrust,
        ],
    },
    Section {
        title: "Toolbox",
        icon: "🔧",
        pages: &[
            Page::MessageTracking,
            Page::QueueViewer,
            Page::LiveMonitor,
            Page::ProtocolLogs,
            Page::TlsReports,
            Page::CertificateInspector,
            Page::ConnectivityProbe,
            Page::TestMessage,
            Page::WhatIf,
        ],
    },
];

impl Page {
    pub fn title(self) -> &'static str {
        match self {
            Page::Partners => "Partners",
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
            Page::TlsReports => "TLS reports",
            Page::ProtocolLogs => "Protocol logs",
            Page::CertificateInspector => "Certificate inspector",
            Page::ConnectivityProbe => "Connectivity probe",
            Page::TestMessage => "Send test message",
            Page::WhatIf => "What if",
        }
    }

    /// A small icon for the navigation tree.
    pub fn icon(self) -> &'static str {
        match self {
            Page::Partners => "👥",
            Page::TransportSettings => "⚙",
            Page::SendConnectors => "⬆",
            Page::AcceptedDomains => "✉",
            Page::ReceiveConnectors => "⬇",
            Page::Certificates => "🔑",
            Page::TrustedRoots => "🛡",
            Page::DirectTrust => "🔗",
            Page::MessageTracking => "🔍",
            Page::QueueViewer => "📬",
            Page::LiveMonitor => "📊",
            Page::TlsReports => "📈",
            Page::ProtocolLogs => "📃",
            Page::CertificateInspector => "📄",
            Page::ConnectivityProbe => "📡",
            Page::TestMessage => "📨",
            Page::WhatIf => "❓",
        }
    }

    /// A file-name-friendly name (screenshots).
    pub fn slug(self) -> &'static str {
        match self {
            Page::Partners => "partners",
            Page::TransportSettings => "transport-settings",
            Page::SendConnectors => "send-connectors",
            Page::AcceptedDomains => "accepted-domains",
            Page::ReceiveConnectors => "receive-connectors",
            Page::Certificates => "certificates",
            Page::TrustedRoots => "trusted-roots",
            Page::DirectTrust => "direct-trust",
            Page::MessageTracking => "message-tracking",
            Page::QueueViewer => "queue-viewer",
            Page::LiveMonitor => "live-monitor",
            Page::TlsReports => "tls-reports",
            Page::ProtocolLogs => "protocol-logs",
            Page::CertificateInspector => "certificate-inspector",
            Page::ConnectivityProbe => "connectivity-probe",
            Page::TestMessage => "test-message",
            Page::WhatIf => "what-if",
        }
    }

    pub fn all() -> impl Iterator<Item = Page> {
        SECTIONS.iter().flat_map(|s| s.pages.iter().copied())
    }
}
