"""leadscore against scikit-learn and LightGBM on identical splits and identical features.

Usage: bench/run.sh [bank] [100k] [1m]; KINDS=gbdt limits leadscore to some model kinds.

Each data set is split once; leadscore trains one model kind at a time on the training file
(`leadscore train --models KIND`, which includes its own validation of three settings, the final
refit, calibration and leak checks) and is measured with `leadscore evaluate` on the test file.
The peers get the feature matrix leadscore's fitted pipeline produces (`leadscore features`), so
the comparison is between learners, not between feature sets, and fit one model with sensible
settings (LightGBM with early stopping on a 20% validation part, as leadscore does).

Printed per data set: test AUC and wall-clock fit seconds of each learner, and the ratios of
leadscore's GBDT against LightGBM. `leadscore train` fits its three settings side by side, so
its per-setting seconds share the cores; the speed ratio therefore comes from one fit alone
(`cargo run --example fit` of leadscore-models) on the same feature table, with LightGBM's
settings, alternating with LightGBM's fit, best of three each. Run through bench/run.sh, which
prepares the virtualenv and builds that example.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / ".work"
LEADSCORE = os.environ.get("LEADSCORE", str(ROOT / "target" / "release" / "leadscore"))
# One boosted fit alone on a feature table (crates/leadscore-models/examples/fit.rs).
FIT = str(Path(LEADSCORE).parent / "examples" / "fit")
# LightGBM's settings in this benchmark, given to leadscore's one-fit example as well.
LEAVES, MIN_LEAF = 31, 20
BANK = ROOT.parent / "shared" / "data" / "bank-marketing" / "bank-additional-full.csv"
SEED = 42

# LightGBM 4.6+ renamed eval_set; the old name keeps older versions working.
warnings.filterwarnings("ignore", category=FutureWarning)
warnings.filterwarnings("ignore", message=".*eval_set.*")


def leadscore(*args: str) -> dict:
    out = subprocess.run([LEADSCORE, *args, "--json"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def prepare_bank(work: Path) -> dict:
    frame = pd.read_csv(BANK, sep=";")
    train, test = train_test_split(frame, test_size=0.2, stratify=frame["y"], random_state=SEED)
    train.to_csv(work / "train.csv", sep=";", index=False)
    test.to_csv(work / "test.csv", sep=";", index=False)
    return {"data": ["--target", "y", "--exclude", "duration"], "events": False}


def prepare_synthetic(work: Path, leads: int) -> dict:
    # Train and test are independent draws of the same funnel; the test set is a quarter the size.
    for name, size, seed in [("train", leads, 1), ("test", leads // 4, 2)]:
        folder = work / name
        leadscore("generate", "--leads", str(size), "--seed", str(seed), "--out", str(folder))
    return {"data": [], "events": True}


def files(work: Path, part: str, spec: dict) -> list[str]:
    if spec["events"]:
        return ["--leads", str(work / part / "leads.csv"), "--events", str(work / part / "events.csv")]
    return ["--leads", str(work / f"{part}.csv")]


def peer_frames(work: Path, spec: dict, model: Path):
    frames = []
    for part in ["train", "test"]:
        out = work / f"{part}-features.parquet"
        leadscore("features", "--model", str(model), *files(work, part, spec), *spec["data"], "--out", str(out))
        frame = pd.read_parquet(out)
        frame = frame[frame["label"].notna()]
        frames.append(frame)
    train, test = frames
    features = [c for c in train.columns if c not in ("lead_id", "label")]
    categorical = [c for c in features if train[c].dtype == object]
    for frame in (train, test):
        for column in categorical:
            frame[column] = pd.Categorical(frame[column], categories=sorted(train[column].dropna().unique()))
    return train, test, features, categorical


def timed(fit) -> tuple[object, float]:
    start = time.perf_counter()
    model = fit()
    return model, time.perf_counter() - start


def run_peers(train, test, features, categorical) -> list[tuple[str, float, float]]:
    numeric = [c for c in features if c not in categorical]
    x, y = train[features], train["label"].astype(int)
    tx, ty = test[features], test["label"].astype(int)
    results = []

    linear = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler()), numeric),
            ("cat", make_pipeline(SimpleImputer(strategy="constant", fill_value="(missing)"),
                                  OneHotEncoder(handle_unknown="ignore", min_frequency=20)), categorical),
        ]
    )
    logistic = make_pipeline(linear, LogisticRegression(C=0.1, max_iter=2000, class_weight="balanced"))
    model, seconds = timed(lambda: logistic.fit(x, y))
    results.append(("sklearn logistic", roc_auc_score(ty, model.predict_proba(tx)[:, 1]), seconds))

    tree_x = x.copy()
    tree_tx = tx.copy()
    for column in categorical:
        tree_x[column] = tree_x[column].cat.codes
        tree_tx[column] = tree_tx[column].cat.codes
    tree = DecisionTreeClassifier(max_depth=6, min_samples_leaf=50, random_state=SEED)
    model, seconds = timed(lambda: tree.fit(tree_x.fillna(-1), y))
    results.append(("sklearn tree", roc_auc_score(ty, model.predict_proba(tree_tx.fillna(-1))[:, 1]), seconds))

    hist = HistGradientBoostingClassifier(
        learning_rate=0.05, max_leaf_nodes=31, max_iter=1000, early_stopping=True,
        validation_fraction=0.2, n_iter_no_change=30, categorical_features="from_dtype", random_state=SEED,
    )
    model, seconds = timed(lambda: hist.fit(x, y))
    results.append(("sklearn hist-gbdt", roc_auc_score(ty, model.predict_proba(tx)[:, 1]), seconds))

    auc, seconds, _ = lightgbm(train, test, features)
    results.append(("lightgbm", auc, seconds))
    return results


def lightgbm(train, test, features, seed: int = SEED) -> tuple[float, float, int]:
    """One LightGBM fit with early stopping on a 20% validation part, drawing rows and features
    with `seed`: test AUC, seconds, trees."""
    x, y = train[features], train["label"].astype(int)
    fit_x, val_x, fit_y, val_y = train_test_split(x, y, test_size=0.2, stratify=y, random_state=SEED)

    def fit():
        booster = lgb.LGBMClassifier(
            n_estimators=2000, learning_rate=0.05, num_leaves=LEAVES, min_child_samples=MIN_LEAF,
            subsample=0.8, subsample_freq=1, colsample_bytree=0.8, verbose=-1, random_state=seed,
        )
        booster.fit(fit_x, fit_y, eval_set=[(val_x, val_y)], callbacks=[lgb.early_stopping(50, verbose=False)])
        return booster

    model, seconds = timed(fit)
    auc = roc_auc_score(test["label"].astype(int), model.predict_proba(test[features])[:, 1])
    return auc, seconds, model.booster_.num_trees()


def one_fit(work: Path, seed: int = SEED) -> tuple[float, float, int]:
    """leadscore's boosted fit alone on the feature tables peer_frames wrote, drawing rows and
    features with `seed`: AUC, seconds, trees."""
    out = subprocess.run([FIT, "--train", str(work / "train-features.parquet"), "--test",
                          str(work / "test-features.parquet"), "--leaves", str(LEAVES), "--min-leaf",
                          str(MIN_LEAF), "--seed", str(seed)], check=True, capture_output=True, text=True)
    report = json.loads(out.stdout)
    return report["test_auc"], report["seconds"], report["trees"]


def fits_side_by_side(work: Path, train, test, features, seeds: int = 3) -> dict:
    """leadscore's and LightGBM's single fits, alternating, once per seed 1..=`seeds` (one seed's
    AUC moves by a few 1e-4 either way): {"leadscore" | "lightgbm": (mean test AUC, total
    seconds, total trees)}."""
    runs = {"leadscore": [], "lightgbm": []}
    for seed in range(1, seeds + 1):
        runs["leadscore"].append(one_fit(work, seed))
        runs["lightgbm"].append(lightgbm(train, test, features, seed))
    return {
        name: (sum(r[0] for r in fits) / len(fits), sum(r[1] for r in fits), sum(r[2] for r in fits))
        for name, fits in runs.items()
    }


def bench(name: str, prepare) -> None:
    work = WORK / name
    work.mkdir(parents=True, exist_ok=True)
    spec = prepare(work)
    rows = []
    models = {}
    for kind in os.environ.get("KINDS", "logistic,tree,gbdt").split(","):
        model = work / f"{kind}.json"
        start = time.perf_counter()
        report = leadscore("train", *files(work, "train", spec), *spec["data"], "--models", kind, "--out", str(model))
        total = time.perf_counter() - start
        chosen = next(c for c in report["leaderboard"] if c["chosen"])
        evaluation = leadscore("evaluate", "--model", str(model), *files(work, "test", spec), *spec["data"])
        rows.append((f"leadscore {kind}", evaluation["auc"], chosen["fit_seconds"], total))
        models[kind] = model
    train, test, features, categorical = peer_frames(work, spec, next(iter(models.values())))
    for learner, auc, seconds in run_peers(train, test, features, categorical):
        rows.append((learner, auc, seconds, seconds))

    print(f"\n## {name}: {len(train)} training leads, {len(test)} test leads, {len(features)} features")
    print(f"{'learner':<22}{'test AUC':>10}{'fit s':>10}{'train cmd s':>14}")
    for learner, auc, fit, total in rows:
        print(f"{learner:<22}{auc:>10.4f}{fit:>10.2f}{total:>14.2f}")
    print("(leadscore's fit s: the chosen setting's fit, while the search fits its settings side by side)")
    if "leadscore gbdt" not in (r[0] for r in rows):
        return
    ours = next(r for r in rows if r[0] == "leadscore gbdt")
    peer = next(r for r in rows if r[0] == "lightgbm")
    alone = fits_side_by_side(work, train, test, features)
    (our_auc, our_s, our_trees), (lgb_auc, lgb_s, lgb_trees) = alone["leadscore"], alone["lightgbm"]
    print(
        f"one fit alone per seed 1-3, same features and settings ({LEAVES} leaves, min leaf {MIN_LEAF}), "
        "total time, mean AUC: "
        f"leadscore {our_s:.2f} s ({our_trees} trees, AUC {our_auc:.4f}), "
        f"LightGBM {lgb_s:.2f} s ({lgb_trees} trees, AUC {lgb_auc:.4f}): {lgb_s / our_s:.2f}x LightGBM's speed"
    )
    print(
        f"leadscore gbdt vs LightGBM: AUC of `leadscore train`'s model {ours[1] - peer[1]:+.4f}; "
        f"whole `leadscore train` (3 settings validated + refit + calibration) {ours[3] / peer[2]:.1f}x LightGBM's one fit"
    )


def main(argv: list[str]) -> None:
    chosen = argv or ["bank", "100k", "1m"]
    sets = {
        "bank": prepare_bank,
        "100k": lambda work: prepare_synthetic(work, 100_000),
        "1m": lambda work: prepare_synthetic(work, 1_000_000),
    }
    for name in chosen:
        if name == "bank" and not BANK.is_file():
            print(f"skipping bank: {BANK} not found")
            continue
        bench(name, sets[name])


if __name__ == "__main__":
    main(sys.argv[1:])
