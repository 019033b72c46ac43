//! Benchmark: making the final release of a stored wave (counting its answers in one
//! pass, deciding what may be shown, storing the shown groups and comments), the step
//! that closing a wave runs. Target: under 2 s for 100,000 respondents (60 departments,
//! 30 questions).
//!
//!     cargo run --release --example report_bench -- 100000 sqlite:///tmp/report100k.db
//!     cargo run --release --example release_bench -- sqlite:///tmp/report100k.db
//!
//! The first command stores the waves (once); this one deletes the latest wave's releases
//! in that database and makes its final release again, `RUNS` times (default 3), printing
//! each time and the median. Arguments: `DATABASE_URL [SURVEY [WAVE [RUNS]]]`, the survey
//! and wave defaulting to report_bench's (`report-bench-100000`, its last wave).

use diesel::prelude::*;
use icsat::db::schema::{release_comments, wave_releases};
use icsat::db::{DatabaseUrl, Db};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), BoxError> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .ok_or("usage: release_bench DATABASE_URL [SURVEY [WAVE [RUNS]]]")?;
    let slug = args
        .next()
        .unwrap_or_else(|| "report-bench-100000".to_string());
    let label = args.next();
    let runs: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(3);
    let db = Db::open(&DatabaseUrl::parse(&url)?)?;
    let mut conn = db.get()?;
    let (_, definition) = icsat::surveys::current(&mut conn, &slug)?;
    let survey_id = icsat::waves::survey_id(&mut conn, &slug)?.ok_or("no such survey")?;
    let waves = icsat::waves::of_survey(&mut conn, survey_id)?;
    let wave = match &label {
        Some(label) => waves.into_iter().find(|w| &w.label == label),
        None => waves.into_iter().last(),
    }
    .ok_or("no such wave")?;
    let mut times = Vec::new();
    for run in 1..=runs {
        let ids: Vec<i64> = icsat::with_conn!(conn, c => wave_releases::table
            .filter(wave_releases::wave_id.eq(wave.id))
            .select(wave_releases::id)
            .load(c))?;
        icsat::with_conn!(conn, c => diesel::delete(release_comments::table.filter(release_comments::release_id.eq_any(&ids))).execute(c))?;
        icsat::with_conn!(conn, c => diesel::delete(wave_releases::table.filter(wave_releases::id.eq_any(&ids))).execute(c))?;
        let started = std::time::Instant::now();
        icsat::reports::release::make(&mut conn, wave.id, &definition, true)?
            .ok_or("the release was not made")?;
        let took = started.elapsed().as_secs_f64();
        println!(
            "run {run}: final release of {slug}/{} in {took:.2} s",
            wave.label
        );
        times.push(took);
    }
    times.sort_by(f64::total_cmp);
    if let Some(median) = times.get(times.len() / 2) {
        println!("median of {runs}: {median:.2} s (target: under 2 s for 100,000 respondents)");
    }
    Ok(())
}
