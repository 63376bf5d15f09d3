//! Pure, sans-I/O SMTP: addresses, envelopes, the security evidence of a hop, commands and
//! replies, DATA/BDAT framing, the server and client state machines, header handling and
//! delivery status notifications.

pub mod address;
pub mod client;
pub mod command;
pub mod data;
pub mod dsn;
pub mod dsn_request;
pub mod envelope;
pub mod evidence;
pub mod headers;
pub mod printable;
pub mod replies;
pub mod reply;
pub mod sasl;
pub mod server;
pub mod tlsrpt_mail;
pub mod trail;
