"""Scores one generated set four ways — `leadscore score`, and the `leadscore export sql` query in
DuckDB, PostgreSQL and Spark SQL (local mode) — and prints, side by side, load and query time,
leads per second, the peak memory of each engine's process tree, and parity with `leadscore score`
(largest |Δ probability|; leads whose tier, points, MQL flag or reasons differ).

Run through bench/warehouse.sh, which builds the binary and prepares the virtualenv.
"""

import argparse
import csv
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

LEADSCORE = os.environ["LEADSCORE"]
AS_OF = "2025-07-15"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STARTER_RULES = os.path.join(ROOT, "data", "starter-rules.toml")
BANK = os.path.join(ROOT, "..", "shared", "data", "bank-marketing", "bank-additional-full.csv")
BANK_RULES = """mql_threshold = 30
[grades]
fit = [40, 20, 10]
[[rule]]
name = "Reached on a cell"
group = "fit"
field = "contact"
equals = "cellular"
points = 20
[[rule]]
name = "Earlier success"
group = "fit"
field = "poutcome"
equals = "success"
points = 25
[[rule]]
name = "Low rates"
group = "fit"
field = "euribor3m"
below = 1.5
points = 15
[[rule]]
name = "Called often"
group = "fit"
field = "campaign"
at_least = 5
points = -10
"""


def keyed_bank(work):
    """The UCI file as a warehouse table: comma-separated, with the row number as `lead_id`."""
    leads = os.path.join(work, "bank.csv")
    with open(BANK, newline="") as source, open(leads, "w", newline="") as target:
        writer = csv.writer(target)
        for row, record in enumerate(csv.reader(source, delimiter=";")):
            writer.writerow(["lead_id" if row == 0 else str(row)] + record)
    rules = os.path.join(work, "bank-rules.toml")
    with open(rules, "w") as f:
        f.write(BANK_RULES)
    return leads, rules


def progress(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def tree_rss_kib(root_pid):
    """Resident memory of a process and all its descendants, in KiB (from /proc)."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
        except OSError:
            continue
    total, stack = 0, [root_pid]
    while stack:
        pid = stack.pop()
        stack.extend(children.get(pid, []))
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


class PeakMemory:
    """Samples a process tree's resident memory every 50 ms while a block runs."""

    def __init__(self, pid):
        self.pid, self.peak, self.done = pid, 0, threading.Event()

    def __enter__(self):
        def sample():
            while not self.done.is_set():
                self.peak = max(self.peak, tree_rss_kib(self.pid))
                self.done.wait(0.05)

        self.thread = threading.Thread(target=sample, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join()


def run(args, **kwargs):
    """Runs a command; returns (seconds, peak MiB of its process tree)."""
    start = time.perf_counter()
    process = subprocess.Popen(args, **kwargs)
    with PeakMemory(process.pid) as memory:
        code = process.wait()
    if code != 0:
        sys.exit(f"{' '.join(map(str, args[:3]))} … failed with exit code {code}")
    return time.perf_counter() - start, memory.peak / 1024


def read_scores(path):
    with open(path, newline="") as f:
        return {row["lead_id"]: row for row in csv.DictReader(f)}


def parity(expected, actual, with_reasons):
    """Largest |Δ probability| and the number of leads whose other outputs differ."""
    if set(expected) != set(actual):
        return float("inf"), len(set(expected) ^ set(actual))
    worst, differing = 0.0, 0
    exact = ["tier", "points", "grade", "points_tier"]
    if with_reasons:
        exact += ["top_positive", "top_negative"]
    for lead, want in expected.items():
        got = actual[lead]
        worst = max(worst, abs(float(want["probability"]) - float(got["probability"])))
        same = all(
            (want.get(c) or "") == (got.get(c) or "")
            or _numbers_equal(want.get(c), got.get(c))
            for c in exact
            if c in want
        )
        mql = lambda v: str(v).lower() in ("true", "t", "1")
        if not same or mql(want["mql"]) != mql(got["mql"]):
            differing += 1
    return worst, differing


def _numbers_equal(a, b):
    try:
        return float(a) == float(b)
    except (TypeError, ValueError):
        return False


DUCKDB = r"""
import csv, sys, time, duckdb
ddl, query, out, timing = open(sys.argv[1]).read(), open(sys.argv[2]).read(), sys.argv[3], sys.argv[4]
con = duckdb.connect()
con.execute("SET TimeZone='UTC'")
con.execute(ddl)
start = time.perf_counter()
for spec in sys.argv[5:]:
    table, path = spec.split("|", 1)
    header = next(csv.reader(open(path, newline="")))
    columns = ", ".join('"' + h + '"' for h in header)
    con.execute(f"COPY {table} ({columns}) FROM '{path}' (HEADER)")
loaded = time.perf_counter()
con.execute(f"COPY ({query.rstrip().rstrip(';')}) TO '{out}' (HEADER)")
open(timing, "w").write(f"{loaded - start} {time.perf_counter() - loaded}")
"""

SPARK = r"""
import csv, re, sys, time
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
ddl, query, out, timing = open(sys.argv[1]).read(), open(sys.argv[2]).read(), sys.argv[3], sys.argv[4]
spark = (SparkSession.builder.master("local[2]").appName("leadscore-warehouse-bench")
         .config("spark.sql.session.timeZone", "UTC").config("spark.driver.memory", "4g")
         .config("spark.ui.enabled", "false").getOrCreate())
spark.sparkContext.setLogLevel("ERROR")
types = {}
for table, body in re.findall(r"CREATE TABLE `([^`]+)` \((.*?)\n\);", ddl, re.S):
    types[table] = dict(re.findall(r"`((?:[^`]|``)+)` (\w+)", body))
start = time.perf_counter()
for spec in sys.argv[5:]:
    table, path = spec.split("|", 1)
    frame = spark.read.option("header", True).option("escape", "\"").option("multiLine", True).csv(path)
    frame = frame.select([F.col(f"`{c}`").cast(t).alias(c) for c, t in types[table].items()
                          if c in frame.columns])
    frame.cache().createOrReplaceTempView(table)
    frame.count()
loaded = time.perf_counter()
scored = spark.sql(query.rstrip().rstrip(";")).toPandas()
queried = time.perf_counter()
scored.to_csv(out, index=False)
open(timing, "w").write(f"{loaded - start} {queried - loaded}")
spark.stop()
"""


class Postgres:
    """A PostgreSQL server of its own in a temporary folder."""

    def __init__(self, work):
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not bins:
            sys.exit("PostgreSQL server binaries missing (apt-get install postgresql)")
        self.bin = os.path.dirname(bins[-1])
        self.dir = os.path.join(work, "postgres")
        os.makedirs(self.dir)
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(self.dir, "postgres")
        self.port = str(20000 + os.getpid() % 20000)
        data = os.path.join(self.dir, "data")
        self.server(["initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                     "--locale=C.UTF-8"])
        options = f"-p {self.port} -k {self.dir} -c listen_addresses='' -c jit=off -c shared_buffers=256MB"
        self.server(["pg_ctl", "-D", data, "-o", options, "-l", os.path.join(self.dir, "log"),
                     "-w", "start"])
        with open(os.path.join(data, "postmaster.pid")) as f:
            self.pid = int(f.readline())

    def server(self, args):
        command = [os.path.join(self.bin, args[0])] + args[1:]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--"] + command
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def psql(self, script, out=None):
        path = os.path.join(tempfile.mkdtemp(), "script.sql")
        with open(path, "w") as f:
            f.write(script)
        start = time.perf_counter()
        with open(out or os.devnull, "w") as sink, PeakMemory(self.pid) as memory:
            subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", self.dir, "-p",
                            self.port, "-U", "postgres", "-d", "postgres", "-f", path],
                           check=True, stdout=sink)
        return time.perf_counter() - start, memory.peak / 1024

    def stop(self):
        self.server(["pg_ctl", "-D", os.path.join(self.dir, "data"), "-m", "immediate", "stop"])


def grow_trees(model_path, trees):
    """Repeats a boosted model's trees up to `trees`, dividing their leaf values by the number of
    copies: a model as large as a long training run makes, with nearly the same scores."""
    with open(model_path) as f:
        model = json.load(f)
    fitted = model["model"]["trees"]
    copies = -(-trees // len(fitted))
    grown = []
    for i in range(trees):
        tree = json.loads(json.dumps(fitted[i % len(fitted)]))
        tree["value"] = [value / copies for value in tree["value"]]
        grown.append(tree)
    model["model"]["trees"] = grown
    with open(model_path, "w") as f:
        json.dump(model, f)
    progress(f"boosted model grown from {len(fitted)} to {trees} trees")


def export(model, rules, dialect, ddl=False):
    args = [LEADSCORE, "export", "sql", "--model", model, "--rules", rules, "--dialect", dialect]
    args += ["--ddl"] if ddl else ["--as-of", AS_OF]
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=100_000, help="generated leads")
    parser.add_argument("--bank", action="store_true",
                        help="the full UCI Bank Marketing set (../shared) instead of generated leads")
    parser.add_argument("--kinds", default="logistic,tree,gbdt")
    parser.add_argument("--engines", default="duckdb,postgres,spark")
    parser.add_argument("--gbdt-trees", type=int, default=0,
                        help="grow the boosted model to this many trees (its trees repeated, "
                             "values divided) to test engines on a large model")
    options = parser.parse_args()
    engines = options.engines.split(",")
    work = tempfile.mkdtemp(prefix="leadscore-warehouse-")
    os.chmod(work, 0o755)
    if options.bank:
        leads, rules = keyed_bank(work)
        events, files, train_args = None, [f"leads|{leads}"], ["--target", "y", "--exclude", "duration"]
        described = "the UCI Bank Marketing set (duration excluded) with four fit rules"
    else:
        progress(f"load average {os.getloadavg()[0]:.2f}; generating {options.leads:,} leads in {work}")
        subprocess.run([LEADSCORE, "generate", "--leads", str(options.leads), "--out", work],
                       check=True, stdout=subprocess.DEVNULL)
        leads, events = os.path.join(work, "leads.csv"), os.path.join(work, "events.csv")
        files, rules = [f"leads|{leads}", f"events|{events}"], STARTER_RULES
        train_args = ["--events", events]
        described = f"{options.leads:,} generated leads with events and the starter rules"
    with open(leads) as f:
        n_leads = sum(1 for _ in f) - 1
    event_args = ["--events", events] if events else []
    postgres = Postgres(work) if "postgres" in engines else None
    rows = []
    try:
        for kind in options.kinds.split(","):
            model = os.path.join(work, f"{kind}.json")
            progress(f"training {kind}")
            subprocess.run([LEADSCORE, "train", "--leads", leads, *train_args, "--models", kind,
                            "--out", model], check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            if kind == "gbdt" and options.gbdt_trees:
                grow_trees(model, options.gbdt_trees)
            expected_path = os.path.join(work, f"{kind}-leadscore.csv")
            progress(f"{kind}: leadscore score")
            seconds, peak = run([LEADSCORE, "score", "--model", model, "--rules", rules, "--leads",
                                 leads, *event_args, "--as-of", AS_OF, "--out", expected_path],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            expected = read_scores(expected_path)
            rows.append((kind, "leadscore score", None, seconds, peak, 0.0, 0))
            for engine in engines:
                dialect = {"duckdb": "duckdb", "postgres": "postgres", "spark": "spark"}[engine]
                ddl, query = export(model, rules, dialect, ddl=True), export(model, rules, dialect)
                out = os.path.join(work, f"{kind}-{engine}.csv")
                progress(f"{kind}: {engine}")
                if engine == "postgres":
                    script = "DROP SCHEMA public CASCADE; CREATE SCHEMA public;\n" + ddl
                    for spec in files:
                        table, path = spec.split("|", 1)
                        header = next(csv.reader(open(path, newline="")))
                        columns = ", ".join('"' + h + '"' for h in header)
                        script += f"\\copy {table} ({columns}) FROM '{path}' WITH (FORMAT csv, HEADER)\n"
                    script += "ANALYZE;\n"
                    load, _ = postgres.psql(script)
                    body = "\n".join(l for l in query.splitlines() if not l.startswith("--"))
                    query_seconds, peak = postgres.psql(
                        "SET TIME ZONE 'UTC';\nCOPY (\n" + body.rstrip().rstrip(";")
                        + "\n) TO STDOUT WITH (FORMAT csv, HEADER);\n", out)
                else:
                    paths = [os.path.join(work, n) for n in ("ddl.sql", "query.sql", "timing")]
                    for path, text in zip(paths, (ddl, query)):
                        with open(path, "w") as f:
                            f.write(text)
                    runner = os.path.join(work, f"run_{engine}.py")
                    with open(runner, "w") as f:
                        f.write(DUCKDB if engine == "duckdb" else SPARK)
                    _, peak = run([sys.executable, runner, *paths[:2], out, paths[2], *files],
                                  stderr=subprocess.DEVNULL if engine == "spark" else None)
                    load, query_seconds = map(float, open(paths[2]).read().split())
                worst, differing = parity(expected, read_scores(out), kind == "logistic")
                rows.append((kind, engine, load, query_seconds, peak, worst, differing))
    finally:
        if postgres:
            postgres.stop()
    progress(f"load average {os.getloadavg()[0]:.2f}")
    print(f"\n{described}: {n_leads:,} leads scored with probability, percentile, tier, reasons "
          f"(logistic) and points; load average {os.getloadavg()[0]:.2f}")
    header = ("model", "engine", "load s", "score s", "leads/s", "× leadscore", "peak MiB",
              "max |Δp|", "leads differing")
    print(" | ".join(header))
    print(" | ".join("---" for _ in header))
    baseline = {}
    for kind, engine, load, seconds, peak, worst, differing in rows:
        speed = n_leads / seconds
        baseline.setdefault(kind, speed)
        print(" | ".join([kind, engine, "—" if load is None else f"{load:.1f}", f"{seconds:.2f}",
                          f"{speed:,.0f}", f"{speed / baseline[kind]:.2f}", f"{peak:,.0f}",
                          f"{worst:.1e}", str(differing)]))
    print("\n`leadscore score` times reading the files too; the engines' score time is the query "
          "alone, their load time the CSV import. PostgreSQL's memory is the server's process tree.")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
