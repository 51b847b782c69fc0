//! Does a learned scorecard hold its own? k-fold cross-validation of a scorecard learned on each
//! fold's training leads, a hand-written rules file, and a logistic model, all ranked by AUC on
//! leads they were not fitted on.

use leadscore_data::{Validation, validation_folds};
use leadscore_features::AsOfPolicy;
use leadscore_metrics::roc_auc;
use leadscore_models::ModelKind;
use leadscore_points::{PointsRules, PointsScore, ValidScorecardParams};
use leadscore_score::{Scorer, evaluate};
use serde::Serialize;

use crate::error::TrainError;
use crate::train::{TrainInput, TrainParams};

/// One scoring in the contest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contender {
    /// What it is.
    pub name: String,
    /// Mean AUC over the validation folds.
    pub auc: f64,
    /// AUC of each fold.
    pub fold_aucs: Vec<f64>,
    /// How it was built.
    pub detail: String,
}

/// The result: the scorecard learned from every closed lead, and how each contender ranked
/// leads it was not fitted on.
#[derive(Debug, Clone, PartialEq)]
pub struct ScorecardContest {
    /// The scorecard learned from every closed lead (what `leadscore scorecard` writes).
    pub learned: PointsRules,
    /// The learned scorecard, the compared rules (when given) and the logistic model.
    pub contenders: Vec<Contender>,
    /// The cross-validation scheme.
    pub validation: String,
    /// Closed leads learned from.
    pub closed_leads: usize,
}

/// Runs the contest; `compared` is a hand-written rules file and its name; `progress` is told of
/// each finished fold.
pub fn scorecard_contest(
    params: &ValidScorecardParams,
    compared: Option<(&str, &PointsRules)>,
    input: TrainInput<'_>,
    folds: usize,
    seed: u64,
    progress: &mut dyn FnMut(usize),
) -> Result<ScorecardContest, TrainError> {
    let leads = input.leads;
    let events = input.events;
    leads.require_both_classes()?;
    let as_of = AsOfPolicy::CloseDate.for_table(leads, input.scoring_time);
    let closed = leads.closed_rows();
    let labels = leads.won_mask();
    let plan = validation_folds(&closed, &labels, None, Validation::KFold { folds }, seed);
    let compared_scores = compared.map(|(_, rules)| rules.score_table(leads, events, &as_of));
    let (mut scorecard_aucs, mut compared_aucs, mut logistic_aucs) =
        (Vec::new(), Vec::new(), Vec::new());
    for (done, (train_rows, valid_rows)) in plan.folds.iter().enumerate() {
        let valid_won: Vec<bool> = valid_rows.iter().map(|&r| labels[r]).collect();
        let auc_of = |scores: &[PointsScore]| {
            let totals: Vec<f64> = valid_rows.iter().map(|&r| scores[r].total).collect();
            roc_auc(&totals, &valid_won).unwrap_or(f64::NAN)
        };
        let learned = params.fit(leads, events, &as_of, train_rows)?;
        scorecard_aucs.push(auc_of(&learned.score_table(leads, events, &as_of)));
        if let Some(scores) = &compared_scores {
            compared_aucs.push(auc_of(scores));
        }
        let train_leads = leads.select_rows(train_rows);
        let train_events = events.map(|e| e.select_leads(train_rows));
        let model = TrainParams::new()
            .models(vec![ModelKind::Logistic])
            .seed(seed)
            .check()?
            .train(
                TrainInput {
                    leads: &train_leads,
                    events: train_events.as_ref(),
                    scoring_time: input.scoring_time,
                },
                &mut |_| {},
            )?
            .artifact;
        let valid_leads = leads.select_rows(valid_rows);
        let valid_events = events.map(|e| e.select_leads(valid_rows));
        let scorer = Scorer::new(Some(model), None, 0)?;
        logistic_aucs.push(
            evaluate(
                &scorer,
                &valid_leads,
                valid_events.as_ref(),
                input.scoring_time,
            )?
            .metrics
            .auc,
        );
        progress(done + 1);
    }
    let learned = params.fit(leads, events, &as_of, &closed)?;
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let mut contenders = vec![Contender {
        name: "learned scorecard".to_owned(),
        auc: mean(&scorecard_aucs),
        fold_aucs: scorecard_aucs,
        detail: format!("{} rules learned per fold", learned.rules.len()),
    }];
    if let Some((name, rules)) = compared {
        contenders.push(Contender {
            name: format!("rules {name}"),
            auc: mean(&compared_aucs),
            fold_aucs: compared_aucs,
            detail: format!("{} hand-written rules, not fitted", rules.rules.len()),
        });
    }
    contenders.push(Contender {
        name: "logistic model".to_owned(),
        auc: mean(&logistic_aucs),
        fold_aucs: logistic_aucs,
        detail: "leadscore train --models logistic on the same folds".to_owned(),
    });
    Ok(ScorecardContest {
        learned,
        contenders,
        validation: plan.description,
        closed_leads: closed.len(),
    })
}
