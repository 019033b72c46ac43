//! Benchmark: import a generated roster (default 100,000 employees in 60 departments) into
//! a fresh database and print the times. Target: under 10 s on SQLite.
//!
//!     cargo run --release --example roster_import [-- EMPLOYEES [DATABASE_URL]]
//!
//! Without a URL it uses a SQLite file in a temporary folder. A PostgreSQL URL should name
//! an empty database or schema.

use std::fmt::Write as _;
use std::time::Instant;

use icsat::db::{DatabaseUrl, Db};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let employees: usize = args
        .next()
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(100_000);
    let dir = tempfile::tempdir()?;
    let url = args
        .next()
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));

    // 60 departments: a company, 5 divisions, 54 teams.
    let mut departments = String::from("department,parent,head_email\nCompany,,\n");
    let mut teams = Vec::new();
    for division in 0..5 {
        writeln!(departments, "Division {division},Company,")?;
        for team in 0..(54 / 5 + usize::from(division < 54 % 5)) {
            let name = format!("Team {division}-{team}");
            writeln!(departments, "{name},Division {division},")?;
            teams.push(name);
        }
    }
    let roster = |changed: usize| -> String {
        let mut csv = String::from("email,name,department,location,hire_date,level\n");
        for i in 0..employees {
            let team = &teams[(i + usize::from(i < changed)) % teams.len()];
            let location = ["Berlin", "Lyon", "Porto", "Remote"][i % 4];
            let _ = writeln!(
                csv,
                "person{i}@example.com,Person {i},{team},{location},20{:02}-{:02}-{:02},L{}",
                10 + i % 15,
                1 + i % 12,
                1 + i % 28,
                i % 5
            );
        }
        csv
    };
    let departments_path = dir.path().join("departments.csv");
    std::fs::write(&departments_path, departments)?;
    let roster_path = dir.path().join("roster.csv");

    let db = Db::open(&DatabaseUrl::parse(&url)?)?;
    println!(
        "roster import benchmark: {employees} employees, {} departments, {}",
        teams.len() + 6,
        DatabaseUrl::parse(&url)?.display()
    );
    for (label, changed) in [
        ("first import", 0),
        ("same file again", 0),
        ("10% moved", employees / 10),
    ] {
        std::fs::write(&roster_path, roster(changed))?;
        let started = Instant::now();
        let summary = icsat::roster::import(&db, &roster_path, Some(&departments_path), false)?;
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "{label:<16} {seconds:>7.3} s  ({} added, {} updated, {} unchanged)",
            summary.added, summary.updated, summary.unchanged
        );
    }
    Ok(())
}
