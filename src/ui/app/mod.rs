//! The console application and the machinery behind it: the frame ([`ConsoleApp`]) that draws a
//! page each frame and applies what the pages ask for ([`actions`]), the background workers
//! ([`worker`]) and the jobs they run ([`jobs`], settings [`changes`]), the file dialogs
//! ([`dialogs`]), and what each form says back while its request is in flight ([`feedback`]).

pub mod actions;
pub mod changes;
pub mod dialogs;
pub mod feedback;
mod frame;
pub mod jobs;
pub mod worker;

pub use frame::ConsoleApp;
