//! Rate-based rule state: an exact sliding window per aggregation key.
//!
//! AWS WAF samples request rates about every 10 seconds and acts with a delay of
//! up to a minute or two; deadbolt counts exactly instead, so a result does not
//! depend on timing luck: a request at time `t` (epoch ms) is over the limit when
//! more than `Limit` requests with the same key, itself included, fall in the
//! window `(t - EvaluationWindowSec, t]`. A request exactly one window older no
//! longer counts.
//!
//! Requests without a timestamp are counted for their key but cannot be placed in
//! time; a rule over them is decided only when the answer is the same wherever
//! they fall, and is undetermined otherwise.

use std::collections::{HashMap, VecDeque};

/// Counting state for every rate-based rule instance of one web ACL. Share one
/// across a corpus and feed it requests in timestamp order.
#[derive(Clone, Debug, Default)]
pub struct RateState {
    instances: Vec<HashMap<Vec<u8>, Window>>,
}

#[derive(Clone, Debug, Default)]
struct Window {
    /// Timestamps in ascending order, at most `limit + 1` of them (only whether
    /// the count exceeds the limit matters).
    times: VecDeque<i64>,
    undated: u64,
}

/// What counting one more request says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Count {
    Within,
    Over,
    Undetermined,
}

impl RateState {
    pub fn new(instances: usize) -> Self {
        RateState {
            instances: vec![HashMap::new(); instances],
        }
    }

    /// Counts a request for `key` in rule instance `instance` and tells whether
    /// the key is now over `limit` in the window.
    pub fn record(
        &mut self,
        instance: usize,
        key: &[u8],
        at: Option<i64>,
        limit: u64,
        window_s: u64,
    ) -> Count {
        if self.instances.len() <= instance {
            self.instances.resize_with(instance + 1, HashMap::new);
        }
        let w = self.instances[instance].entry(key.to_vec()).or_default();
        let cap = usize::try_from(limit.saturating_add(1)).unwrap_or(usize::MAX);
        match at {
            None => {
                w.undated += 1;
                // However the undated requests fall, the dated ones in any window
                // are at most all of them.
                let most = w.times.len() as u64 + w.undated;
                if most <= limit {
                    Count::Within
                } else {
                    Count::Undetermined
                }
            }
            Some(t) => {
                let window_ms = (window_s as i64).saturating_mul(1000);
                let floor = t.saturating_sub(window_ms);
                // Insert in order (out-of-order input is tolerated, not expected).
                let pos = w.times.partition_point(|&x| x <= t);
                w.times.insert(pos, t);
                while w.times.front().is_some_and(|&x| x <= floor) {
                    w.times.pop_front();
                }
                while w.times.len() > cap {
                    w.times.pop_front();
                }
                let in_window = w.times.iter().filter(|&&x| x > floor && x <= t).count() as u64;
                if in_window > limit {
                    Count::Over
                } else if in_window + w.undated > limit {
                    Count::Undetermined
                } else {
                    Count::Within
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_window_edge() {
        let mut s = RateState::new(1);
        // Limit 2 in 60 s: the third request inside the window is over.
        assert_eq!(s.record(0, b"k", Some(0), 2, 60), Count::Within);
        assert_eq!(s.record(0, b"k", Some(1_000), 2, 60), Count::Within);
        assert_eq!(s.record(0, b"k", Some(59_999), 2, 60), Count::Over);
        // At exactly 60 s after the first, the first has left the window:
        // 1_000, 59_999, 60_000 remain, still over.
        assert_eq!(s.record(0, b"k", Some(60_000), 2, 60), Count::Over);
        // Other keys are independent.
        assert_eq!(s.record(0, b"other", Some(60_000), 2, 60), Count::Within);
        // Long after, the window has emptied.
        assert_eq!(s.record(0, b"k", Some(200_000), 2, 60), Count::Within);
    }

    #[test]
    fn undated_requests() {
        let mut s = RateState::new(1);
        assert_eq!(s.record(0, b"k", None, 2, 60), Count::Within);
        assert_eq!(s.record(0, b"k", None, 2, 60), Count::Within);
        assert_eq!(s.record(0, b"k", None, 2, 60), Count::Undetermined);
    }
}
