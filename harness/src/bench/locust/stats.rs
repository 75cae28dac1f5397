//! Locust's statistics as a worker reports them (locust/stats.py): one
//! entry per request name and method, the `Aggregated` total, and the
//! errors, sent every 3 s as what happened since the last report, which the
//! master adds up (`StatsEntry.extend`).

use std::collections::BTreeMap;

use rmpv::Value;

use super::message::map;

/// One `StatsEntry`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Entry {
    name: String,
    method: String,
    num_requests: u64,
    num_failures: u64,
    total_response_time: f64,
    max_response_time: f64,
    min_response_time: Option<f64>,
    total_content_length: u64,
    /// Response times (ms) rounded as Locust rounds them, and their counts.
    response_times: BTreeMap<i64, u64>,
    num_reqs_per_sec: BTreeMap<i64, u64>,
    num_fail_per_sec: BTreeMap<i64, u64>,
    start_time: f64,
    last_request_timestamp: Option<f64>,
}

/// Locust's `bucket_response_time`: about two significant digits (147 →
/// 150, 3432 → 3400), with Python's `round` (halves to even).
///
/// ```
/// # use siospec::bench::locust::bucket;
/// assert_eq!(bucket(0.4), 0);
/// assert_eq!(bucket(2.5), 2);
/// assert_eq!(bucket(147.0), 150);
/// assert_eq!(bucket(3432.0), 3400);
/// assert_eq!(bucket(58760.0), 59000);
/// ```
pub fn bucket(ms: f64) -> i64 {
    let to = |unit: f64| ((ms / unit).round_ties_even() * unit) as i64;
    if ms < 100.0 {
        to(1.0)
    } else if ms < 1000.0 {
        to(10.0)
    } else if ms < 10000.0 {
        to(100.0)
    } else {
        to(1000.0)
    }
}

impl Entry {
    fn new(name: &str, method: &str, now: f64) -> Entry {
        Entry {
            name: name.to_owned(),
            method: method.to_owned(),
            num_requests: 0,
            num_failures: 0,
            total_response_time: 0.0,
            max_response_time: 0.0,
            min_response_time: None,
            total_content_length: 0,
            response_times: BTreeMap::new(),
            num_reqs_per_sec: BTreeMap::new(),
            num_fail_per_sec: BTreeMap::new(),
            start_time: now,
            last_request_timestamp: None,
        }
    }

    /// `StatsEntry.log`: a request that took `ms`, at `now` (Unix seconds).
    fn log(&mut self, ms: f64, content_length: u64, now: f64) {
        self.num_requests += 1;
        *self.num_reqs_per_sec.entry(now as i64).or_default() += 1;
        self.last_request_timestamp = Some(now);
        self.total_response_time += ms;
        self.min_response_time = Some(self.min_response_time.map_or(ms, |m| m.min(ms)));
        self.max_response_time = self.max_response_time.max(ms);
        *self.response_times.entry(bucket(ms)).or_default() += 1;
        self.total_content_length += content_length;
    }

    /// `StatsEntry.log_error`.
    fn log_error(&mut self, now: f64) {
        self.num_failures += 1;
        *self.num_fail_per_sec.entry(now as i64).or_default() += 1;
    }

    /// `serialize()`, as a msgpack map.
    fn to_value(&self) -> Value {
        let counts = |m: &BTreeMap<i64, u64>| {
            Value::Map(
                m.iter()
                    .map(|(k, v)| (Value::from(*k), Value::from(*v)))
                    .collect(),
            )
        };
        map([
            ("name", Value::from(self.name.as_str())),
            ("method", Value::from(self.method.as_str())),
            (
                "last_request_timestamp",
                self.last_request_timestamp.map_or(Value::Nil, Value::from),
            ),
            ("start_time", Value::from(self.start_time)),
            ("num_requests", Value::from(self.num_requests)),
            ("num_none_requests", Value::from(0)),
            ("num_failures", Value::from(self.num_failures)),
            ("total_response_time", Value::from(self.total_response_time)),
            ("max_response_time", Value::from(self.max_response_time)),
            (
                "min_response_time",
                self.min_response_time.map_or(Value::Nil, Value::from),
            ),
            (
                "total_content_length",
                Value::from(self.total_content_length),
            ),
            ("response_times", counts(&self.response_times)),
            ("num_reqs_per_sec", counts(&self.num_reqs_per_sec)),
            ("num_fail_per_sec", counts(&self.num_fail_per_sec)),
        ])
    }
}

/// One `StatsError`.
#[derive(Debug, Clone, PartialEq)]
struct Failure {
    method: String,
    name: String,
    error: String,
    occurrences: u64,
    first_seen: f64,
    last_seen: f64,
}

/// What a worker has to report.
#[derive(Debug, Clone)]
pub(super) struct Stats {
    entries: BTreeMap<(String, String), Entry>,
    total: Entry,
    errors: BTreeMap<String, Failure>,
    /// Requests and failures in the reports sent so far.
    pub reported_requests: u64,
    pub reported_failures: u64,
}

impl Stats {
    pub fn new(now: f64) -> Stats {
        Stats {
            entries: BTreeMap::new(),
            total: Entry::new("Aggregated", "", now),
            errors: BTreeMap::new(),
            reported_requests: 0,
            reported_failures: 0,
        }
    }

    fn entry(&mut self, method: &str, name: &str, now: f64) -> &mut Entry {
        self.entries
            .entry((name.to_owned(), method.to_owned()))
            .or_insert_with(|| Entry::new(name, method, now))
    }

    /// A request that succeeded in `ms` with a response of `content_length`
    /// bytes (Locust's `request` event without exception).
    pub fn success(&mut self, method: &str, name: &str, ms: f64, content_length: u64, now: f64) {
        self.total.log(ms, content_length, now);
        self.entry(method, name, now).log(ms, content_length, now);
    }

    /// A request that failed after `ms` with `error`: counted as a request
    /// and a failure, as Locust counts one.
    pub fn failure(&mut self, method: &str, name: &str, ms: f64, error: &str, now: f64) {
        self.success(method, name, ms, 0, now);
        self.total.log_error(now);
        self.entry(method, name, now).log_error(now);
        // Locust keys errors by a hash of the three; any unique key works,
        // since the master merges by key.
        let key = format!("{method}.{name}.{error}");
        let failure = self.errors.entry(key).or_insert_with(|| Failure {
            method: method.to_owned(),
            name: name.to_owned(),
            error: error.to_owned(),
            occurrences: 0,
            first_seen: now,
            last_seen: now,
        });
        failure.occurrences += 1;
        failure.last_seen = now;
    }

    /// The `stats`, `stats_total` and `errors` of a report, and a clean
    /// slate after it (`get_stripped_report`).
    pub fn report(&mut self, now: f64) -> Vec<(&'static str, Value)> {
        let entries: Vec<Value> = self
            .entries
            .values()
            .filter(|e| e.num_requests > 0 || e.num_failures > 0)
            .map(Entry::to_value)
            .collect();
        let errors = Value::Map(
            self.errors
                .iter()
                .map(|(k, f)| {
                    (
                        Value::from(k.as_str()),
                        map([
                            ("name", Value::from(f.name.as_str())),
                            ("method", Value::from(f.method.as_str())),
                            ("error", Value::from(f.error.as_str())),
                            ("occurrences", Value::from(f.occurrences)),
                            ("first_seen", Value::from(f.first_seen)),
                            ("last_seen", Value::from(f.last_seen)),
                        ]),
                    )
                })
                .collect(),
        );
        self.reported_requests += self.total.num_requests;
        self.reported_failures += self.total.num_failures;
        let total = self.total.to_value();
        self.total = Entry::new("Aggregated", "", now);
        for e in self.entries.values_mut() {
            *e = Entry::new(&e.name, &e.method, now);
        }
        self.errors.clear();
        vec![
            ("stats", Value::Array(entries)),
            ("stats_total", total),
            ("errors", errors),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::locust::message::get;

    #[test]
    fn a_report_carries_what_happened_since_the_last() {
        let mut s = Stats::new(100.0);
        s.success("socket.io", "echo", 1.4, 64, 100.5);
        s.success("socket.io", "echo", 147.0, 64, 101.2);
        s.failure("socket.io", "connect", 5.0, "refused", 101.3);
        let report = s.report(102.0);
        let total = &report[1].1;
        assert_eq!(get(total, "num_requests"), Some(&Value::from(3)));
        assert_eq!(get(total, "num_failures"), Some(&Value::from(1)));
        let Value::Array(entries) = &report[0].1 else {
            panic!("entries")
        };
        assert_eq!(entries.len(), 2);
        let times = get(total, "response_times")
            .and_then(Value::as_map)
            .unwrap();
        assert!(times.contains(&(Value::from(150), Value::from(1))));
        assert_eq!((s.reported_requests, s.reported_failures), (3, 1));
        let again = s.report(103.0);
        assert_eq!(get(&again[1].1, "num_requests"), Some(&Value::from(0)));
        assert_eq!(again[0].1, Value::Array(vec![]));
    }
}
