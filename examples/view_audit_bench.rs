//! Benchmark: `stats::views::audit_view`, one new filtered view audited against 1,000
//! recorded views over 1,500 atoms. Target: well under 5 ms per audit.
//!
//!     cargo run --release --example view_audit_bench
//!
//! The wave (seeded, so every run sees the same one): 100 departments (10 divisions of 10
//! teams) × 5 locations × 3 contract types = 1,500 atoms of 0 to 14 respondents each. The
//! groups are the audience, the divisions and the teams (111); the filters are a location,
//! a contract type, or both (23). Recorded: the 111 groups and 889 distinct (group,
//! filter) views that the audit accepted, drawn at random in turn, 1,000 in all (random
//! views recorded without the audit would differ from each other by a few respondents,
//! and every new view would be refused at the first one). Then 20,000 random (group,
//! filter) views are audited, each timed alone; printed: median, 99th percentile and
//! slowest time per audit in microseconds, for all audits, for the accepted ones (which
//! compare with every recorded view) and for the refused ones. The slowest time is that
//! of a preempted audit when other processes share the cores.

use std::time::{Duration, Instant};

use icsat::stats::views::{audit_view, AtomSet, Atoms, RecordedView};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const DIVISIONS: usize = 10;
const TEAMS: usize = 10;
const LOCATIONS: usize = 5;
const CONTRACTS: usize = 3;
const PER_DEPARTMENT: usize = LOCATIONS * CONTRACTS;
const RECORDED: usize = 1_000;
const AUDITS: usize = 20_000;
const MIN_GROUP_SIZE: u64 = 5;

/// A group: the departments `first..end` (a division's teams are contiguous).
#[derive(Clone, Copy)]
struct Group {
    first: usize,
    end: usize,
}

/// A filter: a location, a contract type, or both.
#[derive(Clone, Copy)]
struct Filter {
    location: Option<usize>,
    contract: Option<usize>,
}

fn atoms_of(group: Group, filter: Filter) -> AtomSet {
    let mut set = AtomSet::new();
    for department in group.first..group.end {
        for location in 0..LOCATIONS {
            for contract in 0..CONTRACTS {
                if filter.location.is_none_or(|l| l == location)
                    && filter.contract.is_none_or(|c| c == contract)
                {
                    set.insert(department * PER_DEPARTMENT + location * CONTRACTS + contract);
                }
            }
        }
    }
    set
}

fn groups() -> Vec<Group> {
    let departments = DIVISIONS * TEAMS;
    let mut groups = vec![Group {
        first: 0,
        end: departments,
    }];
    groups.extend((0..DIVISIONS).map(|d| Group {
        first: d * TEAMS,
        end: (d + 1) * TEAMS,
    }));
    groups.extend((0..departments).map(|t| Group {
        first: t,
        end: t + 1,
    }));
    groups
}

fn filters() -> Vec<Filter> {
    let locations = (0..LOCATIONS).map(|l| (Some(l), None));
    let contracts = (0..CONTRACTS).map(|c| (None, Some(c)));
    let both = (0..LOCATIONS).flat_map(|l| (0..CONTRACTS).map(move |c| (Some(l), Some(c))));
    locations
        .chain(contracts)
        .chain(both)
        .map(|(location, contract)| Filter { location, contract })
        .collect()
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn report(label: &str, times: &mut [Duration]) {
    if times.is_empty() {
        println!("{label:<10} none");
        return;
    }
    times.sort_unstable();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    println!(
        "{label:<10} {:>6} audits  median {:>7.2} µs  p99 {:>7.2} µs  max {:>8.2} µs",
        times.len(),
        micros(at(0.5)),
        micros(at(0.99)),
        micros(at(1.0)),
    );
}

fn main() {
    let mut rng = StdRng::seed_from_u64(2026);
    let atoms: Atoms = (0..DIVISIONS * TEAMS * PER_DEPARTMENT)
        .map(|_| rng.random_range(0..15))
        .collect();
    let groups = groups();
    let filters = filters();

    let mut recorded: Vec<RecordedView> = groups
        .iter()
        .map(|g| RecordedView::new(atoms_of(*g, Filter::none()), "a group"))
        .collect();
    // Recorded as in production: only views the audit accepted, each once.
    // Bounded, should another seed or size make 1,000 acceptable views unreachable.
    for _ in 0..100 * RECORDED {
        if recorded.len() == RECORDED {
            break;
        }
        let group = groups[rng.random_range(0..groups.len())];
        let filter = filters[rng.random_range(0..filters.len())];
        let view = atoms_of(group, filter);
        let unfiltered = atoms_of(group, Filter::none());
        if !recorded.iter().any(|r| r.atoms == view)
            && audit_view(&atoms, &view, &unfiltered, &recorded, MIN_GROUP_SIZE).is_ok()
        {
            recorded.push(RecordedView::new(view, "a view"));
        }
    }
    // Built before timing: the caller holds the sets (parsed from storage) already.
    let requests: Vec<(AtomSet, AtomSet)> = (0..AUDITS)
        .map(|_| {
            let group = groups[rng.random_range(0..groups.len())];
            let filter = filters[rng.random_range(0..filters.len())];
            (atoms_of(group, filter), atoms_of(group, Filter::none()))
        })
        .collect();

    println!(
        "{} atoms ({} respondents), {} recorded views, threshold {MIN_GROUP_SIZE}",
        atoms.len(),
        atoms.respondents(&AtomSet::from_indices(0..atoms.len())),
        recorded.len(),
    );
    let (mut all, mut accepted, mut refused) = (Vec::new(), Vec::new(), Vec::new());
    for (view, group) in &requests {
        let start = Instant::now();
        let verdict = audit_view(&atoms, view, group, &recorded, MIN_GROUP_SIZE);
        let took = start.elapsed();
        // Keeps the verdict observable, so the audit isn't optimised away.
        std::hint::black_box(&verdict);
        all.push(took);
        match verdict {
            Ok(_) => accepted.push(took),
            Err(_) => refused.push(took),
        }
    }
    report("all", &mut all);
    report("accepted", &mut accepted);
    report("refused", &mut refused);
}

impl Filter {
    fn none() -> Filter {
        Filter {
            location: None,
            contract: None,
        }
    }
}
