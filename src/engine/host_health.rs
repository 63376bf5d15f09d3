//! Per-host retry state (as Postfix keeps its "host not responding" cache): a next hop that
//! failed before any transaction is counted as down until the transport's connection-failure
//! retry interval has passed, and is tried after the others until then — never skipped, so a
//! domain whose hosts are all down still gets every chance. A host that takes mail is up again.

use super::outbound::NextHop;
use std::collections::HashMap;
use std::sync::Mutex;

/// The hosts counted as down, by the address connected to, with when they count as up again
/// (milliseconds since the epoch).
#[derive(Default)]
pub struct HostHealth {
    down: Mutex<HashMap<String, i64>>,
}

impl HostHealth {
    /// `connect` failed before any transaction: down until `until_ms`.
    pub fn mark_down(&self, connect: &str, until_ms: i64) {
        self.lock().insert(connect.to_string(), until_ms);
    }

    /// `connect` took mail.
    pub fn mark_up(&self, connect: &str) {
        self.lock().remove(connect);
    }

    /// Whether `connect` counts as down at `now_ms`.
    pub fn is_down(&self, connect: &str, now_ms: i64) -> bool {
        self.lock()
            .get(connect)
            .is_some_and(|until| *until > now_ms)
    }

    /// `hosts` in the order to try them at `now_ms`: those up first, then those down, each in
    /// their own order (MX preference stays the rule among equals).
    pub(crate) fn order(&self, hosts: Vec<NextHop>, now_ms: i64) -> Vec<NextHop> {
        let (up, down): (Vec<NextHop>, Vec<NextHop>) = hosts
            .into_iter()
            .partition(|h| !self.is_down(&h.connect, now_ms));
        up.into_iter().chain(down).collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, i64>> {
        self.down.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::net::SmartHost;

    fn hop(name: &str) -> NextHop {
        NextHop::smart_host(&SmartHost::parse(name, 25).unwrap())
    }

    #[test]
    fn a_host_that_failed_goes_last_until_its_time_is_up() {
        let health = HostHealth::default();
        let hosts = || vec![hop("mx1.test"), hop("mx2.test"), hop("mx3.test")];
        let names = |h: Vec<NextHop>| h.into_iter().map(|h| h.name).collect::<Vec<_>>();
        health.mark_down("mx1.test:25", 1_000);
        assert_eq!(
            names(health.order(hosts(), 500)),
            ["mx2.test", "mx3.test", "mx1.test"]
        );
        assert_eq!(
            names(health.order(hosts(), 1_000)),
            ["mx1.test", "mx2.test", "mx3.test"],
            "its time is up"
        );
        health.mark_down("mx2.test:25", 2_000);
        health.mark_up("mx2.test:25");
        assert_eq!(
            names(health.order(hosts(), 1_500)),
            ["mx1.test", "mx2.test", "mx3.test"]
        );
    }
}
