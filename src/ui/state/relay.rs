//! The console's view of the relay: a small trait over [`EngineHandle`] so that the console can
//! run with the real engine, with none (it could not start: the reason is shown), or in tests
//! with a stand-in that stalls on purpose. Every method returns at once: the snapshot is a
//! copy, events and queue answers arrive through channels the console polls each frame.

use crate::admin::Workspace;
use crate::engine::monitor::Snapshot;
use crate::engine::test_message::{TestMessage, TestReport};
use crate::engine::{EngineEvent, EngineHandle, QueueOp, QueueReply};
use std::sync::mpsc::Receiver;

/// What the console needs from a running relay. None of these may block.
pub trait Relay {
    /// The live state (a copy).
    fn snapshot(&self) -> Snapshot;
    /// Events since the last call.
    fn poll_events(&self) -> Vec<EngineEvent>;
    /// New settings for new sessions.
    fn apply(&self, workspace: Workspace);
    /// Starts a queue operation; the answer arrives on the receiver.
    fn queue_op(&self, op: QueueOp) -> Receiver<QueueReply>;
    /// Sends a test message; the report arrives on the receiver.
    fn send_test_message(&self, request: TestMessage) -> Receiver<Result<TestReport, String>>;
}

impl Relay for EngineHandle {
    fn snapshot(&self) -> Snapshot {
        EngineHandle::snapshot(self)
    }
    fn poll_events(&self) -> Vec<EngineEvent> {
        EngineHandle::poll_events(self)
    }
    fn apply(&self, workspace: Workspace) {
        EngineHandle::apply(self, workspace)
    }
    fn queue_op(&self, op: QueueOp) -> Receiver<QueueReply> {
        EngineHandle::queue_op(self, op)
    }
    fn send_test_message(&self, request: TestMessage) -> Receiver<Result<TestReport, String>> {
        EngineHandle::send_test_message(self, request)
    }
}

/// The relay as the console has it.
pub enum RelayState {
    /// Running; the console reads its snapshot and sends it new settings.
    Running(Box<dyn Relay>),
    /// Not running, with the reason in plain words (another relay holds the data directory,
    /// the settings could not be loaded, ...).
    Unavailable(String),
}

impl RelayState {
    pub fn relay(&self) -> Option<&dyn Relay> {
        match self {
            RelayState::Running(r) => Some(r.as_ref()),
            RelayState::Unavailable(_) => None,
        }
    }

    pub fn reason(&self) -> Option<&str> {
        match self {
            RelayState::Running(_) => None,
            RelayState::Unavailable(r) => Some(r),
        }
    }
}
