"""The HTTP contract, checked the way an app developer meets it: a real `leadscore serve`, its
`/openapi.json` validated with openapi-spec-validator, a Python client generated from it with
openapi-python-client, and that client calling every scoring route — answers and problems parsed
into the generated types and equal to the raw JSON. Run by `.ci/run`; exits non-zero on any
failure.

Usage: LEADSCORE=path/to/leadscore python tests/openapi/check.py
"""

import importlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from openapi_spec_validator import validate

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LEAD = {
    "lead_id": "openapi-1",
    "attributes": {"industry": "software", "job_level": "vp", "company_size": "201-1000",
                   "country": "US", "email_domain": "business", "annual_revenue": 25000000},
    "events": [{"type": "pricing_view", "timestamp": "2025-06-28"},
               {"type": "demo_request", "timestamp": "2025-06-30T10:00:00Z"}],
    "as_of": "2025-07-01",
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url, body=None):
    request = urllib.request.Request(url, data=body and json.dumps(body).encode(),
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)


def check(condition, message):
    if not condition:
        sys.exit(f"openapi check failed: {message}")


def main():
    port, work = free_port(), tempfile.mkdtemp(prefix="leadscore-openapi-")
    server = subprocess.Popen(
        [os.environ["LEADSCORE"], "serve", "--model", f"{ROOT}/tests/fixtures/golden-gbdt.json",
         "--rules", f"{ROOT}/data/starter-rules.toml", "--db", f"{work}/scores.db",
         "--api-key", "ci-key", "--listen", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                fetch(f"{base}/healthz")
                break
            except OSError:
                time.sleep(0.1)
        spec = fetch(f"{base}/openapi.json")
        validate(spec)
        print(f"openapi.json is valid OpenAPI {spec['openapi']} ({len(spec['paths'])} paths)")

        subprocess.run(["openapi-python-client", "generate", "--url", f"{base}/openapi.json",
                        "--meta", "none", "--output-path", f"{work}/leadscore_client"],
                       check=True, capture_output=True, cwd=work,
                       env={**os.environ, "PATH": os.path.dirname(sys.executable) + ":" + os.environ["PATH"]})
        sys.path.insert(0, work)
        client_module = importlib.import_module("leadscore_client")
        generated = {
            name[:-3]
            for tag in os.listdir(f"{work}/leadscore_client/api") if not tag.startswith("_")
            for name in os.listdir(f"{work}/leadscore_client/api/{tag}") if name.endswith(".py")
            and not name.startswith("_")
        }
        operations = {op["operationId"] for path in spec["paths"].values() for op in path.values()}
        check(operations <= generated, f"operations without a client function: {operations - generated}")
        print(f"generated client covers all {len(operations)} operations")

        from leadscore_client.api.scoring import score, score_batch
        from leadscore_client.api.outcomes import outcomes
        from leadscore_client.models import BatchRequest, OutcomesRequest, Problem, ScoreRequest

        client = client_module.AuthenticatedClient(base_url=base, token="ci-key")
        answer = score.sync(client=client, body=ScoreRequest.from_dict(LEAD))
        raw = fetch(f"{base}/v1/score", LEAD)
        check(not isinstance(answer, Problem), f"score answered a problem: {answer}")
        check(0 < answer.probability < 1 and answer.probability == raw["probability"],
              f"probability {answer.probability} vs raw {raw['probability']}")
        check(answer.points.total == raw["points"]["total"], "points differ from the raw answer")
        check(len(answer.reasons.positive) > 0, "no reasons")
        print(f"score: probability {answer.probability:.4f}, tier {answer.tier}, "
              f"points {answer.points.total}, {len(answer.reasons.positive)} positive reasons")

        batch = score_batch.sync(client=client, body=BatchRequest.from_dict(
            {"leads": [LEAD, {**LEAD, "lead_id": "openapi-2"}]}))
        check([r.lead_id for r in batch.results] == ["openapi-1", "openapi-2"], "batch order")
        check(batch.results[0].probability == raw["probability"], "batch and single disagree")

        problem = score.sync(client=client, body=ScoreRequest.from_dict(
            {**LEAD, "attributes": {"annual_revenue": "lots"}}))
        check(isinstance(problem, Problem) and problem.status == 422
              and problem.field == "attributes.annual_revenue", f"problem: {problem}")
        print(f"a bad field comes back as a typed Problem: {problem.status} {problem.field}")

        recorded = outcomes.sync(client=client, body=OutcomesRequest.from_dict(
            {"outcomes": [{"lead_id": "openapi-1", "outcome": "won"}]}))
        check(not isinstance(recorded, Problem), f"outcomes answered a problem: {recorded}")
        anonymous = client_module.Client(base_url=base)
        refused = outcomes.sync_detailed(client=anonymous, body=OutcomesRequest.from_dict(
            {"outcomes": [{"lead_id": "openapi-1", "outcome": "won"}]}))
        check(refused.status_code == 401 and isinstance(refused.parsed, Problem),
              f"outcomes without a key: {refused.status_code}")
        print("outcomes: recorded with the key, a typed 401 problem without")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
