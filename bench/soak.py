"""Soak test of `leadscore serve`: a long run of mixed valid and hostile requests from several
keep-alive clients, with the server's resident memory sampled throughout.

Prints requests/s, the answers by status, every 5xx and dropped connection, and the server's RSS
over time; ends with the verdict the issue asks for: RSS after warm-up (the first 10% of requests)
(median of the last 10% against the 10% after warm-up) stays within ±10%, and no 5xx. Exits non-zero when either fails.

Usage: bench/soak.sh [--requests 1000000] [--clients 8]
"""

import argparse
import http.client
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KEY = "soak-key"
VALID = {
    "attributes": {"industry": "software", "job_level": "vp", "company_size": "201-1000",
                   "country": "US", "email_domain": "business", "annual_revenue": 25000000},
    "events": [{"type": "pricing_view", "timestamp": "2025-06-28"},
               {"type": "demo_request", "timestamp": "2025-06-30T10:00:00Z"}],
    "as_of": "2025-07-01",
}


def lead(rng):
    body = dict(VALID, lead_id=f"soak-{rng.randrange(1_000_000)}")
    body["attributes"] = dict(VALID["attributes"], industry=rng.choice(
        ["software", "retail", "media", "finance", "an industry never seen before"]))
    return body


def hostile(rng):
    """(method, path, body bytes, headers) of one hostile request."""
    kind = rng.randrange(14)
    json_headers = {"content-type": "application/json"}
    if kind == 0:  # malformed JSON
        return "POST", "/v1/score", b'{"lead_id": "a", "attributes": {', json_headers
    if kind == 1:  # deep nesting
        depth = rng.choice([200, 5_000, 50_000])
        return "POST", "/v1/score", b"[" * depth + b"]" * depth, json_headers
    if kind == 2:  # a huge id
        return "POST", "/v1/score", json.dumps({"lead_id": "x" * rng.choice([300, 100_000])}).encode(), json_headers
    if kind == 3:  # a huge attribute value
        body = dict(lead(rng))
        body["attributes"] = {"industry": "y" * 200_000}
        return "POST", "/v1/score", json.dumps(body).encode(), json_headers
    if kind == 4:  # thousands of unknown attributes, long names
        body = dict(lead(rng))
        body["attributes"] = {f"{'k' * 200}{i}": i for i in range(2_000)}
        return "POST", "/v1/score", json.dumps(body).encode(), json_headers
    if kind == 5:  # NaN and infinities
        return "POST", "/v1/score", b'{"lead_id": "n", "attributes": {"annual_revenue": NaN}}', json_headers
    if kind == 6:  # invalid UTF-8
        return "POST", "/v1/score", b'{"lead_id": "\xff\xfe"}', json_headers
    if kind == 7:  # wrong types
        return "POST", "/v1/score", b'{"lead_id": 5, "events": "none"}', json_headers
    if kind == 8:  # too many events
        body = dict(lead(rng))
        body["events"] = [{"type": "page_view", "timestamp": "2025-06-01"}] * 10_001
        return "POST", "/v1/score", json.dumps(body).encode(), json_headers
    if kind == 9:  # an oversize batch
        return "POST", "/v1/score/batch", json.dumps({"leads": [lead(rng)] * 1_001}).encode(), json_headers
    if kind == 10:  # unknown route, wrong method
        return rng.choice([("GET", f"/v1/{'z' * rng.randrange(1, 3_000)}", b"", {}),
                           ("DELETE", "/v1/score", b"", {})])
    if kind == 11:  # outcomes without a key, and with a bad one
        headers = dict(json_headers)
        if rng.random() < 0.5:
            headers["authorization"] = "Bearer wrong"
        return "POST", "/v1/outcomes", b'{"outcomes": [{"lead_id": "a", "outcome": "won"}]}', headers
    if kind == 12:  # a bad timestamp, long
        body = dict(lead(rng), as_of="9" * 50_000)
        return "POST", "/v1/score", json.dumps(body).encode(), json_headers
    return "POST", "/v1/score", b"not json at all", {"content-type": "text/plain"}


def valid(rng):
    roll = rng.random()
    headers = {"content-type": "application/json"}
    if roll < 0.80:
        return "POST", "/v1/score", json.dumps(lead(rng)).encode(), headers
    if roll < 0.90:
        return "POST", "/v1/score/batch", json.dumps({"leads": [lead(rng) for _ in range(10)]}).encode(), headers
    if roll < 0.95:
        headers["authorization"] = f"bearer {KEY}"
        outcome = {"lead_id": f"soak-{rng.randrange(1_000_000)}", "outcome": rng.choice(["won", "lost"])}
        return "POST", "/v1/outcomes", json.dumps({"outcomes": [outcome]}).encode(), headers
    return "GET", rng.choice(["/v1/models", "/healthz", "/readyz", "/metrics", "/openapi.json"]), b"", {}


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--hostile", type=float, default=0.5, help="share of hostile requests")
    options = parser.parse_args()
    work, port = tempfile.mkdtemp(prefix="leadscore-soak-"), free_port()
    server = subprocess.Popen(
        [os.environ["LEADSCORE"], "serve", "--model", f"{ROOT}/tests/fixtures/golden-gbdt.json",
         "--rules", f"{ROOT}/data/starter-rules.toml", "--db", f"{work}/scores.db",
         "--api-key", KEY, "--listen", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=open(f"{work}/server.log", "w"))
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    statuses, failures, lock = Counter(), [], threading.Lock()
    done = [0]
    per_client = options.requests // options.clients

    # Requests are drawn from pools built once, so that the clients spend their time sending.
    pool_rng = random.Random(7)
    hostile_pool = [hostile(pool_rng) for _ in range(400)]
    valid_pool = [valid(pool_rng) for _ in range(2_000)]

    def client(seed):
        rng = random.Random(seed)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for _ in range(per_client):
            pool = hostile_pool if rng.random() < options.hostile else valid_pool
            method, path, body, headers = rng.choice(pool)
            try:
                connection.request(method, path, body=body, headers=headers)
                answer = connection.getresponse()
                answer.read()
                status = answer.status
                if answer.getheader("connection", "").lower() == "close":
                    connection.close()
            except (OSError, http.client.HTTPException) as error:
                status = f"connection dropped ({type(error).__name__})"
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            with lock:
                statuses[status] += 1
                done[0] += 1
                if not isinstance(status, int) or status >= 500:
                    failures.append((method, path[:60], status))

    threads = [threading.Thread(target=client, args=(seed,)) for seed in range(options.clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    samples = []
    print(f"load average {os.getloadavg()[0]:.2f}; {options.requests:,} requests, "
          f"{options.hostile:.0%} hostile, {options.clients} clients", flush=True)
    print("seconds | requests | req/s | server RSS MiB", flush=True)
    while any(thread.is_alive() for thread in threads):
        time.sleep(2)
        elapsed = time.perf_counter() - started
        samples.append((done[0], rss_mib(server.pid)))
        print(f"{elapsed:7.0f} | {done[0]:>9,} | {done[0] / elapsed:>6,.0f} | {samples[-1][1]:8.1f}", flush=True)
    elapsed = time.perf_counter() - started
    server.terminate()
    server.wait(timeout=60)
    print(f"\n{done[0]:,} requests in {elapsed:.0f} s ({done[0] / elapsed:,.0f} req/s); "
          f"load average {os.getloadavg()[0]:.2f}")
    print("answers: " + ", ".join(f"{status}: {count:,}" for status, count in sorted(statuses.items(), key=str)))
    # Growth, not spikes: the median RSS of the last 10% of requests against that of the 10%
    # after warm-up (the first 10%). Single samples swing by the requests in flight at the time.
    def median_rss(low, high):
        window = sorted(rss for count, rss in samples if low * options.requests <= count <= high * options.requests)
        return window[len(window) // 2] if window else float("nan")

    early, late = median_rss(0.1, 0.2), median_rss(0.9, 1.0)
    growth = (late - early) / early
    peak = max(rss for _, rss in samples)
    print(f"server RSS: median {early:.1f} MiB after warm-up, {late:.1f} MiB at the end "
          f"({growth:+.1%}); highest sample {peak:.1f} MiB")
    flat = abs(growth) <= 0.10
    print(f"5xx or dropped: {len(failures)}; memory flat within ±10%: {'yes' if flat else 'NO'}")
    for failure in failures[:10]:
        print(f"  {failure}")
    sys.exit(0 if flat and not failures else 1)


if __name__ == "__main__":
    main()
