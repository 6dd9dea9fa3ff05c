//! Calls counted per service, action and HTTP status, so tests and people can see how many STS
//! or SSO calls something caused: `GET /metrics` on the API listener answers them in the
//! Prometheus text format, and `--debug` logs each call with its running count.
//!
//! Labels come from fixed lists (a client sending made-up actions cannot grow the table).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

use thread_local::ThreadLocal;

/// The path of the metrics page on the API listener.
pub const PATH: &str = "/metrics";

/// The content type of the Prometheus text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// One counted call: which service, which action, what status it was answered with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Call {
    /// `sts`, `iam`, `ec2`, `autoscaling`, `sso`, `sso-oidc`, `imds`, `ecs`.
    pub service: &'static str,
    /// The operation (`AssumeRole`, `CreateToken`, `GetCredentials`…).
    pub action: &'static str,
    /// The HTTP status answered.
    pub status: u16,
}

/// Call counters shared by every listener of one server. Each thread counts in its own table,
/// so two worker threads answering at the same time do not write the same memory (a shared
/// table cost AssumeRole and IMDS a lock and a contended cache line per call: BENCHMARKS.md);
/// reading sums the tables.
#[derive(Debug, Default)]
pub struct Metrics {
    counts: ThreadLocal<Mutex<BTreeMap<Call, u64>>>,
}

impl Metrics {
    /// Counts `call` and logs it (debug) with the number of calls of its action so far.
    pub fn record(&self, call: Call) {
        {
            let mut counts = self
                .counts
                .get_or_default()
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            *counts.entry(call).or_insert(0) += 1;
        }
        if tracing::enabled!(tracing::Level::DEBUG) {
            tracing::debug!(
                service = call.service,
                action = call.action,
                status = call.status,
                count = self.count(call.service, call.action),
                "call"
            );
        }
    }

    /// The counters summed over every thread's table.
    fn totals(&self) -> BTreeMap<Call, u64> {
        let mut all = BTreeMap::new();
        for table in self.counts.iter() {
            for (c, n) in table.lock().unwrap_or_else(|p| p.into_inner()).iter() {
                *all.entry(*c).or_insert(0) += n;
            }
        }
        all
    }

    /// Calls of `service`/`action` so far, whatever their status.
    pub fn count(&self, service: &str, action: &str) -> u64 {
        self.totals()
            .iter()
            .filter(|(c, _)| c.service == service && c.action == action)
            .map(|(_, n)| n)
            .sum()
    }

    /// The counters in the Prometheus text format.
    pub fn render(&self) -> String {
        let counts = self.totals();
        let mut out = String::from(
            "# HELP awsid_requests_total Requests answered, by service, action and HTTP status.\n\
             # TYPE awsid_requests_total counter\n",
        );
        for (c, n) in counts.iter() {
            let _ = writeln!(
                out,
                "awsid_requests_total{{service=\"{}\",action=\"{}\",status=\"{}\"}} {n}",
                c.service, c.action, c.status
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_renders() {
        let m = Metrics::default();
        let call = |action, status| Call {
            service: "sts",
            action,
            status,
        };
        m.record(call("AssumeRole", 200));
        m.record(call("AssumeRole", 200));
        m.record(call("AssumeRole", 403));
        m.record(call("GetCallerIdentity", 200));
        assert_eq!(m.count("sts", "AssumeRole"), 3);
        assert_eq!(m.count("sts", "GetSessionToken"), 0);
        assert_eq!(
            m.render(),
            "# HELP awsid_requests_total Requests answered, by service, action and HTTP status.\n\
             # TYPE awsid_requests_total counter\n\
             awsid_requests_total{service=\"sts\",action=\"AssumeRole\",status=\"200\"} 2\n\
             awsid_requests_total{service=\"sts\",action=\"AssumeRole\",status=\"403\"} 1\n\
             awsid_requests_total{service=\"sts\",action=\"GetCallerIdentity\",status=\"200\"} 1\n"
        );
    }

    #[test]
    fn counts_from_every_thread_are_summed() {
        let m = Metrics::default();
        let call = Call {
            service: "imds",
            action: "GetCredentials",
            status: 200,
        };
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| (0..250).for_each(|_| m.record(call)));
            }
        });
        m.record(call);
        assert_eq!(m.count("imds", "GetCredentials"), 1001);
        assert!(m.render().contains(
            "awsid_requests_total{service=\"imds\",action=\"GetCredentials\",status=\"200\"} 1001\n"
        ));
    }
}
