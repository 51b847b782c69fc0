//! The model in SQL: raw log-odds (trees as nested CASE expressions summed in groups, or the
//! logistic model's per-feature contributions), calibration, probability, percentile and tier —
//! printed from the fitted structures the Rust scorer uses.

use leadscore_artifact::ModelArtifact;
use leadscore_models::{Calibration, EncodedFeature, LEAF, LinearEncoder, Model, Tree};

use crate::dialect::Dialect;

/// Trees summed per column of the `raw` CTE: no engine meets a 300-term expression.
const TREES_PER_GROUP: usize = 20;

/// A tree as one expression over columns named by `column(feature index)`. Children always
/// follow their parent (checked when the model loads), so the recursion ends, at most
/// `MAX_DEPTH` deep.
fn tree_sql(d: Dialect, tree: &Tree, node: usize, column: &dyn Fn(usize) -> String) -> String {
    if tree.feature[node] == LEAF {
        return d.number(tree.value[node]);
    }
    let x = column(tree.feature[node] as usize);
    let goes_left = match tree.category_set[node] {
        -1 => format!("{x} <= {}", d.number(tree.threshold[node])),
        set => {
            let codes = &tree.category_sets[set as usize];
            if codes.is_empty() {
                "FALSE".to_owned()
            } else {
                let list: Vec<String> = codes.iter().map(|&c| d.number(f64::from(c))).collect();
                format!("{x} IN ({})", list.join(", "))
            }
        }
    };
    let condition = if tree.default_left[node] {
        format!("{x} IS NULL OR {goes_left}")
    } else {
        goes_left
    };
    format!(
        "CASE WHEN {condition} THEN {} ELSE {} END",
        tree_sql(d, tree, tree.left[node] as usize, column),
        tree_sql(d, tree, tree.right[node] as usize, column)
    )
}

/// Design column `k` of a linear encoder, over feature columns `f{j}`.
fn design_sql(d: Dialect, encoder: &LinearEncoder, k: usize) -> String {
    let mut start = 0;
    for (j, feature) in encoder.features.iter().enumerate() {
        let x = format!("f{j}");
        match *feature {
            EncodedFeature::Numeric {
                log,
                median,
                mean,
                std,
                indicator,
            } => {
                if k == start {
                    let transformed = if log {
                        format!("LN({} + GREATEST({x}, {}))", d.number(1.0), d.number(0.0))
                    } else {
                        x.clone()
                    };
                    return format!(
                        "LEAST(GREATEST((CASE WHEN {x} IS NULL THEN {} ELSE {transformed} END - {}) / {}, {}), {})",
                        d.number(median),
                        d.number(mean),
                        d.number(std),
                        d.number(-8.0),
                        d.number(8.0)
                    );
                }
                if indicator && k == start + 1 {
                    return format!(
                        "CASE WHEN {x} IS NULL THEN {} ELSE {} END",
                        d.number(1.0),
                        d.number(0.0)
                    );
                }
                start += 1 + usize::from(indicator);
            }
            EncodedFeature::Categorical { n_codes, indicator } => {
                if k < start + n_codes {
                    return format!(
                        "CASE WHEN {x} = {} THEN {} ELSE {} END",
                        d.number((k - start) as f64),
                        d.number(1.0),
                        d.number(0.0)
                    );
                }
                if indicator && k == start + n_codes {
                    return format!(
                        "CASE WHEN {x} IS NULL THEN {} ELSE {} END",
                        d.number(1.0),
                        d.number(0.0)
                    );
                }
                start += n_codes + usize::from(indicator);
            }
        }
    }
    d.number(0.0)
}

/// The `raw` CTE's columns over `features` (alias-free `f{j}` columns): `raw` and, for the
/// logistic model, `c{j}` per-feature contributions and `bias`.
pub(crate) struct ModelSql {
    /// `expression AS name` items of the first model CTE (over `features`).
    pub parts: Vec<String>,
    /// The raw log-odds over the parts.
    pub raw: String,
    /// For the logistic model: the reference lead's raw log-odds and, per feature, the name of its
    /// contribution column.
    pub contributions: Option<(f64, Vec<String>)>,
}

pub(crate) fn model_sql(d: Dialect, model: &ModelArtifact) -> ModelSql {
    match model.model() {
        Model::Gbdt(gbdt) => {
            let column = |j: usize| format!("f{j}");
            let parts: Vec<String> = gbdt
                .trees
                .chunks(TREES_PER_GROUP)
                .enumerate()
                .map(|(g, trees)| {
                    let sum: Vec<String> = trees
                        .iter()
                        .map(|t| format!("({})", tree_sql(d, t, 0, &column)))
                        .collect();
                    format!("{} AS g{g}", sum.join("\n    + "))
                })
                .collect();
            let groups: Vec<String> = (0..parts.len()).map(|g| format!("g{g}")).collect();
            ModelSql {
                raw: format!("{} + {}", d.number(gbdt.base_score), groups.join(" + ")),
                parts,
                contributions: None,
            }
        }
        Model::DecisionTree(tree) => {
            let column = |k: usize| format!("({})", design_sql(d, &tree.encoder, k));
            ModelSql {
                parts: vec![format!("{} AS g0", tree_sql(d, &tree.tree, 0, &column))],
                raw: "g0".to_owned(),
                contributions: None,
            }
        }
        Model::Logistic(logistic) => {
            let encoder = &logistic.encoder;
            let mut parts = Vec::new();
            let mut names = Vec::new();
            let mut k = 0;
            for (j, feature) in encoder.features.iter().enumerate() {
                let width = match feature {
                    EncodedFeature::Numeric { indicator, .. } => 1 + usize::from(*indicator),
                    EncodedFeature::Categorical { n_codes, indicator } => {
                        n_codes + usize::from(*indicator)
                    }
                };
                let terms: Vec<String> = (k..k + width)
                    .filter(|&c| logistic.coefficients[c] != 0.0)
                    .map(|c| {
                        format!(
                            "{} * ({} - {})",
                            d.number(logistic.coefficients[c]),
                            design_sql(d, encoder, c),
                            d.number(logistic.design_means[c])
                        )
                    })
                    .collect();
                let expression = if terms.is_empty() {
                    d.number(0.0)
                } else {
                    terms.join("\n    + ")
                };
                parts.push(format!("{expression} AS c{j}"));
                names.push(format!("c{j}"));
                k += width;
            }
            let bias = logistic.intercept
                + logistic
                    .coefficients
                    .iter()
                    .zip(&logistic.design_means)
                    .map(|(w, m)| w * m)
                    .sum::<f64>();
            ModelSql {
                raw: format!("{} + {}", d.number(bias), names.join(" + ")),
                parts,
                contributions: Some((bias, names)),
            }
        }
    }
}

/// A won deal's value on the log scale (`value_log`), from the model file's value model: the
/// linear predictor over the same design columns the logistic model uses.
pub(crate) fn value_log_sql(d: Dialect, value: &leadscore_models::FittedValue) -> String {
    let terms: Vec<String> = value
        .coefficients
        .iter()
        .enumerate()
        .filter(|(_, w)| **w != 0.0)
        .map(|(c, w)| format!("{} * ({})", d.number(*w), design_sql(d, &value.encoder, c)))
        .collect();
    if terms.is_empty() {
        d.number(value.intercept)
    } else {
        format!(
            "{} + {}",
            d.number(value.intercept),
            terms.join(
                "
    + "
            )
        )
    }
}

/// Calibrated log-odds of a raw log-odds expression.
pub(crate) fn calibration_sql(d: Dialect, calibration: &Calibration, raw: &str) -> String {
    match calibration {
        Calibration::Platt { slope, intercept } => {
            format!("{} * {raw} + {}", d.number(*slope), d.number(*intercept))
        }
        Calibration::Isotonic {
            raw: knots,
            calibrated,
            tail_slope,
        } => {
            let last = knots.len() - 1;
            let segment = |i: usize| {
                format!(
                    "{} + ({} - {}) * ({raw} - {}) / ({} - {})",
                    d.number(calibrated[i]),
                    d.number(calibrated[i + 1]),
                    d.number(calibrated[i]),
                    d.number(knots[i]),
                    d.number(knots[i + 1]),
                    d.number(knots[i])
                )
            };
            // Segment i holds knots[i] < raw < knots[i + 1]; search it by halving.
            fn search(
                d: Dialect,
                raw: &str,
                knots: &[f64],
                lo: usize,
                hi: usize,
                segment: &dyn Fn(usize) -> String,
            ) -> String {
                if lo == hi {
                    return segment(lo);
                }
                let mid = (lo + hi).div_ceil(2);
                format!(
                    "CASE WHEN {raw} >= {} THEN {} ELSE {} END",
                    d.number(knots[mid]),
                    search(d, raw, knots, mid, hi, segment),
                    search(d, raw, knots, lo, mid - 1, segment)
                )
            }
            format!(
                "CASE WHEN {raw} <= {} THEN {} + {} * ({raw} - {}) WHEN {raw} >= {} THEN {} + {} * ({raw} - {}) ELSE {} END",
                d.number(knots[0]),
                d.number(calibrated[0]),
                d.number(*tail_slope),
                d.number(knots[0]),
                d.number(knots[last]),
                d.number(calibrated[last]),
                d.number(*tail_slope),
                d.number(knots[last]),
                search(d, raw, knots, 0, last - 1, &segment)
            )
        }
    }
}

/// The logistic function, with log-odds kept where `EXP` neither overflows nor underflows (σ(±700)
/// is 0 or 1 to far below 1e-9).
pub(crate) fn sigmoid_sql(d: Dialect, logit: &str) -> String {
    format!(
        "{} / ({} + EXP(-LEAST(GREATEST({logit}, {}), {})))",
        d.number(1.0),
        d.number(1.0),
        d.number(-700.0),
        d.number(700.0)
    )
}

/// The share of training leads (0–100) at or below probability `p`, interpolated in the
/// percentile table exactly as the Rust scorer does, found by halving the table.
pub(crate) fn percentile_sql(d: Dialect, table: &[f64], p: &str) -> String {
    let last = table.len() - 1;
    let leaf = |above: usize| -> String {
        if above == 0 {
            return d.number(0.0);
        }
        if above > last {
            return d.number(100.0);
        }
        let (low, high) = (table[above - 1], table[above]);
        if high > low {
            format!(
                "{} * ({} + ({p} - {}) / ({} - {})) / {}",
                d.number(100.0),
                d.number((above - 1) as f64),
                d.number(low),
                d.number(high),
                d.number(low),
                d.number(last as f64)
            )
        } else {
            format!(
                "{} * ({} + {}) / {}",
                d.number(100.0),
                d.number((above - 1) as f64),
                d.number(0.0),
                d.number(last as f64)
            )
        }
    };
    // `above` = the number of table entries at or below p, in [lo, hi].
    fn search(
        d: Dialect,
        table: &[f64],
        p: &str,
        lo: usize,
        hi: usize,
        leaf: &dyn Fn(usize) -> String,
    ) -> String {
        if lo == hi {
            return leaf(lo);
        }
        let mid = (lo + hi).div_ceil(2);
        format!(
            "CASE WHEN {p} >= {} THEN {} ELSE {} END",
            d.number(table[mid - 1]),
            search(d, table, p, mid, hi, leaf),
            search(d, table, p, lo, mid - 1, leaf)
        )
    }
    search(d, table, p, 0, table.len(), &leaf)
}

/// The tier of probability `p`.
pub(crate) fn tier_sql(d: Dialect, model: &ModelArtifact, p: &str) -> String {
    let tiers = model.tiers();
    let mut case = "CASE".to_owned();
    for tier in tiers {
        case.push_str(&format!(
            " WHEN {p} >= {} THEN {}",
            d.number(tier.min_probability),
            d.text(&tier.name)
        ));
    }
    let last = tiers.last().map_or("", |t| t.name.as_str());
    case.push_str(&format!(" ELSE {} END", d.text(last)));
    case
}
