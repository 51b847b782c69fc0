"""Predictive quality against the peers' defaults on raw columns: test AUC, ECE, and how far the
validation AUC leadscore reports overstates its test AUC.

Usage: bench/quality.sh [mql] [bank] [mql-seeds]

`mql` is a marketing-qualified-lead export as such exports come: a lead source (9 levels) and a
landing-page id with 3,000 levels whose popularity follows a power law, each with its own effect on
conversion, and nothing else. It is generated here with a fixed seed (20,000 leads, 80/20 split).
`mql-seeds` repeats `mql` with five other seeds (other page effects, other leads) and prints the
mean difference to the best peer, so one draw's noise is not read as a verdict. `bank` is UCI
Bank Marketing (`duration` excluded: it is known only after the call).

The peers see the raw columns with their defaults: scikit-learn's logistic regression on one-hot
levels, a random forest and HistGradientBoosting on ordinal codes, LightGBM and XGBoost on pandas
categories. leadscore sees the same files through `leadscore train` and `leadscore evaluate`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / ".work" / "quality"
LEADSCORE = os.environ.get("LEADSCORE", str(ROOT / "target" / "release" / "leadscore"))
BANK = ROOT.parent / "shared" / "data" / "bank-marketing" / "bank-additional-full.csv"
SEED = 42


def ece(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error over equal-count bins, as leadscore reports it."""
    order = np.argsort(p, kind="stable")
    total = 0.0
    for chunk in np.array_split(order, bins):
        if len(chunk):
            total += len(chunk) * abs(p[chunk].mean() - y[chunk].mean())
    return total / len(y)


def mql_frame(seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n, pages = 20_000, 3_000
    sources = np.array(["organic", "paid_search", "social", "referral", "email", "events", "partner", "direct", "display"])
    source_share = np.array([0.30, 0.20, 0.15, 0.10, 0.08, 0.07, 0.05, 0.03, 0.02])
    source_effect = rng.normal(0.0, 0.5, len(sources))
    popularity = 1.0 / (np.arange(pages) + 10.0) ** 1.1
    page_effect = rng.normal(0.0, 0.9, pages)
    source = rng.choice(len(sources), n, p=source_share)
    page = rng.choice(pages, n, p=popularity / popularity.sum())
    logit = -1.3 + source_effect[source] + page_effect[page]
    won = rng.random(n) < 1.0 / (1.0 + np.exp(-logit))
    created = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    return pd.DataFrame(
        {
            "Lead Number": np.arange(600_000, 600_000 + n),
            "created_at": created.strftime("%Y-%m-%d"),
            "Lead Source": sources[source],
            "Landing Page": [f"lp-{k:04d}" for k in page],
            "Converted": np.where(won, "yes", "no"),
        }
    )


def prepare_mql(work: Path, seed: int = 7) -> dict:
    frame = mql_frame(seed)
    train, test = train_test_split(frame, test_size=0.2, stratify=frame["Converted"], random_state=SEED)
    train.to_csv(work / "train.csv", index=False)
    test.to_csv(work / "test.csv", index=False)
    return {
        "flags": ["--target", "Converted", "--id", "Lead Number"],
        "target": "Converted", "positive": "yes", "drop": ["Lead Number", "created_at"], "sep": ",",
    }


def prepare_bank(work: Path) -> dict:
    frame = pd.read_csv(BANK, sep=";")
    train, test = train_test_split(frame, test_size=0.2, stratify=frame["y"], random_state=SEED)
    train.to_csv(work / "train.csv", sep=";", index=False)
    test.to_csv(work / "test.csv", sep=";", index=False)
    return {"flags": ["--target", "y", "--exclude", "duration"], "target": "y", "positive": "yes",
            "drop": ["duration"], "sep": ";"}


def leadscore(*args: str) -> dict:
    out = subprocess.run([LEADSCORE, *args, "--json"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def peers(work: Path, spec: dict) -> list[tuple[str, float, float]]:
    train = pd.read_csv(work / "train.csv", sep=spec["sep"])
    test = pd.read_csv(work / "test.csv", sep=spec["sep"])
    y = (train.pop(spec["target"]) == spec["positive"]).astype(int).to_numpy()
    ty = (test.pop(spec["target"]) == spec["positive"]).astype(int).to_numpy()
    for frame in (train, test):
        frame.drop(columns=[c for c in spec["drop"] if c in frame], inplace=True)
    categorical = [c for c in train.columns if train[c].dtype == object]
    numeric = [c for c in train.columns if c not in categorical]
    results = []

    def report(name: str, p: np.ndarray) -> None:
        results.append((name, roc_auc_score(ty, p), ece(ty, p)))

    one_hot = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
        ("cat", OneHotEncoder(handle_unknown="ignore"), categorical),
    ])
    logistic = make_pipeline(one_hot, LogisticRegression(max_iter=5000)).fit(train, y)
    report("sklearn logistic", logistic.predict_proba(test)[:, 1])

    ordinal = ColumnTransformer([
        ("num", "passthrough", numeric),
        ("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), categorical),
    ])
    forest = make_pipeline(ordinal, RandomForestClassifier(n_estimators=300, n_jobs=2, random_state=SEED)).fit(train, y)
    report("sklearn random forest", forest.predict_proba(test)[:, 1])
    hist = make_pipeline(ordinal, HistGradientBoostingClassifier(random_state=SEED)).fit(train, y)
    report("sklearn hist-gbdt", hist.predict_proba(test)[:, 1])

    cat_train, cat_test = train.copy(), test.copy()
    for column in categorical:
        levels = sorted(cat_train[column].dropna().unique())
        cat_train[column] = pd.Categorical(cat_train[column], categories=levels)
        cat_test[column] = pd.Categorical(cat_test[column], categories=levels)
    light = lgb.LGBMClassifier(verbose=-1, random_state=SEED).fit(cat_train, y)
    report("lightgbm", light.predict_proba(cat_test)[:, 1])
    boost = xgb.XGBClassifier(enable_categorical=True, tree_method="hist", random_state=SEED).fit(cat_train, y)
    report("xgboost", boost.predict_proba(cat_test)[:, 1])
    return results


def bench(name: str, prepare) -> float:
    work = WORK / name
    work.mkdir(parents=True, exist_ok=True)
    spec = prepare(work)
    model = work / "model.json"
    report = leadscore("train", "--leads", str(work / "train.csv"), *spec["flags"], "--out", str(model))
    evaluation = leadscore("evaluate", "--model", str(model), "--leads", str(work / "test.csv"), *spec["flags"])
    validation = report["validation"]["metrics"]
    rows = [(f"leadscore {report['chosen']}", evaluation["auc"], evaluation["ece"])] + peers(work, spec)
    low, high = evaluation["auc_interval"]
    print(f"\n## {name}: leadscore chose {report['chosen']}; validation AUC {validation['auc']:.4f} "
          f"({report['validation']['scheme']}); test AUC 95% interval [{low:.4f}, {high:.4f}]")
    print(f"{'learner':<24}{'test AUC':>10}{'test ECE':>10}")
    for learner, auc, calibration in rows:
        print(f"{learner:<24}{auc:>10.4f}{calibration:>10.4f}")
    best = max(rows[1:], key=lambda r: r[1])
    print(f"leadscore − best peer ({best[0]}): AUC {rows[0][1] - best[1]:+.4f}; "
          f"validation − test AUC: {validation['auc'] - evaluation['auc']:+.4f}")
    return rows[0][1] - best[1]


def main(argv: list[str]) -> None:
    sets = {"mql": prepare_mql, "bank": prepare_bank}
    for name in argv or list(sets):
        if name == "mql-seeds":
            gaps = [bench(f"mql-seed-{seed}", lambda work, seed=seed: prepare_mql(work, seed)) for seed in range(1, 6)]
            print(f"\nmql over seeds 1-5: leadscore − best peer AUC {', '.join(f'{g:+.4f}' for g in gaps)}; "
                  f"mean {np.mean(gaps):+.4f}")
            continue
        if name == "bank" and not BANK.is_file():
            print(f"skipping bank: {BANK} not found")
            continue
        bench(name, sets[name])


if __name__ == "__main__":
    main(sys.argv[1:])
