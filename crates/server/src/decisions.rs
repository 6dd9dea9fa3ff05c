//! The decision log: every STS, IAM, EC2, Auto Scaling, IMDS, ECS and SSO call records who
//! called, what, on which resource, the outcome and the statement that decided it (or that
//! none did), in a bounded in-memory ring the console page shows.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use thread_local::ThreadLocal;

use crate::policy::{Decision as PolicyDecision, Evaluation};

/// How a call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Authorized and answered.
    Allowed,
    /// Refused by a policy, a trust policy or an authentication check.
    Denied,
    /// Failed for another reason (validation, missing entity).
    Failed,
    /// A fault the switchboard injected (`crates/server/src/faults.rs`), or a change of it.
    Injected,
}

impl Outcome {
    /// `allowed`, `denied`, `failed` or `injected`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allowed => "allowed",
            Outcome::Denied => "denied",
            Outcome::Failed => "failed",
            Outcome::Injected => "injected",
        }
    }
}

/// One logged decision.
#[derive(Clone, Debug)]
pub struct Decision {
    /// Sequence number (1, 2, …), for "since" queries.
    pub seq: u64,
    /// Epoch seconds.
    pub time: i64,
    /// `sts`, `iam`, `ec2`, `autoscaling`, `imds`, `ecs`, `sso`.
    pub service: &'static str,
    /// The action (`iam:CreateRole`, `sts:AssumeRole`, `imds:GetCredentials`).
    pub action: Arc<str>,
    /// Who called (an ARN, an instance, a token holder), or `anonymous`.
    pub caller: Arc<str>,
    /// The resource acted on (an ARN or id), or `*`.
    pub resource: Arc<str>,
    /// The outcome.
    pub outcome: Outcome,
    /// Why: the deciding statement, its absence, or the error.
    pub reason: Arc<str>,
}

/// A decision before it gets its number and time.
#[derive(Clone, Debug)]
pub struct Entry {
    /// Service.
    pub service: &'static str,
    /// Action.
    pub action: Arc<str>,
    /// Caller.
    pub caller: Arc<str>,
    /// Resource.
    pub resource: Arc<str>,
    /// Outcome.
    pub outcome: Outcome,
    /// Reason.
    pub reason: Arc<str>,
}

impl Entry {
    /// The decision this entry becomes as number `seq`, recorded at `time`.
    fn numbered(self, seq: u64, time: i64) -> Decision {
        Decision {
            seq,
            time,
            service: self.service,
            action: self.action,
            caller: self.caller,
            resource: self.resource,
            outcome: self.outcome,
            reason: self.reason,
        }
    }

    /// An entry from plain strings.
    pub fn new(
        service: &'static str,
        action: impl Into<Arc<str>>,
        caller: impl Into<Arc<str>>,
        resource: impl Into<Arc<str>>,
        outcome: Outcome,
        reason: impl Into<Arc<str>>,
    ) -> Entry {
        Entry {
            service,
            action: action.into(),
            caller: caller.into(),
            resource: resource.into(),
            outcome,
            reason: reason.into(),
        }
    }
}

/// The bounded log (oldest entries drop out first). Each thread appends to a ring of its own,
/// so two worker threads recording at the same time share only the sequence counter (one
/// shared ring cost every call a contended lock: BENCHMARKS.md); reading merges the rings by
/// sequence number and keeps the last `capacity`.
#[derive(Debug)]
pub struct DecisionLog {
    rings: ThreadLocal<Mutex<VecDeque<Decision>>>,
    next: AtomicU64,
    capacity: usize,
}

impl Default for DecisionLog {
    fn default() -> DecisionLog {
        DecisionLog::with_capacity(2000)
    }
}

impl DecisionLog {
    /// A log keeping the last `capacity` decisions.
    pub fn with_capacity(capacity: usize) -> DecisionLog {
        DecisionLog {
            rings: ThreadLocal::new(),
            next: AtomicU64::new(1),
            capacity: capacity.max(1),
        }
    }

    /// Records a decision at `time` (epoch seconds); returns its sequence number.
    pub fn record(&self, time: i64, e: Entry) -> u64 {
        let ring = self
            .rings
            .get_or(|| Mutex::new(VecDeque::with_capacity(self.capacity.min(256))));
        let mut q = ring.lock().unwrap_or_else(|p| p.into_inner());
        // Numbered under this thread's lock, so each ring is in sequence order.
        let seq = self.next.fetch_add(1, Ordering::Relaxed);
        // A ring never needs more than the log keeps: the last `capacity` decisions of all
        // threads include at most `capacity` of this one's.
        if q.len() == self.capacity {
            q.pop_front();
        }
        q.push_back(e.numbered(seq, time));
        seq
    }

    /// Decisions with a sequence number above `after`, oldest first, at most `limit`
    /// (the newest ones when there are more).
    /// A decision another thread numbers while the rings are being read can be missing from
    /// the answer while a later one is in it; the answer stops before such a gap, so a caller
    /// continuing from the last number it got never skips a decision.
    pub fn since(&self, after: u64, limit: usize) -> Vec<Decision> {
        let mut newer: Vec<Decision> = Vec::new();
        for ring in self.rings.iter() {
            let q = ring.lock().unwrap_or_else(|p| p.into_inner());
            // Each ring is in sequence order: skip its older part without cloning it.
            let start = q.partition_point(|d| d.seq <= after);
            newer.extend(q.range(start..).cloned());
        }
        // Only the last `capacity` decisions are kept, whatever thread recorded them. Read
        // after the rings: a decision a ring dropped before it was read is older than these.
        let after = after.max(self.last_seq().saturating_sub(self.capacity as u64));
        newer.retain(|d| d.seq > after);
        newer.sort_unstable_by_key(|d| d.seq);
        // Numbers are taken in order but rings are read one after another: a decision numbered
        // in a ring already read (or a ring created meanwhile) is not here yet, though later
        // ones may be. Keep the run without a gap; the rest comes with the next call.
        let run = (after + 1..)
            .zip(&newer)
            .take_while(|(want, d)| d.seq == *want)
            .count();
        newer.truncate(run);
        let skip = newer.len().saturating_sub(limit);
        newer.drain(..skip);
        newer
    }

    /// The number of the last decision recorded (0 when none).
    pub fn last_seq(&self) -> u64 {
        self.next.load(Ordering::Relaxed) - 1
    }
}

/// Words for an evaluation: which statement of which policy decided, or that none did.
/// `labels[i]` names policy `i` of the evaluation (`roles/x: inline policy policy-1`).
pub fn explain(eval: &Evaluation, labels: &[String]) -> String {
    // One `format!` per explanation (this runs on every allowed AssumeRole).
    let statement = |verb: &str, (p, s, sid): &(usize, usize, Option<String>)| {
        let label = labels.get(*p).map(String::as_str).unwrap_or("policy");
        match sid {
            Some(sid) => format!("{verb} {label} Statement[{s}] (Sid \"{sid}\")"),
            None => format!("{verb} {label} Statement[{s}]"),
        }
    };
    match (&eval.decision, &eval.decided_by) {
        (PolicyDecision::Allow, Some(d)) => statement("allowed by", d),
        (PolicyDecision::ExplicitDeny, Some(d)) => statement("explicitly denied by", d),
        _ if labels.is_empty() => "implicit deny: the caller has no policies".to_string(),
        _ => format!(
            "implicit deny: no statement of {} allows it",
            labels.join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_is_bounded_and_ordered() {
        let log = DecisionLog::with_capacity(3);
        for i in 0..5 {
            log.record(
                i,
                Entry::new("sts", "sts:AssumeRole", "c", "r", Outcome::Allowed, "why"),
            );
        }
        let all = log.since(0, 100);
        assert_eq!(all.iter().map(|d| d.seq).collect::<Vec<_>>(), vec![3, 4, 5]);
        assert_eq!(log.since(4, 100).len(), 1);
        assert_eq!(
            log.since(0, 2).iter().map(|d| d.seq).collect::<Vec<_>>(),
            vec![4, 5]
        );
        assert_eq!(log.last_seq(), 5);
    }

    #[test]
    fn decisions_of_every_thread_are_merged_in_order_and_bounded() {
        let log = DecisionLog::with_capacity(100);
        std::thread::scope(|s| {
            for t in 0..4 {
                let log = &log;
                s.spawn(move || {
                    for i in 0..60 {
                        log.record(
                            i,
                            Entry::new(
                                "imds",
                                "imds:GetToken",
                                format!("t{t}"),
                                "r",
                                Outcome::Allowed,
                                "why",
                            ),
                        );
                    }
                });
            }
        });
        assert_eq!(log.last_seq(), 240);
        let kept = log.since(0, 1000);
        let seqs: Vec<u64> = kept.iter().map(|d| d.seq).collect();
        assert_eq!(
            seqs,
            (141..=240).collect::<Vec<_>>(),
            "the last 100, in order"
        );
        assert_eq!(log.since(230, 1000).len(), 10);
        assert_eq!(
            log.since(0, 3).iter().map(|d| d.seq).collect::<Vec<_>>(),
            vec![238, 239, 240]
        );
    }

    #[test]
    fn a_decision_numbered_but_not_yet_in_its_ring_is_not_skipped() {
        let log = DecisionLog::with_capacity(100);
        let entry = || Entry::new("sts", "sts:AssumeRole", "c", "r", Outcome::Allowed, "why");
        log.record(0, entry());
        // Another thread has taken number 2 and not pushed it yet (as when its ring was read
        // before it recorded); number 3 is already in a ring.
        let pending = log.next.fetch_add(1, Ordering::Relaxed);
        assert_eq!(pending, 2);
        log.record(0, entry());
        let seqs = |after| {
            log.since(after, 100)
                .iter()
                .map(|d| d.seq)
                .collect::<Vec<_>>()
        };
        assert_eq!(seqs(0), vec![1], "stops before the gap");
        assert_eq!(
            seqs(1),
            Vec::<u64>::new(),
            "a caller continuing from 1 waits for 2"
        );
        // Number 2 lands (in a ring of another thread).
        std::thread::scope(|s| {
            s.spawn(|| {
                let ring = log.rings.get_or(|| Mutex::new(VecDeque::new()));
                ring.lock().unwrap().push_back(entry().numbered(pending, 0));
            });
        });
        assert_eq!(seqs(1), vec![2, 3]);
        assert_eq!(seqs(0), vec![1, 2, 3]);
    }
}
