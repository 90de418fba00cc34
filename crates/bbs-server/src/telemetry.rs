//! Prometheus metrics: sessions open per door, commands by name with their
//! latency, pushes delivered. Recorded through the `metrics` crate's
//! global recorder (installed once per process) and rendered by the web
//! door's `/metrics` route; nothing listens on a port of its own.
//!
//! The recorder is per process: several servers in one process (tests)
//! share the counters, so a test looks at how they move, not at their
//! values.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use metrics::{Counter, Histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Seconds: the bounds of the command latency histogram's buckets.
const LATENCY_BUCKETS: &[f64] =
    &[0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];

/// Which door a session came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Door {
    /// TCP: telnet, nc, or the `bbs` client.
    Tcp,
    Ssh,
    /// The browser terminal's WebSocket.
    Web,
    /// The full-screen telnet door.
    Telnet,
}

impl Door {
    pub fn label(self) -> &'static str {
        match self {
            Door::Tcp => "tcp",
            Door::Ssh => "ssh",
            Door::Web => "web",
            Door::Telnet => "telnet",
        }
    }
}

/// The process's metrics, installing the recorder on first use.
pub(crate) fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full("bbs_command_seconds".into()), LATENCY_BUCKETS)
            .expect("histogram buckets are not empty")
            .build_recorder();
        let handle = recorder.handle();
        // Something else in the process may have installed a recorder
        // already; then these metrics stay empty rather than failing.
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics shows nothing");
        }
        handle
    })
}

/// Counts one session open on `door` until dropped.
pub(crate) struct OpenSession(Door);

pub(crate) fn session_opened(door: Door) -> OpenSession {
    handle();
    metrics::gauge!("bbs_sessions", "door" => door.label()).increment(1.0);
    metrics::counter!("bbs_sessions_opened_total", "door" => door.label()).increment(1);
    OpenSession(door)
}

impl Drop for OpenSession {
    fn drop(&mut self) {
        metrics::gauge!("bbs_sessions", "door" => self.0.label()).decrement(1.0);
    }
}

/// One command carried out, and how long it took.
pub(crate) fn command_done(name: &'static str, took: Duration) {
    thread_local! {
        /// Each command's counter and histogram, looked up in the recorder
        /// once per thread: the lookup of a labelled metric (its key built
        /// and hashed, the registry's shard locked) at every command was
        /// about 1.5 % of the server's CPU under `bbs-bench mix`.
        static BY_NAME: RefCell<HashMap<&'static str, (Counter, Histogram)>> = RefCell::default();
    }
    BY_NAME.with_borrow_mut(|by_name| {
        let (count, latency) = by_name.entry(name).or_insert_with(|| {
            // Handles taken before the recorder is installed would count
            // into nothing for good.
            handle();
            (
                metrics::counter!("bbs_commands_total", "command" => name),
                metrics::histogram!("bbs_command_seconds", "command" => name),
            )
        });
        count.increment(1);
        latency.record(took.as_secs_f64());
    });
}

/// One push written to a session's connection.
pub(crate) fn push_delivered() {
    metrics::counter!("bbs_pushes_delivered_total").increment(1);
}
