//! What the console holds between frames and what it talks to: the persisted state as last
//! loaded ([`model`]), the relay's live state ([`live`]) and the link to the relay itself
//! ([`relay`]), the link to the engine's Connectivity probe ([`probe`]), message tracking
//! results ([`tracking_data`]), and the clock that says what "now" is ([`clock`]). Nothing here
//! draws.

pub mod clock;
pub mod live;
pub mod model;
pub mod probe;
pub mod relay;
pub mod sessions;
pub mod tls_reports;
pub mod tracking_data;
