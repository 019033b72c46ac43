#!/usr/bin/env python3
"""Reads `icsat export` CSV files as a spreadsheet user would, with Python's csv module
only, and checks them against the JSON report of the same wave.

    check_export.py summary SUMMARY.csv REPORT.json [TREND.json]
    check_export.py raw RAW.csv REPORT.json

summary: every shown figure equals the report's rounded as the file rounds it (means,
sds, intervals and index to 3 decimals, shares and p-values to 4, eNPS to 1), every
hidden one is empty, each choice option's row has the report's count and share, and
(with the whole audience's trend JSON) the deltas and p-values of the whole-audience
rows equal the trend's.
raw: the whole audience's n and mean of every likert/rating/nps question, recomputed
from the rows, equal the report's; no row names a department the report hides.

Both: the file starts with a UTF-8 byte order mark and no text cell starts with a
character a spreadsheet would run as a formula. Prints "ok" and exits 0, or prints each
problem and exits 1.
"""

import csv
import io
import json
import math
import sys

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
problems = []


def problem(message):
    problems.append(message)


def close(a, b):
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


# Decimals the summary writes each figure with.
DECIMALS = {
    "mean": 3, "sd": 3, "index": 3, "mean_ci_low": 3, "mean_ci_high": 3,
    "favorable": 4, "favorable_ci_low": 4, "favorable_ci_high": 4, "share": 4,
    "enps": 1, "enps_ci_low": 1, "enps_ci_high": 1,
    "delta_mean": 3, "delta_favorable": 4, "delta_enps": 1,
    "p_mean": 4, "p_favorable": 4, "p_enps": 4,
}


def rounded_equal(cell, expected, column):
    """The cell is `expected` rounded to the column's decimals."""
    if cell is None or expected is None:
        return cell is None and expected is None
    return abs(cell - expected) <= 0.5 * 10 ** -DECIMALS[column] + 1e-12


def number(cell):
    return None if cell == "" else float(cell)


def read(path):
    raw = open(path, "rb").read()
    if not raw.startswith(b"\xef\xbb\xbf"):
        problem(f"{path}: no UTF-8 byte order mark")
    text = raw.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def check_text_cell(where, cell):
    if cell.startswith(FORMULA_STARTS):
        problem(f"{where}: the text cell {cell!r} would run as a formula")


def groups_by_name(report):
    return {g["department"]: g for g in report["groups"]}


def check_summary(rows, report, trend):
    groups = groups_by_name(report)
    checked = 0
    for i, row in enumerate(rows, start=2):
        where = f"row {i}"
        for column in ("department", "question", "note", "question_text"):
            check_text_cell(f"{where} {column}", row[column])
        name = row["department"] or None
        group = groups.get(name)
        if group is None:
            problem(f"{where}: group {name!r} is not in the report")
            continue
        if row["option"]:
            q = group["questions"][row["question"]]
            found = [o for o in q.get("options", []) if o["option"] == row["option"]]
            if not found:
                problem(f"{where}: option {row['option']!r} is not in the report")
            elif int(row["n"]) != found[0]["count"] or not rounded_equal(
                number(row["share"]), found[0]["share"], "share"
            ):
                problem(f"{where}: option {row['option']!r} {row['n']} {row['share']} != {found[0]}")
            continue
        if row["suppressed"] == "true":
            figures = [row[c] for c in ("n", "mean", "favorable", "enps", "delta_mean")]
            if any(figures):
                problem(f"{where}: a hidden row carries figures {figures}")
            shown = not group["suppressed"] and not group["questions"][row["question"]].get(
                "suppressed", False
            )
            if shown:
                problem(f"{where}: hidden in the CSV but shown in the report")
            continue
        if group["suppressed"]:
            problem(f"{where}: the report hides {name!r} but the CSV shows it")
            continue
        q = group["questions"][row["question"]]
        if int(row["n"]) != q["n"]:
            problem(f"{where}: n {row['n']} != {q['n']}")
        if int(row["respondents"]) != group["respondents"]:
            problem(f"{where}: respondents {row['respondents']} != {group['respondents']}")
        pairs = []
        if "mean" in q:
            pairs += [
                ("mean", q["mean"]),
                ("sd", q["sd"]),
                ("favorable", q["favorable"]),
                ("index", q["index"]),
                ("mean_ci_low", q["mean_ci"][0] if q["mean_ci"] else None),
                ("mean_ci_high", q["mean_ci"][1] if q["mean_ci"] else None),
                ("favorable_ci_low", q["favorable_ci"][0] if q["favorable_ci"] else None),
                ("favorable_ci_high", q["favorable_ci"][1] if q["favorable_ci"] else None),
            ]
        if "enps" in q:
            pairs += [
                ("enps", q["enps"]),
                ("enps_ci_low", q["enps_ci"][0] if q["enps_ci"] else None),
                ("enps_ci_high", q["enps_ci"][1] if q["enps_ci"] else None),
            ]
        for column, expected in pairs:
            if not rounded_equal(number(row[column]), expected, column):
                problem(f"{where} {column}: {row[column]!r} != {expected!r}")
        checked += 1
        if trend is not None and name is None:
            tq = next((t for t in trend["questions"] if t["id"] == row["question"]), None)
            point = tq["waves"][-1] if tq else None
            change = (point or {}).get("change") or {}
            for kind, columns in (
                ("mean", ("delta_mean", "p_mean")),
                ("favorable", ("delta_favorable", "p_favorable")),
                ("enps", ("delta_enps", "p_enps")),
            ):
                c = change.get(kind) or {}
                for column, key in zip(columns, ("delta", "p_value")):
                    if not rounded_equal(number(row[column]), c.get(key), column):
                        problem(f"{where} {column}: {row[column]!r} != {c.get(key)!r}")
    if checked == 0:
        problem("no shown row was checked")


def check_raw(rows, report):
    groups = groups_by_name(report)
    whole = groups[None]
    for i, row in enumerate(rows, start=2):
        for column, cell in row.items():
            if column == "response":
                continue
            try:
                float(cell)
            except ValueError:
                check_text_cell(f"row {i} {column}", cell)
        name = row["department"] or None
        if name is not None and groups.get(name, {"suppressed": True})["suppressed"]:
            problem(f"row {i}: names {name!r}, which the report hides")
    if len(rows) != whole["respondents"]:
        problem(f"{len(rows)} rows but {whole['respondents']} respondents")
    checked = 0
    for qid, q in whole["questions"].items():
        if "mean" not in q and "enps" not in q:
            continue
        values = [float(r[qid]) for r in rows if r.get(qid, "") != ""]
        if len(values) != q["n"]:
            problem(f"{qid}: {len(values)} answers != n {q['n']}")
            continue
        if "mean" in q and values and not close(sum(values) / len(values), q["mean"]):
            problem(f"{qid}: mean {sum(values) / len(values)} != {q['mean']}")
        if "enps" in q and values:
            score = 100.0 * (sum(v >= 9 for v in values) - sum(v <= 6 for v in values)) / len(values)
            if not close(score, q["enps"]):
                problem(f"{qid}: eNPS {score} != {q['enps']}")
        checked += 1
    if checked == 0:
        problem("no question was checked")


def main(argv):
    if len(argv) < 4 or argv[1] not in ("summary", "raw"):
        print(__doc__, file=sys.stderr)
        return 2
    rows = read(argv[2])
    report = json.load(open(argv[3], encoding="utf-8"))
    if argv[1] == "summary":
        trend = json.load(open(argv[4], encoding="utf-8")) if len(argv) > 4 else None
        check_summary(rows, report, trend)
    else:
        check_raw(rows, report)
    for p in problems:
        print(p)
    if problems:
        return 1
    print(f"ok: {len(rows)} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
