#!/usr/bin/env python3
"""The headline figures of a wave report, computed with pandas from the raw export, as an
analyst with a spreadsheet habit would: the yardstick `examples/backend_bench.rs` times
`icsat report` against (whole process each, Python's start and imports included).

    pandas_report.py RAW.csv DEFINITION.toml DEPARTMENTS.csv

RAW.csv is `icsat export SURVEY --wave L --raw`; DEFINITION.toml the survey's definition
(for the question types and the likert scales' favourable values); DEPARTMENTS.csv the
department tree as `icsat roster import --departments` reads it (department,parent,...).

Prints one JSON object: {"groups": [{"department": NAME or null, "respondents": N,
"questions": {ID: {"n", "mean", "favorable", "enps"}}}]}, the whole audience (null) first,
then every department that labels at least one row or has such a department below it.
Per question: n answered, mean, favourable share (likert: the scale's `favorable`
values), and for nps/enps questions promoters minus detractors in percent of n.

A department's figures are those of the rows labelled with it or with a department below
it. The raw export labels a row with the nearest department that the report shows for
everything in the row, so the figures equal the report's for every department whose rows
all keep their own label (all of them on the benchmark's data, which has no skipped
questions), and for every department above one whose rows moved up.
"""

import json
import sys
import tomllib

import pandas as pd


def question_kinds(definition):
    """(id, type, favourable values) of every question, in order."""
    scales = definition.get("scales", {})
    out = []
    for section in definition.get("sections", []):
        for q in section.get("questions", []):
            favourable = ()
            if q["type"] == "likert":
                favourable = tuple(scales.get(q.get("scale"), {}).get("favorable", ()))
            out.append((q["id"], q["type"], favourable))
    return out


def main(raw_path, definition_path, departments_path):
    with open(definition_path, "rb") as f:
        kinds = question_kinds(tomllib.load(f))
    tree = pd.read_csv(departments_path, dtype=str, keep_default_na=False)
    parent = dict(zip(tree["department"], tree["parent"]))

    rows = pd.read_csv(raw_path, encoding="utf-8-sig", dtype={"response": str, "department": str})
    label = rows["department"].fillna("")
    numeric = [(q, t, fav) for q, t, fav in kinds if t in ("likert", "rating", "nps", "enps") and q in rows]

    # Per label: sums that add up over departments (counts, sums, favourable, promoters,
    # detractors); the figures are derived after the roll-up.
    parts = {"respondents": pd.Series(1, index=rows.index)}
    for q, t, fav in numeric:
        values = rows[q]
        parts[(q, "n")] = values.notna()
        parts[(q, "sum")] = values.fillna(0)
        if t == "likert" and fav:
            parts[(q, "fav")] = values.isin(fav)
        if t in ("nps", "enps"):
            parts[(q, "pro")] = values >= 9
            parts[(q, "det")] = values <= 6
    sums = pd.DataFrame(parts).groupby(label).sum()

    # Each label's chain of departments up to the top; a row counts for all of them.
    def chain(name):
        seen = []
        while name and name not in seen:
            seen.append(name)
            name = parent.get(name, "")
        return seen

    members = {}
    for name in sums.index:
        for d in chain(name):
            members.setdefault(d, []).append(name)
    order = [None] + [d for d in tree["department"] if d in members]

    def figures(total):
        out = {}
        for q, t, fav in numeric:
            n = int(total[(q, "n")])
            if n == 0:
                continue
            f = {"n": n, "mean": float(total[(q, "sum")]) / n}
            if (q, "fav") in total.index:
                f["favorable"] = float(total[(q, "fav")]) / n
            if (q, "pro") in total.index:
                f["enps"] = 100.0 * (float(total[(q, "pro")]) - float(total[(q, "det")])) / n
            out[q] = f
        return out

    groups = []
    for d in order:
        total = sums.sum() if d is None else sums.loc[members[d]].sum()
        groups.append(
            {"department": d, "respondents": int(total["respondents"]), "questions": figures(total)}
        )
    json.dump({"groups": groups}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
