//! The settings model (`model`), its text form (`format`), the rules it must obey (`validate`)
//! and the defaults a new organization starts with (`defaults`). Pure: no I/O, no clock.

pub mod connector;
pub mod defaults;
pub mod domain;
pub mod format;
pub mod model;
pub mod net;
pub mod units;
pub mod validate;

pub use connector::{Connector, ConnectorType};
pub use model::*;
pub use validate::{CheckedSettings, Problem, Problems, validate};
