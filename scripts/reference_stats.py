#!/usr/bin/env python3
"""Reference figures for src/stats, computed independently with pandas and scipy.

Builds small datasets of raw answers (deterministic: fixed seed, and the answers are
written into the fixture itself), computes every figure of docs/spec/statistics.md
from the raw answers as an analyst would, and writes tests/fixtures/stats/reference.json.
The Rust tests rebuild their tallies from the same raw answers and compare every figure
to 1e-9.

Run from the repository root:  python3 scripts/reference_stats.py
Needs: pip install numpy pandas scipy

Where scipy returns NaN the spec leaves the figure undefined, and the decisions of
src/stats apply (see its module documentation):
- mean, favourable share and index need n >= 1; sd needs n >= 2, mean_ci n >= 2 and sd > 0
  (cut at the scale's ends);
- a trend test whose standard error is zero gives p = 1.0 when both waves' figures are
  equal, no p-value when they differ; Welch's test needs n >= 2 in both waves;
- a change next to a hidden wave is withheld (no delta, no p-value);
- Pearson's r is shown only from 20 pairs, and is undefined for constant answers.
"""

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

Z95 = 1.959963984540054
OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "stats" / "reference.json"
rng = np.random.default_rng(20270301)


def num(x):
    """A float for JSON, or None for an undefined figure."""
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) else x


def z_of(level):
    return Z95 if level == 0.95 else float(stats.norm.ppf(0.5 + level / 2))


def draw(values, weights, n):
    weights = np.asarray(weights, dtype=float)
    return [int(v) for v in rng.choice(values, size=n, p=weights / weights.sum())]


def wilson(successes, n, z):
    if n == 0:
        return None
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return [max(centre - half, 0.0), min(centre + half, 1.0)]


# ---------------------------------------------------------------- scale questions


def scale_expected(answers, k, favorable, level=0.95):
    s = pd.Series(answers, dtype=float)
    n = int(s.count())
    mean = s.mean() if n >= 1 else None
    sd = s.std(ddof=1) if n >= 2 else None
    if n >= 2 and sd > 0:
        lo, hi = stats.t.interval(level, n - 1, loc=mean, scale=stats.sem(s))
        mean_ci = [max(lo, 1.0), min(hi, float(k))]  # cut at the scale's ends
    else:
        mean_ci = None  # one answer, or all alike: no interval
    fav = int(s.isin(favorable).sum())
    dist = s.value_counts().reindex([float(v) for v in range(1, k + 1)], fill_value=0)
    return {
        "n": n,
        "mean": num(mean),
        "sd": num(sd),
        "mean_ci": None if mean_ci is None else [num(x) for x in mean_ci],
        "favorable": fav / n if n else None,
        "favorable_ci": wilson(fav, n, z_of(level)),
        "index": None if mean is None else (mean - 1) / (k - 1) * 100,
        "distribution": {str(int(v)): int(c) for v, c in dist.items()},
    }


def scale_case(name, k, favorable, answers, level=0.95):
    return {
        "name": name,
        "points": k,
        "favorable": favorable,
        "level": level,
        "answers": answers,
        "expected": scale_expected(answers, k, favorable, level),
    }


typical5 = draw([1, 2, 3, 4, 5], [1, 3, 8, 18, 10], 40)
scale_cases = [
    scale_case("agree5 typical", 5, [4, 5], typical5),
    scale_case("agree5 typical at 90%", 5, [4, 5], typical5, level=0.90),
    scale_case("n = 0", 5, [4, 5], []),
    scale_case("n = 1", 5, [4, 5], [4]),
    scale_case("n = 2", 5, [4, 5], [2, 5]),
    scale_case("n = 2, equal", 3, [2, 3], [3, 3]),
    scale_case("all answers equal", 5, [4, 5], [3] * 12),
    scale_case("all favourable", 5, [4, 5], [5] * 7 + [4] * 3),
    scale_case("rating 10, top two", 10, [9, 10], draw(list(range(1, 11)), [1, 1, 2, 3, 5, 8, 9, 7, 4, 3], 57)),
    scale_case("agree7, favourable 5-7", 7, [5, 6, 7], draw(list(range(1, 8)), [2, 3, 4, 6, 7, 5, 3], 33)),
    scale_case("agree5, 2500 answers", 5, [4, 5], draw([1, 2, 3, 4, 5], [2, 4, 9, 14, 6], 2500)),
]

# ---------------------------------------------------------------- eNPS / NPS


def nps_expected(answers, level=0.95):
    s = pd.Series(answers, dtype=float)
    n = int(s.count())
    promoters = int((s >= 9).sum())
    passives = int(s.between(7, 8).sum())
    detractors = int((s <= 6).sum())
    dist = s.value_counts().reindex([float(v) for v in range(0, 11)], fill_value=0)
    out = {
        "n": n,
        "enps": None,
        "enps_ci": None,
        "promoters": promoters,
        "passives": passives,
        "detractors": detractors,
        "distribution": {str(int(v)): int(c) for v, c in dist.items()},
    }
    if n:
        p, d = promoters / n, detractors / n
        v = (p + d - (p - d) ** 2) / n
        half = 100 * z_of(level) * math.sqrt(v)
        out["enps"] = 100 * (p - d)
        out["enps_ci"] = [100 * (p - d) - half, 100 * (p - d) + half]
    return out


def nps_case(name, answers):
    return {"name": name, "answers": answers, "expected": nps_expected(answers)}


nps_weights = [2, 1, 1, 2, 2, 4, 5, 9, 11, 9, 7]
nps_cases = [
    nps_case("typical", draw(list(range(11)), nps_weights, 41)),
    nps_case("n = 0", []),
    nps_case("n = 1", [9]),
    nps_case("n = 2", [10, 3]),
    nps_case("all promoters", [9, 10, 10, 9, 10, 10]),
    nps_case("all detractors", [0, 6, 3, 5, 6, 1, 4]),
    nps_case("all passives", [7, 8, 8, 7]),
    nps_case("300 answers", draw(list(range(11)), nps_weights, 300)),
]

# ---------------------------------------------------------------- choice questions


def choice_expected(answers, options):
    answered = [sorted(set(a)) for a in answers if a]
    exploded = pd.Series([o for a in answered for o in a], dtype=int)
    counts = exploded.value_counts().reindex(range(len(options)), fill_value=0)
    n = len(answered)
    return {
        "n": n,
        "options": [
            {"option": options[i], "count": int(counts[i]), "share": int(counts[i]) / n if n else None}
            for i in range(len(options))
        ],
    }


channels = ["Email", "Ticket portal", "Chat", "Phone", "In person"]
single = [[int(x)] if x >= 0 else [] for x in draw([-1, 0, 1, 2, 3, 4], [2, 6, 9, 5, 2, 1], 30)]
multiple = []
for _ in range(25):
    chosen = [i for i in range(5) if rng.random() < [0.5, 0.6, 0.4, 0.2, 0.1][i]]
    multiple.append(chosen)
multiple[3] = [1, 1, 2]  # an option chosen twice counts once
choice_cases = [
    {"name": name, "options": channels, "multiple": multi, "answers": answers,
     "expected": choice_expected(answers, channels)}
    for name, multi, answers in [
        ("single choice with blanks", False, single),
        ("multiple choice", True, multiple),
        ("nobody answered", True, [[], [], []]),
    ]
]

# ---------------------------------------------------------------- services


def service_expected(table, questions, nps, hidden):
    df = pd.DataFrame(table, columns=[q["id"] for q in questions] + ([nps] if nps else []), dtype=float)
    shown = [q for q in questions if q["id"] not in hidden]
    indices, fav, answers = [], 0, 0
    for q in shown:
        col = df[q["id"]].dropna()
        if len(col):
            indices.append((col.mean() - 1) / (q["points"] - 1) * 100)
        fav += int(col.isin(q["favorable"]).sum())
        answers += int(col.count())
    nps_value = None
    if nps and nps not in hidden:
        nps_value = nps_expected(df[nps].dropna().tolist())["enps"]
    return {
        "satisfaction": float(np.mean(indices)) if indices else None,
        "favorable": fav / answers if answers else None,
        "nps": nps_value,
        "n": int(df.notna().any(axis=1).sum()),
    }


def service_table(n, questions, nps, skip_share=0.15, blank_share=0.1):
    rows = []
    for _ in range(n):
        if rng.random() < skip_share:  # "I have not used this service"
            rows.append([None] * (len(questions) + (1 if nps else 0)))
            continue
        row = []
        for q in questions:
            blank = rng.random() < blank_share or q.get("nobody")
            row.append(None if blank else draw(list(range(1, q["points"] + 1)), q["weights"], 1)[0])
        if nps:
            row.append(None if rng.random() < blank_share else draw(list(range(11)), nps_weights, 1)[0])
        rows.append(row)
    return rows


def service_case(name, n, questions, nps, hidden=()):
    table = service_table(n, questions, nps)
    public = [{k: q[k] for k in ("id", "points", "favorable")} for q in questions]
    return {
        "name": name, "questions": public, "nps": nps, "hidden": list(hidden), "rows": table,
        "expected": service_expected(table, public, nps, set(hidden)),
    }


it_questions = [
    {"id": "it-responsive", "points": 5, "favorable": [4, 5], "weights": [1, 2, 5, 9, 6]},
    {"id": "it-quality", "points": 5, "favorable": [4, 5], "weights": [2, 4, 6, 7, 3]},
    {"id": "it-tools", "points": 4, "favorable": [3, 4], "weights": [1, 3, 5, 2]},
]
service_cases = [
    service_case("IT, three questions and nps", 60, it_questions, "it-recommend"),
    service_case("IT, one question hidden", 60, it_questions, "it-recommend", hidden=["it-quality"]),
    service_case("Facilities, no nps question", 30, it_questions[:2], None),
    service_case("a question nobody answered", 25,
                 it_questions[:1] + [dict(it_questions[1], nobody=True)], "fac-recommend"),
]

# ---------------------------------------------------------------- trends


def proportion_change(x1, n1, x2, n2, shown):
    if not shown or n1 == 0 or n2 == 0:
        return {"delta": None, "p_value": None, "significant": False}
    delta = x2 / n2 - x1 / n1
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    p = 2 * stats.norm.sf(abs(delta / se)) if se > 0 else (1.0 if delta == 0 else None)
    return {"delta": delta, "p_value": num(p), "significant": bool(p is not None and p < 0.05)}


def mean_change(a, b, shown):
    if not shown or len(a) == 0 or len(b) == 0:
        return {"delta": None, "p_value": None, "significant": False}
    a, b = pd.Series(a, dtype=float), pd.Series(b, dtype=float)
    delta = b.mean() - a.mean()
    if len(a) < 2 or len(b) < 2:
        p = None
    elif a.var() == 0 and b.var() == 0:
        p = 1.0 if delta == 0 else None  # scipy: NaN
    else:
        with warnings.catch_warnings():
            # scipy warns about a constant sample; its result is still exact
            warnings.simplefilter("ignore", RuntimeWarning)
            p = stats.ttest_ind(b, a, equal_var=False).pvalue
    return {"delta": delta, "p_value": num(p), "significant": bool(p is not None and p < 0.05)}


def nps_change(a, b, shown):
    if a is None or b is None:
        return None
    if not shown or len(a) == 0 or len(b) == 0:
        return {"delta": None, "p_value": None, "significant": False}

    def score(x):
        s = pd.Series(x, dtype=float)
        p, d = (s >= 9).mean(), (s <= 6).mean()
        return p - d, (p + d - (p - d) ** 2) / len(s)

    (e1, v1), (e2, v2) = score(a), score(b)
    delta = 100 * (e2 - e1)
    if v1 + v2 > 0:
        p = 2 * stats.norm.sf(abs((e2 - e1) / math.sqrt(v1 + v2)))
    else:
        p = 1.0 if e1 == e2 else None
    return {"delta": delta, "p_value": num(p), "significant": bool(p is not None and p < 0.05)}


def scale_trend(name, earlier, later, shown=True, k=5, favorable=(4, 5)):
    expected = None
    if earlier is not None and later is not None:
        fav = lambda xs: sum(1 for x in xs if x in favorable)  # noqa: E731
        expected = {
            "favorable": proportion_change(fav(earlier), len(earlier), fav(later), len(later), shown),
            "mean": mean_change(earlier, later, shown),
        }
    return {"name": name, "points": k, "favorable": list(favorable), "both_shown": shown,
            "earlier": earlier, "later": later, "expected": expected}


wave1 = draw([1, 2, 3, 4, 5], [2, 4, 8, 14, 7], 48)
wave2 = draw([1, 2, 3, 4, 5], [1, 3, 7, 16, 11], 52)
trend_cases = [
    scale_trend("typical", wave1, wave2),
    scale_trend("large shift", draw([1, 2, 3, 4, 5], [6, 8, 8, 5, 2], 80), draw([1, 2, 3, 4, 5], [1, 2, 5, 12, 10], 80)),
    scale_trend("identical waves", wave1, list(wave1)),
    scale_trend("constant and equal", [4] * 9, [4] * 11),
    scale_trend("constant and different", [4] * 9, [2] * 11),
    scale_trend("earlier constant", [3] * 10, wave2),
    scale_trend("earlier n = 1", [3], wave2),
    scale_trend("earlier n = 2", [2, 4], wave2),
    scale_trend("earlier without answers", [], wave2),
    scale_trend("a wave below the threshold", wave1, wave2, shown=False),
    scale_trend("new question (later wave only)", None, wave2),
    scale_trend("retired question (earlier wave only)", wave1, None),
]

nps1 = draw(list(range(11)), nps_weights, 45)
nps2 = draw(list(range(11)), [1, 1, 1, 1, 2, 3, 4, 8, 12, 12, 10], 50)
nps_trend_cases = [
    {"name": name, "both_shown": shown, "earlier": a, "later": b, "expected": nps_change(a, b, shown)}
    for name, a, b, shown in [
        ("typical", nps1, nps2, True),
        ("identical waves", nps1, list(nps1), True),
        ("all promoters both", [9, 10, 10], [10, 9, 9, 10], True),
        ("all promoters, then all detractors", [9, 10, 10], [0, 5, 6, 2], True),
        ("all passives, then mixed", [7, 8, 7, 8], [9, 3, 7], True),
        ("a wave without answers", [], nps2, True),
        ("a wave below the threshold", nps1, nps2, False),
        ("new question", None, nps2, True),
        ("retired question", nps1, None, True),
    ]
]

# ---------------------------------------------------------------- drivers


def pairs_case(name, xs, ys):
    expected = None
    if len(xs) >= 20:
        if np.std(xs) == 0 or np.std(ys) == 0:
            expected = {"n": len(xs), "r": None, "p_value": None}
        else:
            res = stats.pearsonr(xs, ys)
            expected = {"n": len(xs), "r": float(res.statistic), "p_value": float(res.pvalue)}
    return {"name": name, "pairs": [[int(x), int(y)] for x, y in zip(xs, ys)], "expected": expected}


def related(n, noise, sign=1):
    xs = draw([1, 2, 3, 4, 5], [1, 2, 4, 5, 3], n)
    ys = [int(min(10, max(0, round(5 + sign * 1.6 * (x - 3) + rng.normal(0, noise))))) for x in xs]
    return xs, ys


driver_cases = [
    pairs_case("n = 19: not shown", *related(19, 1.5)),
    pairs_case("n = 20", *related(20, 1.5)),
    pairs_case("n = 60, strong", *related(60, 1.0)),
    pairs_case("n = 45, negative", *related(45, 2.0, sign=-1)),
    pairs_case("n = 30, weak", *related(30, 6.0)),
    pairs_case("r = 1", [1, 2, 3, 4, 5] * 5, [2, 4, 6, 8, 10] * 5),
    pairs_case("r = -1", [1, 2, 3, 4, 5] * 4, [10, 8, 6, 4, 2] * 4),
    pairs_case("constant question", [4] * 22, draw(list(range(11)), nps_weights, 22)),
]

# ---------------------------------------------------------------- fixed measures: csat, ces, lost_time
# Their own generator, so that adding them left every case above unchanged.
mrng = np.random.default_rng(20270317)


def mdraw(values, weights, n):
    weights = np.asarray(weights, dtype=float)
    return [int(v) for v in mrng.choice(values, size=n, p=weights / weights.sum())]


# csat: 1..5, favourable 4-5 (CSAT = favourable share); ces: 1..7, favourable 5-7;
# lost_time: bands 1..6 read as hours at their midpoints (more than a day = 12 h, an
# assumption), favourable 1-2 (none, or under 30 minutes).
MEASURES = {
    "csat": {"points": 5, "favorable": [4, 5]},
    "ces": {"points": 7, "favorable": [5, 6, 7]},
    "lost_time": {"points": 6, "favorable": [1, 2]},
}
LOST_TIME_HOURS = {1: 0.0, 2: 0.25, 3: 1.25, 4: 3.0, 5: 6.0, 6: 12.0}


def hours_of(answers):
    return pd.Series([LOST_TIME_HOURS[int(v)] for v in answers], dtype=float)


def hours_expected(answers, level=0.95):
    h = hours_of(answers)
    n = int(h.count())
    mean = h.mean() if n >= 1 else None
    sd = h.std(ddof=1) if n >= 2 else None
    if n >= 2 and sd > 0:
        lo, hi = stats.t.interval(level, n - 1, loc=mean, scale=stats.sem(h))
        ci = [max(lo, 0.0), min(hi, 12.0)]  # cut at the lowest and highest midpoint
    else:
        ci = None
    return {"mean_hours": num(mean), "sd_hours": num(sd), "mean_hours_ci": ci}


def measure_case(name, measure, answers, level=0.95):
    m = MEASURES[measure]
    expected = scale_expected(answers, m["points"], m["favorable"], level)
    if measure == "lost_time":
        expected["hours"] = hours_expected(answers, level)
    return {"name": name, "type": measure, "level": level, "answers": answers, "expected": expected}


lost_weights = [9, 12, 8, 4, 2, 1]
measure_cases = [
    measure_case("csat typical", "csat", mdraw([1, 2, 3, 4, 5], [1, 2, 4, 12, 9], 45)),
    measure_case("csat n = 1", "csat", [5]),
    measure_case("csat n = 0", "csat", []),
    measure_case("ces typical", "ces", mdraw(list(range(1, 8)), [1, 1, 2, 4, 7, 9, 5], 38)),
    measure_case("ces at 90%", "ces", mdraw(list(range(1, 8)), [3, 3, 4, 5, 4, 3, 2], 21), level=0.90),
    measure_case("lost_time typical", "lost_time", mdraw(list(range(1, 7)), lost_weights, 50)),
    measure_case("lost_time long losses, interval cut at 12 h", "lost_time", [6] * 6 + [5]),
    measure_case("lost_time nothing lost", "lost_time", [1] * 8),
    measure_case("lost_time n = 1", "lost_time", [4]),
    measure_case("lost_time n = 2", "lost_time", [2, 6]),
    measure_case("lost_time n = 0", "lost_time", []),
    measure_case("lost_time, 400 answers", "lost_time", mdraw(list(range(1, 7)), lost_weights, 400)),
]


def measure_trend(name, measure, earlier, later, shown=True):
    m = MEASURES[measure]
    case = scale_trend(name, earlier, later, shown, k=m["points"], favorable=tuple(m["favorable"]))
    if measure == "lost_time" and case["expected"] is not None:
        # Welch's test on the hours, as on the band values for the mean.
        case["expected"]["hours"] = mean_change(
            hours_of(earlier).tolist(), hours_of(later).tolist(), shown
        )
    case["type"] = measure
    return case


lost1 = mdraw(list(range(1, 7)), lost_weights, 44)
lost2 = mdraw(list(range(1, 7)), [14, 12, 6, 2, 1, 1], 47)
measure_trend_cases = [
    measure_trend("csat typical", "csat", mdraw([1, 2, 3, 4, 5], [2, 3, 5, 10, 6], 40),
                  mdraw([1, 2, 3, 4, 5], [1, 2, 4, 12, 9], 43)),
    measure_trend("ces typical", "ces", mdraw(list(range(1, 8)), [2, 2, 3, 5, 6, 5, 3], 36),
                  mdraw(list(range(1, 8)), [1, 1, 2, 4, 7, 9, 5], 39)),
    measure_trend("lost_time typical", "lost_time", lost1, lost2),
    measure_trend("lost_time identical waves", "lost_time", lost1, list(lost1)),
    measure_trend("lost_time nothing lost in both", "lost_time", [1] * 9, [1] * 11),
    measure_trend("lost_time constant and different", "lost_time", [3] * 9, [1] * 11),
    measure_trend("lost_time earlier n = 1", "lost_time", [5], lost2),
    measure_trend("lost_time a wave below the threshold", "lost_time", lost1, lost2, shown=False),
    measure_trend("lost_time new question", "lost_time", None, lost2),
]

# ---------------------------------------------------------------- response rates

rate_cases = [
    {"invited": i, "responded": r, "expected": {"invited": i, "responded": r, "rate": r / i if i else None}}
    for i, r in [(120, 87), (7, 3), (15, 15), (0, 0)]
]

reference = {
    "about": "Generated by scripts/reference_stats.py from the raw answers below; do not edit.",
    "z": Z95,
    "scale": scale_cases,
    "nps": nps_cases,
    "choice": choice_cases,
    "service": service_cases,
    "scale_trend": trend_cases,
    "nps_trend": nps_trend_cases,
    "drivers": driver_cases,
    "rates": rate_cases,
    "measure": measure_cases,
    "measure_trend": measure_trend_cases,
}
OUT.parent.mkdir(parents=True, exist_ok=True)
OUT.write_text(json.dumps(reference, indent=1) + "\n")
print(f"wrote {OUT}")
