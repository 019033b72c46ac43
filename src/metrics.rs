//! Prometheus metrics of this process, served at `GET /metrics` (`web::ops`).
//!
//! The `prometheus` crate (TiKV's, without default features: no protobuf, no push, no
//! HTTP server) rather than `metrics` + `metrics-exporter-prometheus`: it has typed
//! metrics in an explicit registry and a text encoder and nothing else, so the scrape is
//! served by our own route behind our own token, with no global recorder or second
//! listener to configure.
//!
//! Anonymity: labels are route patterns (`/s/{token}`, never a path), methods, status
//! codes, and fixed words (a mail status, a release kind); nothing names a person, a
//! department or a survey, and counts are company-wide.
//!
//! One registry per process ([`global`]): the points measured (the scheduler, the mail
//! sender, the making of releases) lie deep in modules that also run in commands and
//! tests, where recording into an unread registry costs nothing worth passing a handle
//! through every call for.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::LazyLock;
use std::time::Instant;

use prometheus::{
    Encoder, Gauge, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

/// Seconds: from 1 ms (a page) to 10 s (a stalled request).
const HTTP_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// Seconds: background work, from a quick seal to a final release of a large wave.
const WORK_BUCKETS: &[f64] = &[
    0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

pub struct Metrics {
    registry: Registry,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    pub submissions_stored: IntCounter,
    pub responses_sealed: IntCounter,
    pub seal_duration: Histogram,
    /// Unix milliseconds at which the last completed seal began (0: none yet).
    last_seal_started: AtomicI64,
    pub scheduler_ticks: IntCounterVec,
    pub count_duration: Histogram,
    pub release_duration: HistogramVec,
    pub mail_deliveries: IntCounterVec,
    // Set at scrape time from the database and the pool.
    inbox_waiting: IntGauge,
    seal_lag: Gauge,
    mail_messages: IntGaugeVec,
    mail_oldest_queued: Gauge,
    pool_connections: IntGaugeVec,
    pool_max: IntGauge,
}

/// What the database holds at scrape time (see [`Metrics::render`]).
#[derive(Debug, Default, Clone, Copy)]
pub struct Stored {
    pub inbox_waiting: i64,
    pub mail_queued: i64,
    pub mail_sent: i64,
    pub mail_failed: i64,
    /// Age of the oldest queued message in seconds (0 when none is queued).
    pub oldest_queued_seconds: f64,
}

/// Connections of the database pool.
#[derive(Debug, Default, Clone, Copy)]
pub struct PoolUse {
    pub connections: u32,
    pub idle: u32,
    pub max: u32,
}

fn counter_vec(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let metric = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
    registry
        .register(Box::new(metric.clone()))
        .expect("registered once");
    metric
}

fn histogram_vec(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
    buckets: &[f64],
) -> HistogramVec {
    let metric = HistogramVec::new(
        HistogramOpts::new(name, help).buckets(buckets.to_vec()),
        labels,
    )
    .expect("valid metric");
    registry
        .register(Box::new(metric.clone()))
        .expect("registered once");
    metric
}

fn register<M: prometheus::core::Collector + Clone + 'static>(registry: &Registry, metric: M) -> M {
    registry
        .register(Box::new(metric.clone()))
        .expect("registered once");
    metric
}

impl Metrics {
    // The expects below concern names and labels fixed in this function: valid and
    // registered once, or every test fails.
    fn new() -> Metrics {
        let registry = Registry::new();
        let r = &registry;
        let metrics = Metrics {
            http_requests: counter_vec(
                r,
                "icsat_http_requests_total",
                "HTTP requests answered, by route pattern, method and status",
                &["route", "method", "status"],
            ),
            http_duration: histogram_vec(
                r,
                "icsat_http_request_duration_seconds",
                "Time to answer an HTTP request, by route pattern, method and status",
                &["route", "method", "status"],
                HTTP_BUCKETS,
            ),
            submissions_stored: register(
                r,
                IntCounter::new(
                    "icsat_submissions_stored_total",
                    "Survey submissions stored (answered \"saved\")",
                )
                .expect("valid metric"),
            ),
            responses_sealed: register(
                r,
                IntCounter::new(
                    "icsat_responses_sealed_total",
                    "Responses moved from the inbox into the response tables by this process",
                )
                .expect("valid metric"),
            ),
            seal_duration: register(
                r,
                Histogram::with_opts(
                    HistogramOpts::new(
                        "icsat_seal_duration_seconds",
                        "Time of one seal of the response inbox",
                    )
                    .buckets(WORK_BUCKETS.to_vec()),
                )
                .expect("valid metric"),
            ),
            last_seal_started: AtomicI64::new(0),
            scheduler_ticks: counter_vec(
                r,
                "icsat_scheduler_ticks_total",
                "Scheduler ticks, by outcome (ok, failed)",
                &["outcome"],
            ),
            count_duration: register(
                r,
                Histogram::with_opts(
                    HistogramOpts::new(
                        "icsat_count_duration_seconds",
                        "Time to count a wave's answers (for a release or a closed wave's classes)",
                    )
                    .buckets(WORK_BUCKETS.to_vec()),
                )
                .expect("valid metric"),
            ),
            release_duration: histogram_vec(
                r,
                "icsat_release_duration_seconds",
                "Time to make a release of a wave, by kind (interim, final)",
                &["kind"],
                WORK_BUCKETS,
            ),
            mail_deliveries: counter_vec(
                r,
                "icsat_mail_deliveries_total",
                "Delivery attempts of this process's mail sender, by outcome (sent, retried, failed)",
                &["outcome"],
            ),
            inbox_waiting: register(
                r,
                IntGauge::new(
                    "icsat_inbox_waiting_responses",
                    "Responses waiting in the inbox to be sealed",
                )
                .expect("valid metric"),
            ),
            seal_lag: register(
                r,
                Gauge::new(
                    "icsat_seal_lag_seconds",
                    "Seconds since the last completed seal of this process began: no response has waited longer (0 before the first seal)",
                )
                .expect("valid metric"),
            ),
            mail_messages: register(
                r,
                IntGaugeVec::new(
                    Opts::new(
                        "icsat_mail_messages",
                        "Messages in the mail outbox, by status (queued, sent, failed)",
                    ),
                    &["status"],
                )
                .expect("valid metric"),
            ),
            mail_oldest_queued: register(
                r,
                Gauge::new(
                    "icsat_mail_oldest_queued_age_seconds",
                    "Age of the oldest message not sent yet (0 when none waits)",
                )
                .expect("valid metric"),
            ),
            pool_connections: register(
                r,
                IntGaugeVec::new(
                    Opts::new(
                        "icsat_db_pool_connections",
                        "Connections of the database pool, by state (idle, in_use)",
                    ),
                    &["state"],
                )
                .expect("valid metric"),
            ),
            pool_max: register(
                r,
                IntGauge::new(
                    "icsat_db_pool_max_connections",
                    "Most connections the database pool opens",
                )
                .expect("valid metric"),
            ),
            registry,
        };
        // Every label value known beforehand is shown from the start, at zero, so that
        // a family is present (and a rate computable) before its first event.
        for outcome in ["ok", "failed"] {
            metrics.scheduler_ticks.with_label_values(&[outcome]);
        }
        for kind in ["interim", "final"] {
            metrics.release_duration.with_label_values(&[kind]);
        }
        for outcome in ["sent", "retried", "failed"] {
            metrics.mail_deliveries.with_label_values(&[outcome]);
        }
        metrics
    }

    /// Records an answered HTTP request. `route` is the pattern the request matched
    /// (never its path: paths hold tokens).
    pub fn http_request(&self, route: &str, method: &str, status: u16, seconds: f64) {
        let status = status_label(status);
        let labels = [route, method, status];
        self.http_requests.with_label_values(&labels).inc();
        self.http_duration
            .with_label_values(&labels)
            .observe(seconds);
    }

    /// Records a completed seal that began at `started` and moved `sealed` responses.
    pub fn sealed(&self, started: Instant, sealed: usize) {
        let now = Instant::now();
        let took = now.duration_since(started);
        self.seal_duration.observe(took.as_secs_f64());
        self.responses_sealed.inc_by(sealed as u64);
        let began = chrono::Utc::now().timestamp_millis() - took.as_millis() as i64;
        self.last_seal_started.store(began, Ordering::Relaxed);
    }

    /// The text exposition of every metric, with the gauges read at scrape time set
    /// from `stored` (None: the database did not answer; they keep their last values)
    /// and `pool`.
    pub fn render(&self, stored: Option<Stored>, pool: PoolUse) -> String {
        if let Some(stored) = stored {
            self.inbox_waiting.set(stored.inbox_waiting);
            self.mail_messages
                .with_label_values(&["queued"])
                .set(stored.mail_queued);
            self.mail_messages
                .with_label_values(&["sent"])
                .set(stored.mail_sent);
            self.mail_messages
                .with_label_values(&["failed"])
                .set(stored.mail_failed);
            self.mail_oldest_queued
                .set(stored.oldest_queued_seconds.max(0.0));
        }
        let began = self.last_seal_started.load(Ordering::Relaxed);
        self.seal_lag.set(if began == 0 {
            0.0
        } else {
            ((chrono::Utc::now().timestamp_millis() - began) as f64 / 1000.0).max(0.0)
        });
        let in_use = pool.connections.saturating_sub(pool.idle);
        self.pool_connections
            .with_label_values(&["idle"])
            .set(i64::from(pool.idle));
        self.pool_connections
            .with_label_values(&["in_use"])
            .set(i64::from(in_use));
        self.pool_max.set(i64::from(pool.max));
        let mut out = Vec::new();
        // Encoding into memory fails only on invalid families, which `new` rules out.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

/// The status as a label without allocating: the codes icsat answers, else the class.
fn status_label(status: u16) -> &'static str {
    const KNOWN: [(u16, &str); 18] = [
        (200, "200"),
        (201, "201"),
        (204, "204"),
        (303, "303"),
        (304, "304"),
        (400, "400"),
        (401, "401"),
        (403, "403"),
        (404, "404"),
        (405, "405"),
        (409, "409"),
        (410, "410"),
        (413, "413"),
        (415, "415"),
        (422, "422"),
        (429, "429"),
        (500, "500"),
        (503, "503"),
    ];
    match KNOWN.iter().find(|(code, _)| *code == status) {
        Some((_, label)) => label,
        None => match status / 100 {
            1 => "1xx",
            2 => "2xx",
            3 => "3xx",
            4 => "4xx",
            _ => "5xx",
        },
    }
}

/// The content type of the text exposition.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// This process's metrics.
pub fn global() -> &'static Metrics {
    &METRICS
}

/// Times `work` into `histogram`.
pub fn timed<T>(histogram: &Histogram, work: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let value = work();
    histogram.observe(started.elapsed().as_secs_f64());
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_renders_and_routes_stay_patterns() {
        let metrics = Metrics::new();
        metrics.http_request("/s/{token}", "POST", 200, 0.004);
        metrics.submissions_stored.inc();
        metrics.sealed(Instant::now(), 3);
        metrics.scheduler_ticks.with_label_values(&["ok"]).inc();
        metrics.count_duration.observe(0.2);
        metrics
            .release_duration
            .with_label_values(&["final"])
            .observe(1.5);
        metrics.mail_deliveries.with_label_values(&["sent"]).inc();
        let text = metrics.render(
            Some(Stored {
                inbox_waiting: 2,
                mail_queued: 4,
                oldest_queued_seconds: 12.0,
                ..Stored::default()
            }),
            PoolUse {
                connections: 3,
                idle: 1,
                max: 8,
            },
        );
        for family in [
            "icsat_http_requests_total{method=\"POST\",route=\"/s/{token}\",status=\"200\"} 1",
            "icsat_http_request_duration_seconds_bucket{method=\"POST\",route=\"/s/{token}\",status=\"200\",le=\"0.005\"} 1",
            "icsat_submissions_stored_total 1",
            "icsat_responses_sealed_total 3",
            "icsat_seal_duration_seconds_count 1",
            "icsat_seal_lag_seconds ",
            "icsat_scheduler_ticks_total{outcome=\"ok\"} 1",
            "icsat_count_duration_seconds_count 1",
            "icsat_release_duration_seconds_count{kind=\"final\"} 1",
            "icsat_mail_deliveries_total{outcome=\"sent\"} 1",
            "icsat_inbox_waiting_responses 2",
            "icsat_mail_messages{status=\"queued\"} 4",
            "icsat_mail_oldest_queued_age_seconds 12",
            "icsat_db_pool_connections{state=\"in_use\"} 2",
            "icsat_db_pool_max_connections 8",
        ] {
            assert!(text.contains(family), "{family} missing from\n{text}");
        }
    }
}
