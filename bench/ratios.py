"""Every speed goal of issue 14 in one run, each figure next to its peer measured in the same run.

Usage: bench/ratios.sh [--leads N] [--batch-leads M] [--fit-leads F] [--write-readme]

- Serving: single-lead `POST /v1/score` with the full answer against a bare axum route in the same
  process (the load example), for the logistic and the boosted golden models; the p99 latency
  at half the rate the full answer reached, beside the bare route's at the same rate; and the
  full answer from a server recording no score, which the goal does not count but which prices
  the recording.
- Training: GBDT fits alone against LightGBM fits, on the same feature table with the same
  settings, alternating, once per seed 1-3 (total time, mean test AUC); leadscore's logistic (as
  fitted in `leadscore train`'s search, beside its other settings) against scikit-learn's lbfgs;
  N generated leads (bench/compare.py). `--fit-leads F` adds the GBDT fits on F generated leads
  (the goal's 1,000,000).
- Batch: `leadscore score` on the N training leads and their events (or on M generated leads with
  `--batch-leads M`, the goal's 1,000,000), logistic without reasons (from the CSV files and from
  the same data as Parquet files written by pyarrow, as a warehouse export is) and GBDT with
  reasons: leads/s and peak memory against the input files' size.
- Event aggregation: events/s per core (the criterion bench of leadscore-features).

`--write-readme` replaces the README's table between its `bench/ratios.sh` markers.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import compare
from warehouse import run as measured

ROOT = Path(__file__).resolve().parent.parent
LEADSCORE = compare.LEADSCORE
BEGIN, END = "<!-- bench/ratios.sh: begin -->", "<!-- bench/ratios.sh: end -->"


def run(*args: str, env: dict | None = None) -> str:
    out = subprocess.run(list(args), check=True, capture_output=True, text=True, cwd=ROOT, env=env)
    return out.stdout


def serving() -> list[tuple]:
    out = run(str(Path(LEADSCORE).parent / "examples" / "load"),
              "--model", "tests/fixtures/golden-logistic.json", "--model", "tests/fixtures/golden-gbdt.json")
    rates = {}
    for line in out.splitlines():
        # target, req/s, p50, p99, p99.9, vs bare ("-" when sent on a schedule), then the CPU per
        # request ("-" off Linux).
        match = re.match(r"(.+?)\s{2,}(\d+)\s+[\d.]+\s+([\d.]+)\s+[\d.]+\s+(?:\d+%|-)\s+(?:[\d.]+|-)$", line)
        if match:
            rates[match.group(1).strip()] = (float(match.group(2)), float(match.group(3)))
    bare = rates["bare axum route (constant)"][0]
    rows = []
    for kind, name, goal in [("logistic", "golden-logistic", 0.70), ("gbdt", "golden-gbdt", 0.50)]:
        full, p99 = rates[f"leadscore {kind} ({name}), full answer"]
        rows.append((f"serving {kind}, full answer (p99 {p99:.2f} ms)", f"{full:,.0f} req/s",
                     f"bare axum {bare:,.0f} req/s", full / bare, f"≥ {goal:.0%} of bare"))
        # At half the rate reached, beside the bare route sent the same schedule: the machine's
        # own latency at that rate.
        half = next(label for label in rates if label.startswith(f"leadscore {kind} ({name}), full answer at half load"))
        paced = half.split("full answer ", 1)[1]
        reached, half_p99 = rates[half]
        bare_reached, bare_p99 = rates[f"bare axum route (constant) {paced}"]
        rows.append((f"serving {kind}, p99 at half load ({reached:,.0f} req/s reached)", f"{half_p99:.2f} ms",
                     f"bare axum {bare_p99:.2f} ms at {bare_reached:,.0f} req/s", 1.0 / half_p99, "p99 < 1 ms"))
        # The same server without a database: what the goal's score recording costs.
        unrecorded, unrecorded_p99 = rates[f"leadscore {kind} ({name}), full answer, no score recording"]
        rows.append((f"serving {kind}, full answer, no score recording (p99 {unrecorded_p99:.2f} ms)",
                     f"{unrecorded:,.0f} req/s", f"bare axum {bare:,.0f} req/s", unrecorded / bare,
                     "none (prices the recording the goal keeps on)"))
    return rows


def training(leads: int) -> tuple[list[tuple], Path]:
    work = compare.WORK / f"ratios-{leads}"
    work.mkdir(parents=True, exist_ok=True)
    spec = compare.prepare_synthetic(work, leads)
    fits, aucs, models = {}, {}, {}
    for kind in ["logistic", "gbdt"]:
        model = work / f"{kind}.json"
        report = compare.leadscore("train", *compare.files(work, "train", spec), "--models", kind, "--out", str(model))
        fits[kind] = next(c for c in report["leaderboard"] if c["chosen"])["fit_seconds"]
        evaluation = compare.leadscore("evaluate", "--model", str(model), *compare.files(work, "test", spec))
        aucs[kind] = evaluation["auc"]
        models[kind] = model
    train, test, features, categorical = compare.peer_frames(work, spec, models["gbdt"])
    peers = {name: (auc, seconds) for name, auc, seconds in compare.run_peers(train, test, features, categorical)}
    rows = [gbdt_fit_row(work, train, test, features)]
    rows += [
        ("logistic fit (in `leadscore train`'s search, beside its other settings)", f"{fits['logistic']:.2f} s (AUC {aucs['logistic']:.4f})",
         f"scikit-learn {peers['sklearn logistic'][1]:.2f} s (AUC {peers['sklearn logistic'][0]:.4f})",
         peers["sklearn logistic"][1] / fits["logistic"], "≥ 1× scikit-learn's speed"),
    ]
    return rows, work


def gbdt_fit_row(work: Path, train, test, features) -> tuple:
    alone = compare.fits_side_by_side(work, train, test, features)
    (our_auc, our_s, our_trees), (lgb_auc, lgb_s, lgb_trees) = alone["leadscore"], alone["lightgbm"]
    return (f"GBDT fit, {len(train):,} closed leads (one fit alone per seed 1-3: total time, mean AUC)",
            f"{our_s:.2f} s ({our_trees} trees, AUC {our_auc:.4f})",
            f"LightGBM {lgb_s:.2f} s ({lgb_trees} trees, AUC {lgb_auc:.4f})",
            lgb_s / our_s, "≥ 1× LightGBM's speed, AUC ≥")


def gbdt_fit_at(leads: int) -> list[tuple]:
    """The GBDT fits side by side on `leads` generated leads; the data and feature tables are kept in
    bench/.work and reused."""
    work = compare.WORK / f"fit-{leads}"
    spec = {"data": [], "events": True}
    if not (work / "test-features.parquet").exists():
        spec = compare.prepare_synthetic(work, leads)
        compare.leadscore("train", *compare.files(work, "train", spec), "--models", "gbdt",
                          "--out", str(work / "gbdt.json"))
    train, test, features, _ = compare.peer_frames(work, spec, work / "gbdt.json")
    return [gbdt_fit_row(work, train, test, features)]


def batch(work: Path, batch_leads: int | None) -> list[tuple]:
    data = work / "train"
    if batch_leads is not None:
        # The goal's size (1M leads, ~10M events), scored with the models trained above.
        data = compare.WORK / f"batch-{batch_leads}"
        if not (data / "events.csv").exists():
            compare.leadscore("generate", "--leads", str(batch_leads), "--seed", "3", "--out", str(data))
    leads, events = data / "leads.csv", data / "events.csv"
    # The same leads and events as a warehouse export writes them: Parquet, written by pyarrow.
    parquet = (data / "leads.parquet", data / "events.parquet")
    if not all(path.exists() for path in parquet):
        import pyarrow.csv
        import pyarrow.parquet
        for text, table in zip((leads, events), parquet):
            pyarrow.parquet.write_table(pyarrow.csv.read_csv(text), table)
    with leads.open() as lines:
        n = sum(1 for _ in lines) - 1
    rows = []
    for kind, reasons, goal, files, form in [("logistic", "0", 1_000_000, (leads, events), ""),
                                             ("logistic", "0", 1_000_000, parquet, ", Parquet files"),
                                             ("gbdt", "3", 200_000, (leads, events), "")]:
        size = sum(path.stat().st_size for path in files)
        # Read from memory, as in the runs beside it: this machine pages out memory left untouched
        # for a minute (DAMON), and reading the 0.5 GB back from its disk took 20 s of a 26 s run.
        for path in files:
            with path.open("rb") as file:
                while file.read(1 << 24):
                    pass
        seconds, peak_mib = measured(
            [LEADSCORE, "score", "--model", str(work / f"{kind}.json"), "--leads", str(files[0]),
             "--events", str(files[1]), "--reasons", reasons, "--out", str(data / f"scores-{kind}.parquet")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        rows.append((f"batch {kind}, {'no' if reasons == '0' else reasons} reasons{form} ({n:,} leads)",
                     f"{n / seconds:,.0f} leads/s, peak {peak_mib:,.0f} MiB",
                     f"goal {goal:,} leads/s; input files {size / 2**20:,.0f} MiB", (n / seconds) / goal,
                     "≥ 1× goal, peak ≤ 2× input"))
    return rows


def aggregation() -> list[tuple]:
    out = subprocess.run(["cargo", "bench", "-q", "-p", "leadscore-features", "--bench", "aggregate"],
                         check=True, capture_output=True, text=True, cwd=ROOT).stdout
    block = out[out.index("aggregate_"):]
    match = re.search(r"thrpt:\s+\[[\d.]+ \w+/s ([\d.]+) (\w)elem/s", block)
    value = float(match.group(1)) * {"M": 1e6, "K": 1e3, "G": 1e9}[match.group(2)]
    cores = os.cpu_count() or 1
    return [("event aggregation", f"{value / 1e6:.1f} M events/s on {cores} cores",
             f"{value / cores / 1e6:.1f} M per core", value / cores / 10e6, "≥ 10 M events/s per core")]


def table(rows: list[tuple], load: str) -> str:
    lines = [f"Measured by `bench/ratios.sh` (load average {load}):", "",
             "| measure | leadscore | peer or goal | ratio | goal |", "|---|---|---|---|---|"]
    for what, ours, theirs, ratio, goal in rows:
        lines.append(f"| {what} | {ours} | {theirs} | {ratio:.2f} | {goal} |")
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    leads = int(argv[argv.index("--leads") + 1]) if "--leads" in argv else 100_000
    batch_leads = int(argv[argv.index("--batch-leads") + 1]) if "--batch-leads" in argv else None
    fit_leads = int(argv[argv.index("--fit-leads") + 1]) if "--fit-leads" in argv else None
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    rows = serving()
    trained, work = training(leads)
    rows += trained + (gbdt_fit_at(fit_leads) if fit_leads else []) + batch(work, batch_leads) + aggregation()
    load = f"{load} at the start, {' '.join(Path('/proc/loadavg').read_text().split()[:3])} at the end"
    text = table(rows, load)
    print(text)
    if "--write-readme" in argv:
        readme = ROOT / "README.md"
        content = readme.read_text()
        start, end = content.index(BEGIN) + len(BEGIN), content.index(END)
        readme.write_text(content[:start] + "\n" + text + "\n" + content[end:])
        print(f"wrote the table into {readme}")


if __name__ == "__main__":
    main(sys.argv[1:])
