//! Benchmark: what `/metrics` costs a submission. Target (issue: metrics add less than 2%
//! to the submission benchmark's throughput).
//!
//!     cargo run --release --example metrics_bench [SERVER_CPU_US_PER_SUBMISSION]
//!
//! Throughput runs of `submit_bench` with and without metrics differ by about 10% from one
//! run to the next on a shared 2-core machine, far more than the 2% to be shown, so this
//! measures the parts metrics add instead, each alone: recording an answered request
//! (`Metrics::http_request`, what the middleware does per request, over the routes and
//! statuses a busy service sees), counting a stored submission, and rendering a scrape
//! (without its database reads, which `submit_bench --scrape-metrics` includes). The
//! printed share is the per-submission cost against the server CPU per submission that
//! `submit_bench` prints ("server CPU ... us/request"; 145 µs by default, SQLite on this
//! machine), plus one scrape every 15 s spread over the submissions of those 15 s.

use std::hint::black_box;
use std::time::Instant;

use icsat::metrics::{global, PoolUse, Stored};

const CALLS: usize = 2_000_000;
const SCRAPES: usize = 2_000;

fn main() {
    let server_us: f64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(145.0);
    let metrics = global();
    let routes = [
        ("/s/{token}", "POST", 200),
        ("/s/{token}", "GET", 200),
        ("/s/{token}", "GET", 404),
        ("/healthz", "GET", 200),
        ("/results/{survey}", "GET", 200),
        ("/api/surveys/{survey}/waves/{wave}/report", "GET", 403),
    ];
    // Warm: every label set exists before timing, as in a service that has run a while.
    for (route, method, status) in routes {
        metrics.http_request(route, method, status, 0.004);
    }
    let started = Instant::now();
    for i in 0..CALLS {
        let (route, method, status) = routes[i % routes.len()];
        metrics.http_request(black_box(route), method, status, black_box(0.004));
    }
    let per_request_ns = started.elapsed().as_secs_f64() * 1e9 / CALLS as f64;
    let started = Instant::now();
    for _ in 0..CALLS {
        metrics.submissions_stored.inc();
    }
    let per_stored_ns = started.elapsed().as_secs_f64() * 1e9 / CALLS as f64;
    let stored = Stored {
        inbox_waiting: 51_000,
        mail_queued: 12,
        mail_sent: 600_000,
        mail_failed: 396,
        oldest_queued_seconds: 3.5,
    };
    let pool = PoolUse {
        connections: 8,
        idle: 3,
        max: 8,
    };
    let mut bytes = 0;
    let started = Instant::now();
    for _ in 0..SCRAPES {
        bytes = black_box(metrics.render(Some(stored), pool)).len();
    }
    let per_scrape_us = started.elapsed().as_secs_f64() * 1e6 / SCRAPES as f64;
    // A submission is one request (the form's GET is another, counted as a request too).
    let per_submission_us = (2.0 * per_request_ns + per_stored_ns) / 1000.0;
    let rate = 1e6 / server_us * 1.7; // submissions/s at the CPU submit_bench saw (1.7 cores)
    let scrape_share_us = per_scrape_us / (15.0 * rate);
    println!("metrics benchmark: {CALLS} calls each, {SCRAPES} scrapes");
    println!("recording an answered request (http_request): {per_request_ns:.1} ns");
    println!("counting a stored submission:                 {per_stored_ns:.1} ns");
    println!("rendering a scrape ({bytes} bytes, no DB reads): {per_scrape_us:.1} µs");
    println!(
        "per submission (its GET and POST, the count, a 15 s scrape's share): {:.3} µs \
         = {:.3}% of {server_us} µs of server CPU (target < 2%)",
        per_submission_us + scrape_share_us,
        (per_submission_us + scrape_share_us) / server_us * 100.0
    );
}
