//! The queue, in one place. A message's path through it:
//!
//! 1. An inbound session (or a notice, or a release from the quarantine) hands it to
//!    [`QueueHandle::accept`] (`handle.rs`): fsynced into the spool, then queued in memory.
//! 2. The scheduler (`engine::delivery::scheduler`) asks the bookkeeping (`bookkeeping.rs`,
//!    pure) for due jobs — groups of recipients by next hop — and runs each
//!    (`engine::delivery::run_job`: local delivery or an outbound session).
//! 3. The job's outcomes go back to the bookkeeping (`QueueCore::complete`), and what changed
//!    is saved by [`persist::persist`]: states first, then each NDR or delay notice
//!    (`notices.rs`, queued again through step 1), then finished messages leave the spool.
//!
//! The administrator's operations (Queue Viewer, `mailflow queue`) are in `operations.rs`,
//! for the running relay and for a stopped one.

pub mod bookkeeping;
pub mod handle;
pub mod notices;
pub mod operations;
pub mod persist;

pub use bookkeeping::*;
pub use handle::QueueHandle;
