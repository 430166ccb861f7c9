//! Mode coverage: which classes a generator produces and how often, judged by the domain
//! classifier — the answer to "are all digits generated equally often?".

use std::path::Path;

use serde::Serialize;

use super::classifier::{FEATURE_DIM, Prediction};
use super::stats::{Features, Gaussian, frechet_distance};
use crate::error::Result;

#[derive(Clone, Debug, Serialize)]
pub struct ModeReport {
    pub samples: usize,
    pub class_names: Vec<String>,
    pub counts: Vec<usize>,
    /// KL(histogram ‖ uniform), in nats.
    pub kl_uniform: f64,
    /// Classes with at least half their expected (uniform) share.
    pub modes_covered: usize,
    /// Mean probability of each sample's top class.
    pub mean_confidence: f64,
    /// Fréchet distance between classifier features of the samples and of the test split.
    pub classifier_frechet: Option<f64>,
    /// Conditional models: share of samples classified as the class they were asked for.
    pub conditional_accuracy: Option<f64>,
    pub sentence: String,
}

fn pct(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

pub fn kl_from_uniform(counts: &[usize]) -> f64 {
    let n: usize = counts.iter().sum();
    let k = counts.len() as f64;
    counts.iter().filter(|&&c| c > 0).map(|&c| c as f64 / n as f64).map(|p| p * (p * k).ln()).sum()
}

/// The report for predictions on generated samples; `requested` are the classes a conditional
/// model was asked for, `reference` the classifier's features on real test data.
pub fn report(pred: &Prediction, class_names: &[String], requested: Option<&[u8]>, reference: Option<&Features>) -> ModeReport {
    let k = class_names.len();
    let top = pred.top(k);
    let n = top.len();
    let mut counts = vec![0usize; k];
    for &(c, _) in &top {
        counts[c] += 1;
    }
    let expected = n as f64 / k as f64;
    let modes_covered = counts.iter().filter(|&&c| c as f64 >= 0.5 * expected).count();
    let mean_confidence = top.iter().map(|&(_, p)| p as f64).sum::<f64>() / n.max(1) as f64;
    let conditional_accuracy = requested.map(|y| top.iter().zip(y).filter(|((c, _), y)| *c == **y as usize).count() as f64 / n as f64);
    let classifier_frechet = reference.map(|r| {
        let fake = Features::from_f32(n, FEATURE_DIM, &pred.features);
        frechet_distance(&Gaussian::fit(&fake), &Gaussian::fit(r))
    });
    let kl = kl_from_uniform(&counts);
    let mut r = ModeReport {
        samples: n,
        class_names: class_names.to_vec(),
        counts,
        kl_uniform: kl,
        modes_covered,
        mean_confidence,
        classifier_frechet,
        conditional_accuracy,
        sentence: String::new(),
    };
    r.sentence = sentence(&r);
    r
}

/// One sentence that answers the question.
pub fn sentence(r: &ModeReport) -> String {
    let k = r.counts.len();
    let n = r.samples.max(1) as f64;
    let share = |i: usize| r.counts[i] as f64 / n;
    let by_share = {
        let mut v: Vec<usize> = (0..k).collect();
        v.sort_by(|&a, &b| r.counts[b].cmp(&r.counts[a]));
        v
    };
    let (most, least) = (by_share[0], by_share[k - 1]);
    let uniform = 1.0 / k as f64;
    let kl = format!("KL(histogram ‖ uniform) = {:.3} nats", r.kl_uniform);
    if r.modes_covered == k && share(most) <= 1.5 * uniform && share(least) >= 0.5 * uniform {
        format!(
            "Yes, roughly: all {k} classes are generated, each between {} and {} of the samples (uniform: {}); {kl}.",
            pct(share(least)),
            pct(share(most)),
            pct(uniform)
        )
    } else if r.modes_covered == k {
        format!(
            "Not equally: all {k} classes appear, but shares range from {} ('{}') to {} ('{}') against a uniform {}; {kl}.",
            pct(share(least)),
            r.class_names[least],
            pct(share(most)),
            r.class_names[most],
            pct(uniform)
        )
    } else {
        let rare: Vec<&str> = by_share.iter().rev().filter(|&&i| share(i) < 0.5 * uniform).map(|&i| r.class_names[i].as_str()).collect();
        format!(
            "No: only {} of {k} classes are covered (at least half their expected share); '{}' alone makes up {}; missing or rare: {}; {kl}.",
            r.modes_covered,
            r.class_names[most],
            pct(share(most)),
            rare.join(", ")
        )
    }
}

impl ModeReport {
    pub fn table(&self) -> String {
        let n = self.samples.max(1) as f64;
        let mut s = format!("{:>12} {:>7} {:>7}\n", "class", "count", "share");
        for (name, &c) in self.class_names.iter().zip(&self.counts) {
            s += &format!("{name:>12} {c:>7} {:>7}\n", pct(c as f64 / n));
        }
        s += &format!("modes covered: {}/{}\nKL(histogram || uniform): {:.4} nats\nmean top-class confidence: {:.3}\n", self.modes_covered, self.counts.len(), self.kl_uniform, self.mean_confidence);
        if let Some(f) = self.classifier_frechet {
            s += &format!("classifier-feature Frechet distance to the test split: {f:.3}\n");
        }
        if let Some(a) = self.conditional_accuracy {
            s += &format!("samples classified as the requested class: {}\n", pct(a));
        }
        s
    }

    pub fn bar_chart(&self, title: &str, path: &Path) -> Result<()> {
        let n = self.samples.max(1) as f64;
        let shares: Vec<f64> = self.counts.iter().map(|&c| c as f64 / n).collect();
        crate::viz::plot::bar_chart(title, &self.class_names, &shares, Some(1.0 / self.counts.len() as f64), path)
    }
}

/// Stacked MNIST: each channel classified as a digit gives one of 1000 modes.
#[derive(Clone, Debug, Serialize)]
pub struct StackedReport {
    pub samples: usize,
    /// Modes (of 1000) with at least one sample.
    pub modes: usize,
    /// KL(mode histogram ‖ uniform over 1000), in nats.
    pub kl_uniform: f64,
}

pub fn stacked_report(channels: [&Prediction; 3]) -> StackedReport {
    let tops: Vec<Vec<(usize, f32)>> = channels.iter().map(|p| p.top(10)).collect();
    let n = tops[0].len();
    let mut counts = vec![0usize; 1000];
    for i in 0..n {
        counts[tops[0][i].0 * 100 + tops[1][i].0 * 10 + tops[2][i].0] += 1;
    }
    StackedReport { samples: n, modes: counts.iter().filter(|&&c| c > 0).count(), kl_uniform: kl_from_uniform(&counts) }
}
