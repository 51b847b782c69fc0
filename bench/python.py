"""Scores the same leads through the Python package and through `leadscore score`.

Each side runs in its own process so peak memory is its own: the CLI reads the CSV files and
writes Parquet; Python reads them with pyarrow (timed apart), scores tables in memory and gets a
pyarrow table back — and, for the like-for-like figure, is also handed the file paths. Prints a
table (or --json) with the load average beside it.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

WORK = Path("bench/.work/python")
AS_OF = "2025-07-01"

CHILD = r"""
import json, resource, sys, time
import numpy as np
import pyarrow.csv as csv
import leadscore
mode, folder, model_file, reasons = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
model = leadscore.Model.load(model_file)
started = time.perf_counter()
if mode == "tables":
    leads = csv.read_csv(f"{folder}/leads.csv")
    events = csv.read_csv(f"{folder}/events.csv")
else:
    leads, events = f"{folder}/leads.csv", f"{folder}/events.csv"
read = time.perf_counter() - started
started = time.perf_counter()
scored = model.score(leads, events, as_of="%s", reasons=reasons)
scoring = time.perf_counter() - started
np.save(f"{folder}/python-{mode}.npy", scored["probability"].to_numpy())
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"read": read, "score": scoring, "rows": scored.num_rows, "peak": peak}))
""" % AS_OF


def run(command):
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{command[0]} failed:\n{done.stderr}")
    return time.perf_counter() - started, done.stdout


def peak_of(command):
    """Wall time and peak RSS of a command, from GNU time when present."""
    timed = ["/usr/bin/time", "-f", "%M"] if Path("/usr/bin/time").exists() else []
    started = time.perf_counter()
    done = subprocess.run(timed + command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{command[0]} failed:\n{done.stderr}")
    elapsed = time.perf_counter() - started
    peak = int(done.stderr.strip().splitlines()[-1]) * 1024 if timed else 0
    return elapsed, peak


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--kind", default="logistic")
    parser.add_argument("--reasons", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    cli = os.environ["LEADSCORE"]
    folder = WORK / f"{args.leads}"
    if not (folder / "leads.csv").exists():
        print(f"generating {args.leads:,} leads …", file=sys.stderr)
        run([cli, "generate", "--leads", str(args.leads), "--seed", "11", "--out", str(folder)])
    model_file = WORK / f"model-{args.kind}.json"
    if not model_file.exists():
        train = WORK / "train"
        if not (train / "leads.csv").exists():
            run([cli, "generate", "--leads", "30000", "--seed", "3", "--out", str(train)])
        print(f"training a {args.kind} model on 30,000 leads …", file=sys.stderr)
        run([cli, "train", "--leads", str(train / "leads.csv"), "--events", str(train / "events.csv"),
             "--models", args.kind, "--out", str(model_file)])

    load = os.getloadavg()
    print("scoring with the CLI …", file=sys.stderr)
    cli_seconds, cli_peak = peak_of(
        [cli, "score", "--model", str(model_file), "--leads", str(folder / "leads.csv"),
         "--events", str(folder / "events.csv"), "--as-of", AS_OF, "--reasons", str(args.reasons),
         "--out", str(folder / "cli.parquet")]
    )
    results = {"cli": {"seconds": cli_seconds, "peak": cli_peak}}
    for mode in ["paths", "tables"]:
        print(f"scoring through Python ({mode}) …", file=sys.stderr)
        _, out = run([sys.executable, "-c", CHILD, mode, str(folder), str(model_file), str(args.reasons)])
        results[mode] = json.loads(out)
    load_after = os.getloadavg()

    import numpy as np
    import pyarrow.parquet as pq

    expected = pq.read_table(folder / "cli.parquet")["probability"].to_numpy()
    identical = {
        mode: bool(np.array_equal(np.load(folder / f"python-{mode}.npy"), expected))
        for mode in ["paths", "tables"]
    }
    rows = len(expected)
    report = {
        "leads": rows,
        "kind": args.kind,
        "reasons": args.reasons,
        "load_average": [round(load[0], 2), round(load_after[0], 2)],
        "cli": {"seconds": cli_seconds, "leads_per_s": rows / cli_seconds, "peak_mib": cli_peak / 2**20},
        "python_paths": {
            "seconds": results["paths"]["score"],
            "leads_per_s": rows / results["paths"]["score"],
            "peak_mib": results["paths"]["peak"] / 2**20,
        },
        "python_tables": {
            "read_seconds": results["tables"]["read"],
            "seconds": results["tables"]["score"],
            "leads_per_s": rows / results["tables"]["score"],
            "peak_mib": results["tables"]["peak"] / 2**20,
        },
        "identical_probabilities": identical,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{rows:,} leads, {args.kind} model, {args.reasons} reasons each way; "
          f"load average {report['load_average'][0]} → {report['load_average'][1]}")
    print(f"{'':34}{'seconds':>9}{'leads/s':>11}{'peak MiB':>10}")
    print(f"{'leadscore score (CSV in, Parquet out)':34}{cli_seconds:9.1f}{rows / cli_seconds:11,.0f}{cli_peak / 2**20:10,.0f}")
    for label, key in [("Python, file paths", "python_paths"), ("Python, pyarrow tables", "python_tables")]:
        r = report[key]
        print(f"{label:34}{r['seconds']:9.1f}{r['leads_per_s']:11,.0f}{r['peak_mib']:10,.0f}")
    print(f"(pyarrow read the CSV files in {report['python_tables']['read_seconds']:.1f} s, not counted above)")
    print("probabilities identical to the CLI's:", identical)


if __name__ == "__main__":
    main()
