//! Pure, sans-I/O SMTP: addresses, envelopes, the security evidence of a hop, commands and
//! replies, DATA/BDAT framing, the server and client state machines, header handling and
//! delivery status notifications.

pub mod address;
pub mod envelope;
pub mod evidence;
