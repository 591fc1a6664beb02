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

IMPLS = ["ext", "naive", "floor"]
NAMES = {"ext": "ours", "naive": "naive PL/pgSQL", "floor": "floor (one statement)"}

# Scenario: (title, read_only). Order is the report's order.
SCENARIOS = {
    "uniform": ("reserve+release, uniform over the SKUs", False),
    "zipfian": ("reserve+release, zipfian s=1.1 over the SKUs", False),
    "flash": ("single-SKU flash sale, stock lasts", False),
    "exact": ("single-SKU exactness: 1,000 units, 64 clients x 200 attempts", False),
    "salable_0": ("salable_qty, no active holds", True),
    "salable_1m": ("salable_qty with many active holds", True),
}


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


def closed_loop_table(summary, read_only, verdicts=None):
    head = "| implementation | tps (median) | tps range | p50 ms | p99 ms |"
    sep = "|---|---:|---:|---:|---:|"
    if not read_only:
        head += " successes | rejects |"
        sep += "---:|---:|"
    head += " ours ÷ this |"
    sep += "---:|"
    if verdicts:
        head += " exactly 1,000? |"
        sep += "---|"
    lines = [head, sep]
    ours = summary.get("ext", {}).get("tps")
    for impl in IMPLS:
        s = summary.get(impl)
        if not s:
            continue
        line = (f"| {NAMES[impl]} | {fmt(s['tps'])} | {fmt(s['tps_min'])}–{fmt(s['tps_max'])} "
                f"| {fmt(s['p50'], 2)} | {fmt(s['p99'], 2)} |")
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
    """Grouped bars: ours ÷ naive and ours ÷ floor per scenario; 1.0 is parity."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    labels = [name for name, _, _ in ratios]
    x = range(len(labels))
    width = 0.38
    fig, ax = plt.subplots(figsize=(max(6, 1.3 * len(labels) + 2), 4.5))
    for offset, idx, label, color in ((-width / 2, 1, "ours ÷ naive", "#4c72b0"),
                                      (width / 2, 2, "ours ÷ floor", "#dd8452")):
        values = [r[idx] or 0 for r in ratios]
        bars = ax.bar([i + offset for i in x], values, width, label=label, color=color)
        for bar, v in zip(bars, values):
            ax.annotate(f"{v:.2f}", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                        ha="center", va="bottom", fontsize=8)
    ax.axhline(1.0, color="black", linewidth=0.8, linestyle="--")
    ax.set_xticks(list(x))
    ax.set_xticklabels(labels, rotation=20, ha="right")
    ax.set_ylabel("ratio (>1: ours faster)")
    ax.set_title("inventory_reservation vs baselines (tps; expiry: holds drained/s)")
    ax.legend()
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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    meta = read_meta(args.work)
    rows = read_results(args.work)
    seconds, runs = int(meta.get("seconds", 0)), int(meta.get("runs", 0))

    md = [f"# Benchmark, {meta.get('started_utc', '?')} UTC", ""]
    if seconds < 30 or runs < 3:
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
        f"- Finished {meta.get('finished_utc', '?')} UTC. How to read this: bench/README.md",
        "",
    ]

    summaries = {name: summarize_closed_loop(rows, name) for name in SCENARIOS}
    verdicts = exact_verdicts(rows)
    expiry = expiry_summary(rows)

    # Summary first: one line per scenario, the numbers behind each ratio next to it.
    ratios = []
    md += ["## Summary", "",
           "| scenario | ours | naive | floor | ours ÷ naive | ours ÷ floor | check |",
           "|---|---:|---:|---:|---:|---:|---|"]
    for name, (title, _) in SCENARIOS.items():
        s = summaries[name]
        if "ext" not in s:
            continue
        ours = s["ext"]["tps"]
        rn = ratio(ours, s.get("naive", {}).get("tps"))
        rf = ratio(ours, s.get("floor", {}).get("tps"))
        check = ""
        if name == "exact":
            check = ", ".join(f"{NAMES[i].split()[0]} {'PASS' if v[0] == v[1] else 'FAIL'}"
                              for i, v in verdicts.items())
        problems = [p for impl in s for p in s[impl]["problems"]]
        if problems:
            check = (check + "; " if check else "") + "pgbench errors, see below"
        md.append(f"| {name} (tps) | {fmt(ours)} | {fmt(s.get('naive', {}).get('tps'))} "
                  f"| {fmt(s.get('floor', {}).get('tps'))} | {fmt_ratio(rn)} | {fmt_ratio(rf)} | {check} |")
        ratios.append((name, rn, rf))
    if "ext" in expiry:
        ours = expiry["ext"]["rate"]
        rn = ratio(ours, expiry.get("naive", {}).get("rate"))
        rf = ratio(ours, expiry.get("floor", {}).get("rate"))
        md.append(f"| expiry (holds/s) | {fmt(ours)} | {fmt(expiry.get('naive', {}).get('rate'))} "
                  f"| {fmt(expiry.get('floor', {}).get('rate'))} | {fmt_ratio(rn)} | {fmt_ratio(rf)} | |")
        ratios.append(("expiry", rn, rf))
    md.append("")

    for name, (title, read_only) in SCENARIOS.items():
        s = summaries[name]
        if not s:
            continue
        clients = "64 clients, 12,800 attempts per run" if name == "exact" else f"{meta.get('clients')} clients"
        md += [f"## {name}: {title} ({clients})", ""]
        if read_only:
            holds = active_holds(rows, name)
            md += ["Active holds on the queried SKUs: " +
                   ", ".join(f"{NAMES[i].split()[0]} {holds[i]:,}" for i in IMPLS if i in holds), ""]
        md += closed_loop_table(s, read_only, verdicts if name == "exact" else None)
        md.append("")
        if name == "exact":
            for impl, (_, _, detail) in verdicts.items():
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
               "Naive: one PL/pgSQL loop, one transaction. "
               "Floor: one statement. Load: uniform reserve+release, rate-limited; its latency is "
               "split into before (after a 2 s warm-up), during and after the drain. Execution p99 "
               "leaves out pgbench's schedule lag: the time from a transaction's scheduled start "
               "to its actual start (its client busy with the previous one, or off the CPU).", ""]
        md += expiry_table(expiry)
        md.append("")

    consistency = [r for r in rows if r.get("scenario") == "consistency"]
    if consistency:
        md += ["## Consistency at the end", "",
               "Items whose held counter differs from their active holds (must all be 0): " +
               ", ".join(f"{r['impl']} {r['mismatches']}" for r in consistency), ""]

    png = os.path.splitext(args.out)[0] + ".png"
    if ratios and chart(png, ratios):
        md += [f"![ratios]({os.path.basename(png)})", ""]

    text = "\n".join(md)
    with open(args.out, "w") as f:
        f.write(text)
    print(text)
    # A failed exactness check is a correctness bug: say so with the exit status too.
    if any(v[0] != v[1] for v in verdicts.values()):
        print("EXACTNESS CHECK FAILED", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
