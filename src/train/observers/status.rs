//! `status.json`: where a run stands, for readers that watch runs (`gantry serve`): its state,
//! step and length, the writer's PID and when it last wrote, and the command that started it.
//! Rewritten atomically at the start, at most every [`EVERY`] while steps go on, at each epoch
//! end and when the run stops (finished, stopped, interrupted, or failed with its error). A run
//! killed outright stays "running" here; readers check whether its writer still lives.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::train::trainer::{Event, Observer, Outcome, Trainer};

/// How often a running run's status is rewritten, at most.
const EVERY: Duration = Duration::from_secs(2);

/// The states a run's status names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    Running,
    /// Trained for its whole length.
    Finished,
    /// Stopped at its step limit (`max_steps`).
    Stopped,
    /// Stopped by a signal, or killed (a reader's judgement: "running" with a dead writer).
    Interrupted,
    Failed,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunStatus {
    pub state: RunState,
    pub step: u64,
    pub total_steps: u64,
    pub epoch: u64,
    pub epochs: u64,
    pub model: String,
    pub dataset: String,
    pub loss: String,
    /// The writing process.
    pub pid: u32,
    /// Seconds since the Unix epoch.
    pub started: f64,
    pub updated: f64,
    /// The command line that started this invocation.
    pub command: String,
    /// The writing program (argv[0]) and machine, so that a reader can tell whether the writer
    /// still runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The error of a failed run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl RunStatus {
    pub fn path(run_dir: &Path) -> PathBuf {
        run_dir.join("status.json")
    }

    /// The status a run folder holds, if it holds a readable one.
    pub fn read(run_dir: &Path) -> Option<RunStatus> {
        serde_json::from_slice(&std::fs::read(Self::path(run_dir)).ok()?).ok()
    }
}

/// This machine's name, where the OS tells it (Linux).
pub fn host_name() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname").ok().map(|h| h.trim().to_string()).filter(|h| !h.is_empty())
}

pub fn now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// `s` as one POSIX shell word.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=,+@%".contains(c)) { s.to_string() } else { format!("'{}'", s.replace('\'', r"'\''")) }
}

/// The process's command line, quoted where an argument needs it.
fn command_line() -> String {
    std::env::args().map(|a| shell_quote(&a)).collect::<Vec<_>>().join(" ")
}

pub struct StatusWriter {
    dir: PathBuf,
    status: Option<RunStatus>,
    written: Option<Instant>,
}

impl StatusWriter {
    pub fn new(run_dir: &Path) -> Self {
        Self { dir: run_dir.to_path_buf(), status: None, written: None }
    }

    fn write(&mut self, t: &Trainer, state: RunState, error: Option<&str>) -> Result<()> {
        let c = &t.config;
        let status = self.status.get_or_insert_with(|| RunStatus {
            state,
            step: 0,
            total_steps: 0,
            epoch: 0,
            epochs: 0,
            model: c.model.clone(),
            dataset: c.dataset.clone(),
            loss: serde_json::to_value(c.loss).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default(),
            pid: std::process::id(),
            started: now(),
            updated: 0.0,
            command: command_line(),
            program: std::env::args().next(),
            host: host_name(),
            error: None,
        });
        status.state = state;
        status.step = t.progress.step;
        status.total_steps = t.total_steps();
        status.epoch = t.progress.epoch;
        status.epochs = t.epochs();
        status.updated = now();
        status.error = error.map(str::to_string);
        let text = serde_json::to_vec_pretty(status).expect("a status serialises");
        crate::tensor_file::write_atomic(&RunStatus::path(&self.dir), &text)?;
        self.written = Some(Instant::now());
        Ok(())
    }
}

impl Observer for StatusWriter {
    fn on_event(&mut self, t: &Trainer, event: &Event) -> Result<()> {
        match event {
            Event::Start | Event::EpochEnd => self.write(t, RunState::Running, None),
            Event::Step(_) if self.written.is_none_or(|w| w.elapsed() >= EVERY) => self.write(t, RunState::Running, None),
            Event::Step(_) => Ok(()),
            Event::End(outcome) => {
                let state = match outcome {
                    Outcome::Finished => RunState::Finished,
                    Outcome::StoppedAtMaxSteps => RunState::Stopped,
                    Outcome::Interrupted => RunState::Interrupted,
                };
                self.write(t, state, None)
            }
            // Only a run this writer started: a run that failed to start (another process holds
            // its lock) is not this process's to mark.
            Event::Failed(error) if self.status.is_some() => self.write(t, RunState::Failed, Some(error)),
            Event::Failed(_) => Ok(()),
        }
    }
}
