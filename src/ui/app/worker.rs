//! Background workers: a thread that owns some state (the workspace, the tracking database) and
//! runs the jobs the console gives it one after another, sending each result back over a
//! channel and calling the waker (`ctx.request_repaint`) so the console draws it. The UI thread
//! only ever sends jobs and polls results: it never waits for a worker. A job that panics is
//! reported as a failure; the worker carries on with the next one.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};

/// Asks the console for a new frame; callable from any thread.
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// A waker that does nothing (tests drive frames themselves).
#[cfg(test)]
pub fn no_waker() -> Waker {
    Arc::new(|| {})
}

type Task<S, O> = Box<dyn FnOnce(&mut S) -> O + Send>;

/// One worker thread with state `S`, producing results of type `O`.
pub struct Worker<S, O> {
    tx: Mutex<Option<Sender<Task<S, O>>>>,
    pending: Arc<AtomicUsize>,
}

impl<S: Send + 'static, O: Send + 'static> Worker<S, O> {
    /// Starts the thread. `results` receives every job's result; `on_panic` turns a job's panic
    /// message into a result.
    pub fn start(
        name: &str,
        mut state: S,
        results: Sender<O>,
        waker: Waker,
        on_panic: fn(String) -> O,
    ) -> Worker<S, O> {
        let (tx, rx) = mpsc::channel::<Task<S, O>>();
        let pending = Arc::new(AtomicUsize::new(0));
        let count = pending.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("mailflow-console-{name}"))
            .spawn(move || {
                while let Ok(task) = rx.recv() {
                    let out = match catch_unwind(AssertUnwindSafe(|| task(&mut state))) {
                        Ok(out) => out,
                        Err(p) => on_panic(panic_text(p.as_ref())),
                    };
                    count.fetch_sub(1, Ordering::SeqCst);
                    if results.send(out).is_err() {
                        break;
                    }
                    waker();
                }
            });
        Worker {
            tx: Mutex::new(spawned.ok().map(|_| tx)),
            pending,
        }
    }

    /// Queues a job; returns at once. Returns false when the worker is gone.
    pub fn submit(&self, job: impl FnOnce(&mut S) -> O + Send + 'static) -> bool {
        let guard = self.tx.lock().unwrap_or_else(|p| p.into_inner());
        let Some(tx) = guard.as_ref() else {
            return false;
        };
        self.pending.fetch_add(1, Ordering::SeqCst);
        if tx.send(Box::new(job)).is_err() {
            self.pending.fetch_sub(1, Ordering::SeqCst);
            return false;
        }
        true
    }

    /// Jobs queued or running.
    pub fn pending(&self) -> usize {
        self.pending.load(Ordering::SeqCst)
    }
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "an internal error occurred".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn jobs_run_in_order_off_the_calling_thread_and_panics_are_reported() {
        let (tx, rx) = mpsc::channel::<String>();
        let w: Worker<Vec<u32>, String> = Worker::start("test", Vec::new(), tx, no_waker(), |p| {
            format!("panic: {p}")
        });
        let caller = std::thread::current().id();
        let t0 = Instant::now();
        // The first job takes 2 s: a submit that waited for it would take that long (the
        // bound below leaves a loaded machine room).
        w.submit(move |v| {
            std::thread::sleep(Duration::from_secs(2));
            v.push(1);
            format!("{}", std::thread::current().id() != caller)
        });
        w.submit(|_| panic!("boom"));
        w.submit(|v| format!("{v:?}"));
        assert!(t0.elapsed() < Duration::from_millis(1500), "submit waited");
        let got: Vec<String> = (0..3)
            .map(|_| rx.recv_timeout(Duration::from_secs(30)).expect("result"))
            .collect();
        assert_eq!(got, vec!["true", "panic: boom", "[1]"]);
        assert_eq!(w.pending(), 0);
    }
}
