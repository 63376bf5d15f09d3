//! Pure decisions: routing (address spaces → connector, MX hosts), who may send what through a receive
//! connector, inbound Domain Security at MAIL FROM, outbound TLS requirements and DANE, the
//! header firewall, and message security status. No I/O, no clock.

pub mod classify;
pub mod dane;
pub mod header_firewall;
pub mod inbound;
pub mod mta_sts;
pub mod mx;
pub mod outbound;
pub mod refusal;
pub mod revocation;
pub mod routing;
pub mod submission;
pub mod tls_rpt;
pub mod trust;
