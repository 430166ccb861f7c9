//! `loss.png`: loss_d, loss_g, D(x) and D(G(z)) against generator steps, drawn at each epoch end
//! and when a run stops early.

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::run::layout;
use crate::run::log::{StepRecord, read_log};
use crate::train::trainer::{Event, Observer, Outcome, Trainer};
use crate::viz::canvas::{BLUE, GREEN, ORANGE, RED};
use crate::viz::plot::{Series, line_plot};

/// The curves drawn: log field, legend name, colour.
const CURVES: [(&str, &str, image::Rgb<u8>); 4] = [("loss_d", "loss_d", BLUE), ("loss_g", "loss_g", ORANGE), ("d_real", "D(x)", GREEN), ("d_fake", "D(G(z))", RED)];

pub struct LossPlot {
    run_dir: PathBuf,
    history: Vec<StepRecord>,
}

impl LossPlot {
    pub fn new(run_dir: &Path) -> Self {
        Self { run_dir: run_dir.to_path_buf(), history: vec![] }
    }

    fn draw(&self) -> Result<()> {
        let series: Vec<Series> = CURVES
            .iter()
            .map(|&(field, name, color)| Series {
                name,
                points: self.history.iter().filter_map(|r| Some((r.step as f64, r.scalars.get(field)? as f64))).collect(),
                color,
            })
            .collect();
        line_plot("losses and discriminator outputs", "generator step", &series, &layout::file(&self.run_dir, layout::LOSS_PLOT))
    }
}

impl Observer for LossPlot {
    fn on_event(&mut self, t: &Trainer, event: &Event) -> Result<()> {
        match event {
            Event::Start if t.resumed_from.is_some() => self.history = read_log(&self.run_dir, t.progress.step),
            Event::Step(r) => self.history.push((*r).clone()),
            Event::EpochEnd | Event::End(Outcome::StoppedAtMaxSteps | Outcome::Interrupted) => self.draw()?,
            _ => {}
        }
        Ok(())
    }
}
