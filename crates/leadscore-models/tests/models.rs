//! Every model kind learns a known signal, explains itself exactly and survives a JSON round trip.

use leadscore_features::{FeatureInfo, FeatureKind, FeatureSource};
use leadscore_metrics::roc_auc;
use leadscore_models::{
    DecisionTreeParams, GbdtParams, LogisticParams, Model, ModelKind, PlattCalibration,
    TrainingData, fit_logistic_design, sigmoid,
};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// x0 uniform, x1 a category with 5 codes, x2 numeric with 20% missing (missing is good news),
/// and an interaction: x0 only matters for category 4. About 15% positives.
fn problem(n: usize, seed: u64) -> (Array2<f64>, Vec<bool>, Vec<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut x = Array2::zeros((n, 3));
    let mut y = Vec::with_capacity(n);
    let mut truth = Vec::with_capacity(n);
    let effects = [-1.0, 0.0, 0.5, 1.0, 1.5];
    for i in 0..n {
        let x0: f64 = rng.random();
        let x1 = rng.random_range(0..5usize);
        let x2: f64 = if rng.random::<f64>() < 0.2 {
            f64::NAN
        } else {
            rng.random::<f64>() * 2.0 - 1.0
        };
        let mut logit = -2.6 + effects[x1] + if x2.is_nan() { 1.0 } else { 0.8 * x2 };
        if x1 == 4 {
            logit += 3.0 * (x0 - 0.5);
        }
        x[(i, 0)] = x0;
        x[(i, 1)] = x1 as f64;
        x[(i, 2)] = x2;
        let p = sigmoid(logit);
        truth.push(p);
        y.push(rng.random::<f64>() < p);
    }
    (x, y, truth)
}

fn features() -> Vec<FeatureInfo> {
    let numeric = |name: &str| FeatureInfo {
        name: name.to_owned(),
        kind: FeatureKind::Numeric,
        source: FeatureSource::Attribute(name.to_owned()),
    };
    vec![
        numeric("x0"),
        FeatureInfo {
            name: "x1".to_owned(),
            kind: FeatureKind::Categorical { n_codes: 5 },
            source: FeatureSource::Attribute("x1".to_owned()),
        },
        numeric("x2"),
    ]
}

fn fit(
    kind: ModelKind,
    x: &Array2<f64>,
    y: &[bool],
    valid: Option<(&Array2<f64>, &[bool])>,
) -> Model {
    let features = features();
    let train = TrainingData::new(x.view(), y, &features);
    match kind {
        ModelKind::Logistic => Model::Logistic(
            LogisticParams::new()
                .check()
                .expect("valid")
                .fit(&train)
                .expect("fit"),
        ),
        ModelKind::DecisionTree => Model::DecisionTree(
            DecisionTreeParams::new()
                .max_depth(5)
                .check()
                .expect("valid")
                .fit(&train)
                .expect("fit"),
        ),
        ModelKind::Gbdt => {
            let valid = valid.map(|(vx, vy)| TrainingData::new(vx.view(), vy, &features));
            Model::Gbdt(
                GbdtParams::new()
                    .check()
                    .expect("valid")
                    .fit(&train, valid.as_ref())
                    .expect("fit"),
            )
        }
    }
}

#[test]
fn every_kind_learns_explains_and_round_trips() {
    let (x, y, _) = problem(20_000, 1);
    let (vx, vy, _) = problem(5_000, 2);
    let (tx, ty, truth) = problem(10_000, 3);
    let oracle = roc_auc(&truth, &ty).expect("two classes");
    for (kind, margin) in [
        (ModelKind::Logistic, 0.06),
        (ModelKind::DecisionTree, 0.06),
        (ModelKind::Gbdt, 0.015),
    ] {
        let model = fit(kind, &x, &y, Some((&vx, &vy)));
        let logits = model.predict_logits(tx.view());
        let auc = roc_auc(&logits, &ty).expect("two classes");
        assert!(
            auc > oracle - margin,
            "{kind}: AUC {auc:.4} vs oracle {oracle:.4}"
        );

        let rows: Vec<Vec<f64>> = tx
            .rows()
            .into_iter()
            .take(300)
            .map(|r| r.to_vec())
            .collect();
        for row in &rows {
            let c = model.contributions(row);
            let total = c.bias + c.values.iter().sum::<f64>();
            assert!(
                (total - model.predict_logit(row)).abs() < 1e-8,
                "{kind}: {total} vs {}",
                model.predict_logit(row)
            );
        }
        // A batch's contributions are the single rows' to the bit.
        let slices: Vec<&[f64]> = rows.iter().map(Vec::as_slice).collect();
        let together = model.contributions_of_rows(&slices);
        for (row, c) in rows.iter().zip(&together) {
            assert_eq!(
                *c,
                model.contributions(row),
                "{kind}: a row explained in a batch"
            );
        }
        // So are a batch's predictions, and the log-odds its explanation reads off the leaves.
        let predicted = model.predict_logits_of_rows(&slices);
        let (_, explained) = model.contributions_and_logits_of_rows(&slices);
        for ((row, logit), from_leaves) in rows.iter().zip(&predicted).zip(&explained) {
            assert_eq!(
                logit.to_bits(),
                model.predict_logit(row).to_bits(),
                "{kind}: a row predicted in a batch"
            );
            assert_eq!(
                from_leaves.to_bits(),
                logit.to_bits(),
                "{kind}: the log-odds of an explanation"
            );
        }

        let json = serde_json::to_string(&model).expect("serialise");
        let back: Model = serde_json::from_str(&json).expect("parse");
        let reloaded = back.predict_logits(tx.view());
        let identical = reloaded
            .iter()
            .zip(&logits)
            .all(|(a, b)| a.to_bits() == b.to_bits());
        assert!(identical, "{kind}: scores change after a JSON round trip");
    }
}

#[test]
fn the_boosted_model_is_calibrated_after_platt_scaling() {
    let (x, y, _) = problem(20_000, 4);
    let (vx, vy, _) = problem(10_000, 5);
    let (tx, ty, _) = problem(20_000, 6);
    let model = fit(ModelKind::Gbdt, &x, &y, Some((&vx, &vy)));
    let calibration = PlattCalibration::fit(&model.predict_logits(vx.view()), &vy);
    let probabilities: Vec<f64> = model
        .predict_logits(tx.view())
        .iter()
        .map(|&l| calibration.probability(l))
        .collect();
    let ece = leadscore_metrics::expected_calibration_error(&probabilities, &ty);
    assert!(ece < 0.02, "ECE {ece}");
}

#[test]
fn the_logistic_sign_follows_the_won_class_even_when_it_is_rare() {
    let (x, y, _) = problem(5_000, 7);
    assert!(y.iter().filter(|&&v| v).count() * 3 < y.len());
    let model = fit(ModelKind::Logistic, &x, &y, None);
    let auc = roc_auc(&model.predict_logits(x.view()), &y).expect("two classes");
    assert!(auc > 0.7, "AUC {auc}");
}

/// The penalised log loss's gradient, computed here independently of the solver.
fn penalised_gradient(
    design: &Array2<f64>,
    y: &[bool],
    alpha: f64,
    weights: &[f64],
    intercept: f64,
) -> Vec<f64> {
    let mut gradient: Vec<f64> = weights.iter().map(|w| alpha * w).collect();
    gradient.push(0.0);
    for (row, &won) in design.rows().into_iter().zip(y) {
        let z = intercept + row.iter().zip(weights).map(|(x, w)| x * w).sum::<f64>();
        let residual = sigmoid(z) - f64::from(u8::from(won));
        for (g, x) in gradient.iter_mut().zip(row) {
            *g += residual * x;
        }
        *gradient.last_mut().expect("intercept") += residual;
    }
    gradient
}

/// A design like a real one: a standardised number, a one-hot category whose columns sum to the
/// intercept (exactly collinear), and a rare class.
fn collinear_design(n: usize) -> (Array2<f64>, Vec<bool>) {
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    let mut design = Array2::zeros((n, 4));
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let number: f64 = rng.random::<f64>() * 2.0 - 1.0;
        let level = rng.random_range(0..3usize);
        design[(i, 0)] = number;
        design[(i, 1 + level)] = 1.0;
        let logit = -2.0 + 1.5 * number + [0.0, 0.7, -0.7][level];
        y.push(rng.random::<f64>() < sigmoid(logit));
    }
    (design, y)
}

#[test]
fn the_logistic_fit_reaches_the_optimum_even_on_collinear_columns() {
    let (design, y) = collinear_design(20_000);
    for alpha in [0.0, 1.0, 100.0] {
        let (weights, intercept) =
            fit_logistic_design(&design, &y, alpha, 100, 1e-10).expect("fits");
        let gradient = penalised_gradient(&design, &y, alpha, &weights, intercept);
        let largest = gradient.iter().fold(0.0_f64, |m, g| m.max(g.abs()));
        assert!(
            largest / 20_000.0 < 1e-8,
            "alpha {alpha}: gradient {gradient:?}"
        );
        // The known signal is found: levels ordered as the truth says.
        assert!(weights[0] > 1.0, "alpha {alpha}: {weights:?}");
        assert!(
            weights[2] > weights[1] && weights[1] > weights[3],
            "alpha {alpha}: {weights:?}"
        );
    }
}

#[test]
fn a_non_finite_design_value_is_an_error_naming_its_cell() {
    let (mut design, y) = collinear_design(100);
    design[(42, 3)] = f64::INFINITY;
    let error = fit_logistic_design(&design, &y, 1.0, 100, 1e-4).expect_err("refused");
    let message = error.to_string();
    assert!(message.contains("row 42, column 3"), "{message}");
}

#[test]
fn single_class_and_bad_parameters_are_errors() {
    let features = features();
    let (x, _, _) = problem(100, 8);
    let all_won = vec![true; 100];
    let data = TrainingData::new(x.view(), &all_won, &features);
    assert!(
        LogisticParams::new()
            .check()
            .expect("valid")
            .fit(&data)
            .is_err()
    );
    assert!(
        GbdtParams::new()
            .check()
            .expect("valid")
            .fit(&data, None)
            .is_err()
    );
    assert!(
        DecisionTreeParams::new()
            .check()
            .expect("valid")
            .fit(&data)
            .is_err()
    );
    assert!(LogisticParams::new().alpha(-1.0).check().is_err());
    assert!(LogisticParams::new().alpha(f64::NAN).check().is_err());
    assert!(GbdtParams::new().learning_rate(0.0).check().is_err());
    assert!(GbdtParams::new().max_leaves(1).check().is_err());
    assert!(GbdtParams::new().bagging_fraction(1.5).check().is_err());
    assert!(DecisionTreeParams::new().max_depth(0).check().is_err());
}

#[test]
fn the_value_model_learns_log_effects_and_keeps_a_baseline_when_nothing_predicts() {
    let (x, y, _) = problem(4_000, 11);
    let won: Vec<usize> = (0..y.len()).filter(|&i| y[i]).collect();
    let rows = x.select(ndarray::Axis(0), &won);
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    let mut noise = || 0.3 * (rng.random::<f64>() - 0.5);
    // Category 4 buys ten times more; the rest is noise around 10,000.
    let values: Vec<f64> = won
        .iter()
        .map(|&i| {
            let factor = if x[(i, 1)] == 4.0 { 10.0 } else { 1.0 };
            10_000.0 * factor * noise().exp()
        })
        .collect();
    let params = leadscore_models::ValueParams::new().check().expect("valid");
    let fitted = params.fit(rows.view(), &values, &features()).expect("fits");
    assert_ne!(fitted.validation.chosen, "mean", "{:?}", fitted.validation);
    let predicted: Vec<f64> = rows
        .rows()
        .into_iter()
        .map(|r| fitted.predict(r.as_slice().expect("row")))
        .collect();
    let (big, small): (Vec<_>, Vec<_>) = won
        .iter()
        .zip(&predicted)
        .partition(|(i, _)| x[(**i, 1)] == 4.0);
    let mean = |v: &[(&usize, &f64)]| v.iter().map(|(_, p)| **p).sum::<f64>() / v.len() as f64;
    let ratio = mean(&big) / mean(&small);
    assert!(
        (8.0..12.5).contains(&ratio),
        "category 4 is worth ten times more: {ratio}"
    );
    let json = serde_json::to_string(&fitted).expect("serialise");
    let back: leadscore_models::FittedValue = serde_json::from_str(&json).expect("parse");
    assert_eq!(back, fitted);

    // Amounts unrelated to anything: a baseline is kept, not a regression fitted to noise.
    let random: Vec<f64> = (0..won.len())
        .map(|_| 5_000.0 * (4.0 * noise()).exp())
        .collect();
    let fitted = params.fit(rows.view(), &random, &features()).expect("fits");
    assert_ne!(
        fitted.validation.chosen, "regression",
        "{:?}",
        fitted.validation
    );
    assert_eq!(
        fitted.validation.candidates.len(),
        3,
        "regression, mean, mean per x1"
    );
    let too_few = params.fit(rows.slice(ndarray::s![..5, ..]), &random[..5], &features());
    assert!(
        too_few
            .expect_err("five deals")
            .to_string()
            .contains("at least 20")
    );
}

#[test]
fn the_boosted_fit_does_not_depend_on_the_number_of_threads() {
    // Enough rows that histograms are built in several parts and leaves partitioned in chunks.
    let (x, y, _) = problem(40_000, 5);
    let (vx, vy, _) = problem(5_000, 6);
    let fit_on = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool")
            .install(|| fit(ModelKind::Gbdt, &x, &y, Some((&vx, &vy))))
    };
    let one = fit_on(1);
    assert_eq!(one, fit_on(3));
    assert_eq!(one, fit_on(2));
}
