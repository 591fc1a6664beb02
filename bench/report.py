#!/usr/bin/env python3
"""Turn the raw results of bench/run into a Markdown report and a PNG chart of the ratios.

Input, in the work directory bench/run writes:
  meta.tsv     key<TAB>value: machine, settings, what was measured
  results.tsv  one measurement per line, tab-separated key=value fields
  <scenario>/<impl>/run<N>/tx.*  pgbench per-transaction logs (latency in column 3, in µs)

Only the standard library, except matplotlib for the chart (skipped when missing).
"""

import argparse
import glob
import math
import os
import statistics
import sys

# In the order of the report's rows. ext is ours in its default configuration, the one
# measured against the targets; ext_pinned and plain are references.
IMPLS = ["ext", "ext_pinned", "lean_naive", "lean_floor", "naive", "floor", "plain"]
NAMES = {
    "ext": "ours (default configuration)",
    "ext_pinned": "ours, buckets pinned by hand (reference)",
    "lean_naive": "lean naive PL/pgSQL",
    "lean_floor": "lean floor (one statement)",
    "naive": "naive PL/pgSQL (copied tables)",
    "floor": "floor (copied tables)",
    "plain": "plain indexed SELECT (reference)",
    "lean": "lean (lean naive and lean floor)",
    "ext_verify": "inventory.verify()",
}
SHORT = {"ext": "ours", "ext_pinned": "pinned", "lean_naive": "lean naive", "lean_floor": "lean floor",
         "naive": "naive", "floor": "floor", "plain": "plain"}
# What ours is divided by, in the Summary and the chart.
BASES = ["lean_naive", "lean_floor", "naive", "floor", "plain"]

# Scenario: (title, read_only, rows per pgbench transaction). Order is the report's order.
MANY_SKUS = 50
SCENARIOS = {
    "uniform": ("reserve+release, uniform over the SKUs", False, 1),
    "hot16": ("reserve+release, uniform over 16 hot SKUs", False, 1),
    "zipfian": ("reserve+release, zipfian s=1.1 over the SKUs", False, 1),
    "flash": ("single-SKU flash sale, stock lasts", False, 1),
    "exact": ("single-SKU exactness: 1,000 units, 64 clients x 200 attempts", False, 1),
    "sudden": ("a sudden hot item: a cold SKU, 64 clients start at once, reserve only", False, 1),
    "salable_0": ("salable_qty, no active holds", True, 1),
    "salable_many": (f"salable quantities of {MANY_SKUS} random SKUs in one call", True, MANY_SKUS),
    "salable_1m": ("salable_qty with many active holds", True, 1),
}

# sudden: throughput in bins of this many seconds; "steady" is the median bin after
# SUDDEN_SETTLE_S; ours should reach SUDDEN_FACTOR x lean naive's steady tps within
# SUDDEN_TARGET_S, judged on the next second's throughput.
BIN_S = 0.25
SUDDEN_SETTLE_S = 2.0
SUDDEN_FACTOR = 3.0
SUDDEN_TARGET_S = 2.0


def read_meta(work):
    meta = {}
    with open(os.path.join(work, "meta.tsv")) as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition("\t")
            meta[key] = value
    return meta


def read_results(work):
    rows = []
    path = os.path.join(work, "results.tsv")
    if not os.path.exists(path):
        return rows
    with open(path) as f:
        for line in f:
            rows.append(dict(field.split("=", 1) for field in line.rstrip("\n").split("\t") if "=" in field))
    return rows


def percentile(sorted_values, p):
    """Nearest-rank percentile of an ascending list; None when empty."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


# The load's first seconds are left out of "before": each connection's first calls load the
# library and plan their statements, tens of milliseconds that say nothing about the drain.
WARMUP_S = 2.0


def transactions(log_dir):
    """(start time in s since epoch, latency in ms, schedule lag in ms) of every logged
    transaction.

    pgbench logs the completion time and the latency; with -R the latency counts from the
    scheduled start, so completion minus latency is when the client wanted to start. A
    transaction belongs to the moment it started: one that waited out the whole drain
    counts as "during", not as "after" because that is when it finished."""
    out = []
    for path in glob.glob(os.path.join(log_dir, "tx.*")):
        with open(path) as f:
            for line in f:
                cols = line.split()
                if len(cols) < 6:
                    continue
                latency_us = int(cols[2])
                lag_us = int(cols[6]) if len(cols) > 6 else 0
                end = int(cols[4]) + int(cols[5]) / 1e6
                out.append((end - latency_us / 1e6, latency_us / 1000.0, lag_us / 1000.0))
    return out


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(value, digits=0):
    if value is None:
        return "—"
    if digits == 0:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def ratio(a, b):
    if a is None or not b:
        return None
    return a / b


def fmt_ratio(r):
    return "—" if r is None else f"{r:.2f}×"


def summarize_closed_loop(rows, scenario):
    """Per implementation: medians over runs of tps, p50, p99, successes, rejects."""
    summary = {}
    for impl in IMPLS:
        runs = [r for r in rows if r.get("scenario") == scenario and r.get("impl") == impl]
        if not runs:
            continue
        tps, p50, p99, succ, rej, problems = [], [], [], [], [], []
        for r in runs:
            lat = sorted(ms for _, ms, _ in transactions(r["logs"]))
            tps.append(float(r["tps"]))
            p50.append(percentile(lat, 50))
            p99.append(percentile(lat, 99))
            processed = int(r["processed"])
            succ.append(int(r["successes"]))
            rej.append(processed - int(r["successes"]))
            if r["status"] != "0" or r["failed"] not in ("0", ""):
                problems.append(f"run {r['run']}: pgbench status {r['status']}, {r['failed']} failed")
        summary[impl] = {
            "runs": len(runs),
            "tps": median(tps),
            "tps_min": min(tps),
            "tps_max": max(tps),
            "p50": median(p50),
            "p99": median(p99),
            "successes": median(succ),
            "rejects": median(rej),
            "problems": problems,
        }
    return summary


def exact_verdicts(rows):
    out = {}
    for impl in IMPLS:
        checks = [r for r in rows if r.get("scenario") == "exact_check" and r.get("impl") == impl]
        if checks:
            passed = sum(1 for c in checks if c["verdict"] == "PASS")
            detail = "; ".join(
                f"run {c['run']}: {c['holds']} holds, held {c['held']}, salable {c['salable']}, "
                f"attempts {c['attempts']}" for c in checks)
            out[impl] = (passed, len(checks), detail)
    return out


def sudden_verdicts(rows):
    out = {}
    for impl in IMPLS:
        checks = [r for r in rows if r.get("scenario") == "sudden_check" and r.get("impl") == impl]
        if checks:
            passed = sum(1 for c in checks if c["verdict"] == "PASS")
            detail = "; ".join(
                f"run {c['run']}: held {c['held']}, {c['holds']} reservation rows"
                + ("" if c["verify"] == "-" else f", verify() {c['verify']} rows") for c in checks)
            out[impl] = (passed, len(checks), detail)
    return out


def bins(log_dir, seconds):
    """Transactions completed per BIN_S bin from the first transaction's start, over the
    run's length (the tail after -T, when pgbench only waits for the last ones, is left out)."""
    tx = transactions(log_dir)
    if not tx:
        return []
    start = min(t for t, _, _ in tx)
    counts = [0] * int(seconds / BIN_S)
    for t, ms, _ in tx:
        i = int((t + ms / 1000.0 - start) / BIN_S)
        if 0 <= i < len(counts):
            counts[i] += 1
    return counts


def steady_tps(counts):
    """Median throughput of the bins after SUDDEN_SETTLE_S."""
    rest = counts[int(SUDDEN_SETTLE_S / BIN_S):]
    return statistics.median(rest) / BIN_S if rest else None


def seconds_to_reach(counts, tps):
    """Start of the first bin from which the next second's throughput is at least tps;
    None when no second of the run gets there."""
    width = int(round(1.0 / BIN_S))
    if tps is None:
        return None
    for i in range(len(counts) - width + 1):
        if sum(counts[i:i + width]) >= tps:   # transactions in one second = tps
            return i * BIN_S
    return None


def sudden_summary(rows, seconds):
    """Per implementation: bins of each run, median steady tps, and for ours and pinned the
    seconds until they reach SUDDEN_FACTOR x lean naive's (and naive's) steady tps."""
    out = {}
    for impl in IMPLS:
        runs = [r for r in rows if r.get("scenario") == "sudden" and r.get("impl") == impl]
        if runs:
            per_run = [bins(r["logs"], seconds) for r in runs]
            out[impl] = {"bins": per_run, "steady": median([steady_tps(c) for c in per_run])}
    for impl in ("ext", "ext_pinned"):
        if impl not in out:
            continue
        for base in ("lean_naive", "naive"):
            steady = out.get(base, {}).get("steady")
            if steady is None:
                out[impl][f"reach_{base}"] = None
                continue
            times = [seconds_to_reach(c, SUDDEN_FACTOR * steady) for c in out[impl]["bins"]]
            # A run that never got there counts as later than any that did.
            t = statistics.median([math.inf if x is None else x for x in times])
            out[impl][f"reach_{base}"] = t
    return out


def fmt_reach(t):
    if t is None:
        return "—"
    return "not within the run" if math.isinf(t) else f"{t:.2f} s"


def active_holds(rows, scenario):
    values = {r["impl"]: int(r["active"]) for r in rows if r.get("scenario") == f"{scenario}_holds"}
    return values


def expiry_summary(rows):
    out = {}
    for impl in IMPLS:
        drain = [r for r in rows if r.get("scenario") == "expiry_drain" and r.get("impl") == impl]
        load = [r for r in rows if r.get("scenario") == "expiry" and r.get("impl") == impl]
        if not drain or not load:
            continue
        d, l = drain[0], load[0]
        start, end, seconds = float(d["start"]), float(d["end"]), float(d["seconds"])
        tx = transactions(l["logs"])
        first = min((t for t, _, _ in tx), default=start)
        before_tx = [(ms, lag) for t, ms, lag in tx if first + WARMUP_S <= t < start]
        during_tx = [(ms, lag) for t, ms, lag in tx if start <= t <= end]
        before = sorted(ms for ms, _ in before_tx)
        during = sorted(ms for ms, _ in during_tx)
        after = sorted(ms for t, ms, _ in tx if t > end)
        out[impl] = {
            "holds": int(d["holds"]),
            "load_ended_first": bool(tx) and max(t for t, _, _ in tx) < end,
            "drained": d["drained"] == "yes",
            "seconds": seconds,
            # A drain that timed out has no rate: it did not move all the holds in that time.
            "rate": int(d["holds"]) / seconds if seconds > 0 and d["drained"] == "yes" else None,
            "p99_before": percentile(before, 99),
            "p99_during": percentile(during, 99),
            "max_during": during[-1] if during else None,
            # Latency without pgbench's schedule lag: from the transaction's actual start.
            "exec_p99_before": percentile(sorted(ms - lag for ms, lag in before_tx), 99),
            "exec_p99_during": percentile(sorted(ms - lag for ms, lag in during_tx), 99),
            "p99_after": percentile(after, 99),
            "tps": float(l["tps"]),
            "status": l["status"],
        }
    return out


def closed_loop_table(summary, read_only, verdicts=None, rows_per_tx=1, verdict_title="exactly 1,000?"):
    head = "| implementation | tps (median) | tps range | p50 ms | p99 ms |"
    sep = "|---|---:|---:|---:|---:|"
    if rows_per_tx > 1:
        head += " SKUs read/s |"
        sep += "---:|"
    if not read_only:
        head += " successes | rejects |"
        sep += "---:|---:|"
    head += " ours ÷ this |"
    sep += "---:|"
    if verdicts:
        head += f" {verdict_title} |"
        sep += "---|"
    lines = [head, sep]
    ours = summary.get("ext", {}).get("tps")
    for impl in IMPLS:
        s = summary.get(impl)
        if not s:
            continue
        line = (f"| {NAMES[impl]} | {fmt(s['tps'])} | {fmt(s['tps_min'])}–{fmt(s['tps_max'])} "
                f"| {fmt(s['p50'], 2)} | {fmt(s['p99'], 2)} |")
        if rows_per_tx > 1:
            line += f" {fmt(s['tps'] * rows_per_tx)} |"
        if not read_only:
            line += f" {fmt(s['successes'])} | {fmt(s['rejects'])} |"
        line += " — |" if impl == "ext" else f" {fmt_ratio(ratio(ours, s['tps']))} |"
        if verdicts:
            passed, total, _ = verdicts.get(impl, (0, 0, ""))
            line += f" {'PASS' if passed == total and total else 'FAIL'} ({passed}/{total} runs) |"
        lines.append(line)
    return lines


def expiry_table(summary):
    lines = [
        "| implementation | holds | drained in s | holds/s | load p99 ms before | during | during ÷ before | max during "
        "| after | execution p99 ms before | during | load tps | ours ÷ this (holds/s) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    ours = summary.get("ext", {}).get("rate")
    for impl in IMPLS:
        s = summary.get(impl)
        if not s:
            continue
        drained = fmt(s["seconds"], 1) + ("" if s["drained"] else " (timed out)")
        if s["load_ended_first"]:
            drained += " (load ended first: raise BENCH_DRAIN_SECONDS)"
        lines.append(
            f"| {NAMES[impl]} | {fmt(s['holds'])} | {drained} | {fmt(s['rate'])} | {fmt(s['p99_before'], 2)} "
            f"| {fmt(s['p99_during'], 2)} | {fmt_ratio(ratio(s['p99_during'], s['p99_before']))} "
            f"| {fmt(s['max_during'], 2)} | {fmt(s['p99_after'], 2)} "
            f"| {fmt(s['exec_p99_before'], 2)} | {fmt(s['exec_p99_during'], 2)} "
            f"| {fmt(s['tps'])} | {'—' if impl == 'ext' else fmt_ratio(ratio(ours, s['rate']))} |")
    return lines


def chart(path, ratios):
    """Grouped bars: ours divided by each baseline, per scenario; 1.0 is parity.
    ratios: (scenario, {base: ratio or None})."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    series = [b for b in BASES if any(r.get(b) is not None for _, r in ratios)]
    if not series:
        return False
    labels = [name for name, _ in ratios]
    width = 0.8 / len(series)
    colors = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3"]
    fig, ax = plt.subplots(figsize=(max(7, 1.2 * len(labels) + 2), 4.8))
    for k, base in enumerate(series):
        xs = [i - 0.4 + width * (k + 0.5) for i, (_, r) in enumerate(ratios) if r.get(base) is not None]
        values = [r[base] for _, r in ratios if r.get(base) is not None]
        bars = ax.bar(xs, values, width, label=f"ours ÷ {SHORT[base]}", color=colors[k % len(colors)])
        for bar, v in zip(bars, values):
            ax.annotate(f"{v:.2f}", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                        ha="center", va="bottom", fontsize=7)
    ax.axhline(1.0, color="black", linewidth=0.8, linestyle="--")
    ax.set_xticks(list(range(len(labels))))
    ax.set_xticklabels(labels, rotation=20, ha="right")
    ax.set_ylabel("ratio (>1: ours faster)")
    ax.set_title("inventory_reservation, default configuration, vs baselines (tps; expiry: holds/s)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return True


def writeback(meta):
    """When the kernel starts flushing dirty page-cache data, as the run found it (see bench/run)."""
    dbb, ratio, expire = (meta.get(k) for k in ("dirty_background_bytes", "dirty_background_ratio", "dirty_expire_centisecs"))
    if dbb is None:
        return "not recorded"
    start = f"vm.dirty_background_bytes {int(dbb) / 1048576:g} MB" if dbb != "0" else f"vm.dirty_background_ratio {ratio}%"
    return f"{start}, data older than {int(expire) / 100:g} s"


def verdict(ok):
    return "—" if ok is None else ("**PASS**" if ok else "**FAIL**")


def targets(summaries, verdicts, sudden, expiry):
    """The targets of issue 20, for ours in its default configuration: (target, measured, ok)
    with ok None when not measured."""
    out = []

    def tps(name, impl):
        return summaries.get(name, {}).get(impl, {}).get("tps")

    def at_least(name, base, factor):
        ours, theirs = tps(name, "ext"), tps(name, base)
        r = ratio(ours, theirs)
        measured = "—" if r is None else f"{r:.2f}× ({fmt(ours)} vs {fmt(theirs)} tps)"
        out.append((f"{name}: ours ≥ {factor:g}× {SHORT[base]}", measured, None if r is None else r >= factor))

    at_least("flash", "lean_naive", 3)
    if "ext" in verdicts:
        passed, total, _ = verdicts["ext"]
        out.append(("exact: ours sells exactly 1,000 of 1,000, every run", f"{passed}/{total} runs exact",
                    passed == total and total > 0))
    else:
        out.append(("exact: ours sells exactly 1,000 of 1,000, every run", "—", None))
    at_least("hot16", "lean_naive", 2)
    at_least("zipfian", "lean_naive", 2)
    at_least("uniform", "lean_naive", 1.0)
    at_least("uniform", "lean_floor", 0.9)
    at_least("salable_0", "plain", 0.8)
    at_least("salable_1m", "plain", 0.8)

    t = sudden.get("ext", {}).get("reach_lean_naive")
    base = sudden.get("lean_naive", {}).get("steady")
    measured = "—" if t is None else (f"{fmt_reach(t)} (to {fmt(SUDDEN_FACTOR * base)} tps, "
                                      f"{SUDDEN_FACTOR:g}× lean naive's steady {fmt(base)})")
    out.append((f"sudden: ours reaches {SUDDEN_FACTOR:g}× lean naive within {SUDDEN_TARGET_S:g} s", measured,
                None if t is None else t <= SUDDEN_TARGET_S))

    ours, lf = expiry.get("ext", {}).get("rate"), expiry.get("lean_floor", {}).get("rate")
    out.append(("expiry: ours drains at least as many holds/s as lean floor",
                "—" if ours is None or lf is None else f"{fmt(ours)} vs {fmt(lf)} holds/s ({fmt_ratio(ratio(ours, lf))})",
                None if ours is None or lf is None else ours >= lf))
    before, during = expiry.get("ext", {}).get("p99_before"), expiry.get("ext", {}).get("p99_during")
    out.append(("expiry: ours' load p99 during the drain ≤ 2× before",
                "—" if before is None or during is None
                else f"{fmt(during, 2)} vs {fmt(before, 2)} ms ({fmt_ratio(ratio(during, before))})",
                None if before is None or during is None else during <= 2 * before))
    return out


def sudden_table(sudden, seconds):
    """Steady tps, the first seconds bin by bin (median over runs), and when ours gets there."""
    shown = min(int(3.0 / BIN_S), int(seconds / BIN_S))
    head = ("| implementation | steady tps | " + " | ".join(f"{i * BIN_S:.2f}" for i in range(shown))
            + f" | reaches {SUDDEN_FACTOR:g}× lean naive | reaches {SUDDEN_FACTOR:g}× naive |")
    lines = [head, "|---|---:|" + "---:|" * shown + "---:|---:|"]
    for impl in IMPLS:
        s = sudden.get(impl)
        if not s:
            continue
        cells = []
        for i in range(shown):
            values = [c[i] / BIN_S for c in s["bins"] if i < len(c)]
            cells.append(fmt(median(values)))
        reach = [fmt_reach(s.get(f"reach_{b}")) if impl in ("ext", "ext_pinned") else "—"
                 for b in ("lean_naive", "naive")]
        lines.append(f"| {NAMES[impl]} | {fmt(s['steady'])} | " + " | ".join(cells) + f" | {reach[0]} | {reach[1]} |")
    return lines


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    meta = read_meta(args.work)
    rows = read_results(args.work)
    seconds, runs = int(meta.get("seconds", 0)), int(meta.get("runs", 0))

    md = [f"# Benchmark, {meta.get('started_utc', '?')} UTC", ""]
    if seconds < 8 or runs < 3:
        md += [f"> **Smoke run** ({seconds} s x {runs} run): checks that the benchmark works; "
               "the numbers are not measurements.", ""]
    md += [
        f"- Machine: {meta.get('cores')} cores ({meta.get('cpu')}), {int(meta.get('ram_mb', 0)) // 1024} GB RAM; "
        f"fdatasync **{meta.get('fdatasync_us') or '?'} µs** per 8 kB write (`pg_test_fsync -s 1`); "
        f"kernel writeback: {writeback(meta)}",
        f"- PostgreSQL {meta.get('pg_version')}: shared_buffers {meta.get('shared_buffers')}, "
        f"max_wal_size {meta.get('max_wal_size')}, checkpoint_timeout {meta.get('checkpoint_timeout')}, "
        f"synchronous_commit {meta.get('synchronous_commit')}; library preloaded (background worker on)",
        f"- Measured: library {meta.get('library')}; source {meta.get('git')}",
        f"- pgbench -M prepared -j 2, {meta.get('clients')} clients unless stated, {seconds} s per run, "
        f"{runs} run(s) per implementation in rotating order, medians; {int(meta.get('skus', 0)):,} SKUs",
        "- Ours runs in its default configuration: no escrow buckets set. The reference \"pinned\" is "
        f"ours on SKUs of its own with {meta.get('buckets', '?')} buckets set by hand on every hot SKU "
        f"(zipfian: SKUs {meta.get('hot_skus', '?')}). Lean: tables written by hand, bigint ids. "
        "Naive and floor: tables copied from ours",
        f"- Finished {meta.get('finished_utc', '?')} UTC. How to read this: bench/README.md",
        "",
    ]

    summaries = {name: summarize_closed_loop(rows, name) for name in SCENARIOS}
    verdicts = exact_verdicts(rows)
    sudden_checks = sudden_verdicts(rows)
    sudden = sudden_summary(rows, seconds)
    expiry = expiry_summary(rows)
    many_missing = meta.get("salable_many_ext") == "missing"

    # The targets first: pass or fail, with the numbers they are judged on.
    md += ["## Targets (issue 20, ours in its default configuration)", "",
           "| target | measured | result |", "|---|---|---|"]
    for target, measured, ok in targets(summaries, verdicts, sudden, expiry):
        md.append(f"| {target} | {measured} | {verdict(ok)} |")
    md += ["", "A — is a target this run did not measure.", ""]

    # Summary: one line per scenario, the numbers behind each ratio next to it.
    ratios = []
    shown = [i for i in IMPLS if any(i in summaries[n] for n in SCENARIOS) or i in expiry]
    bases = [b for b in BASES if b in shown]
    md += ["## Summary", "",
           "| scenario | " + " | ".join(SHORT[i] for i in shown) + " | "
           + " | ".join(f"ours ÷ {SHORT[b]}" for b in bases) + " | check |",
           "|---|" + "---:|" * (len(shown) + len(bases)) + "---|"]
    for name, (title, _, per_tx) in SCENARIOS.items():
        s = summaries[name]
        if not s:
            continue
        ours = s.get("ext", {}).get("tps")
        r = {b: ratio(ours, s.get(b, {}).get("tps")) for b in bases}
        checks = []
        if name == "exact":
            checks.append(", ".join(f"{SHORT[i]} {'PASS' if v[0] == v[1] else 'FAIL'}" for i, v in verdicts.items()))
        if name == "sudden" and sudden_checks:
            checks.append("exact throughout: " + ", ".join(
                f"{SHORT[i]} {'PASS' if v[0] == v[1] else 'FAIL'}" for i, v in sudden_checks.items()))
        if name == "salable_many" and many_missing:
            checks.append("ours has no salable_qty_many in this build")
        if any(p for impl in s for p in s[impl]["problems"]):
            checks.append("pgbench errors, see below")
        unit = "SKUs/s" if per_tx > 1 else "tps"
        values = [fmt(s[i]["tps"] * per_tx) if i in s else "—" for i in shown]
        md.append(f"| {name} ({unit}) | " + " | ".join(values) + " | "
                  + " | ".join(fmt_ratio(r[b]) for b in bases) + f" | {'; '.join(checks)} |")
        ratios.append((name, r))
    if expiry:
        ours = expiry.get("ext", {}).get("rate")
        r = {b: ratio(ours, expiry.get(b, {}).get("rate")) for b in bases}
        values = [fmt(expiry[i]["rate"]) if i in expiry else "—" for i in shown]
        md.append("| expiry (holds/s) | " + " | ".join(values) + " | "
                  + " | ".join(fmt_ratio(r[b]) for b in bases) + " | |")
        ratios.append(("expiry", r))
    md.append("")

    for name, (title, read_only, per_tx) in SCENARIOS.items():
        s = summaries[name]
        if not s and not (name == "salable_many" and many_missing):
            continue
        if name == "exact":
            clients = "64 clients, 12,800 attempts per run"
        elif name == "sudden":
            clients = "64 clients"
        else:
            clients = f"{meta.get('clients')} clients"
        md += [f"## {name}: {title} ({clients})", ""]
        if name == "salable_many" and many_missing:
            md += ["Ours was not measured: the installed build has no "
                   "`inventory.salable_qty_many(text[], text)`.", ""]
            if not s:
                continue
        if read_only and name != "salable_many":
            holds = active_holds(rows, name)
            md += ["Active holds on the queried SKUs: " +
                   ", ".join(f"{SHORT[i]} {holds[i]:,}" for i in IMPLS if i in holds), ""]
        if name == "exact":
            md += closed_loop_table(s, read_only, verdicts)
        elif name == "sudden":
            md += closed_loop_table(s, read_only, sudden_checks, verdict_title="exact throughout?")
        else:
            md += closed_loop_table(s, read_only, rows_per_tx=per_tx)
        md.append("")
        if name == "exact":
            for impl, (_, _, detail) in verdicts.items():
                md.append(f"- {NAMES[impl]}: {detail}")
            md.append("")
        if name == "sudden" and sudden:
            md += [f"Throughput (tps) in {BIN_S * 1000:g} ms bins from the start, median over runs. "
                   f"Steady: the median bin after {SUDDEN_SETTLE_S:g} s. \"Reaches\": the start of the "
                   f"first bin from which the next second averages at least {SUDDEN_FACTOR:g}× that "
                   "baseline's steady tps (median over runs).", ""]
            md += sudden_table(sudden, seconds)
            md.append("")
            for impl, (_, _, detail) in sudden_checks.items():
                md.append(f"- {NAMES[impl]}: {detail}")
            md.append("")
        for impl in IMPLS:
            for p in s.get(impl, {}).get("problems", []):
                md.append(f"- **{NAMES[impl]}, {p}** (pgbench output under bench/work/{name}/{impl}/)")
        if any(s.get(i, {}).get("problems") for i in IMPLS):
            md.append("")

    if expiry:
        md += ["## expiry: drain of lapsed holds under a steady reserve+release load", "",
               f"Ours: the background worker (`inventory.expire_batch_size` {meta.get('expire_batch_size', '?')}, "
               f"`expire_batch_delay` {meta.get('expire_batch_delay', '?')}). "
               "Naive and lean naive: one PL/pgSQL loop, one transaction. "
               "Floor and lean floor: one statement. Load: uniform reserve+release, rate-limited; its latency is "
               "split into before (after a 2 s warm-up), during and after the drain. Execution p99 "
               "leaves out pgbench's schedule lag: the time from a transaction's scheduled start "
               "to its actual start (its client busy with the previous one, or off the CPU).", ""]
        md += expiry_table(expiry)
        md.append("")

    consistency = [r for r in rows if r.get("scenario") == "consistency"]
    if consistency:
        md += ["## Consistency at the end", "",
               "Items whose held counter differs from their active holds (must all be 0): " +
               ", ".join(f"{NAMES.get(r['impl'], r['impl'])} {r['mismatches']}" for r in consistency), ""]

    png = os.path.splitext(args.out)[0] + ".png"
    if ratios and chart(png, ratios):
        md += [f"![ratios]({os.path.basename(png)})", ""]

    text = "\n".join(md)
    with open(args.out, "w") as f:
        f.write(text)
    print(text)
    # A failed exactness check is a correctness bug: say so with the exit status too.
    if any(v[0] != v[1] for v in list(verdicts.values()) + list(sudden_checks.values())):
        print("EXACTNESS CHECK FAILED", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
