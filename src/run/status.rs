//! `status.json`: where a run stands, for readers that watch runs (`gantry serve`): its state,
//! step and length, the writer's PID and when it last wrote, and the command that started it.
//! A run killed outright stays "running" in its file; [`RunStatus::writer_alive`] tells readers
//! whether its writer still lives.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::layout;
use crate::error::Result;

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

impl RunState {
    /// The name `status.json` and the dashboard use.
    pub fn name(self) -> String {
        serde_json::to_value(self).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
    }
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
    /// A status of this process for a run that starts now.
    pub fn starting(model: &str, dataset: &str, loss: &str) -> Self {
        RunStatus {
            state: RunState::Running,
            step: 0,
            total_steps: 0,
            epoch: 0,
            epochs: 0,
            model: model.to_string(),
            dataset: dataset.to_string(),
            loss: loss.to_string(),
            pid: std::process::id(),
            started: now(),
            updated: 0.0,
            command: command_line(),
            program: std::env::args().next(),
            host: host_name(),
            error: None,
        }
    }

    pub fn path(run_dir: &Path) -> PathBuf {
        layout::file(run_dir, layout::STATUS)
    }

    /// The status a run folder holds, if it holds a readable one.
    pub fn read(run_dir: &Path) -> Option<RunStatus> {
        Self::parse(&std::fs::read(Self::path(run_dir)).ok()?)
    }

    /// A status from the bytes of a `status.json`.
    pub fn parse(bytes: &[u8]) -> Option<RunStatus> {
        serde_json::from_slice(bytes).ok()
    }

    /// Replaces the run's `status.json` atomically, stamped with the time now.
    pub fn write(&mut self, run_dir: &Path) -> Result<()> {
        self.updated = now();
        let text = serde_json::to_vec_pretty(self).expect("a status serialises");
        crate::tensor_file::write_atomic(&Self::path(run_dir), &text)
    }

    /// Whether the process that wrote this status still runs: on this machine (Linux) its /proc
    /// entry runs the same program; otherwise it wrote in the last ten minutes.
    pub fn writer_alive(&self) -> bool {
        let proc = Path::new("/proc");
        let same_host = self.host.as_deref().is_none_or(|h| Some(h) == host_name().as_deref());
        if proc.join("self").exists() && same_host {
            let cmdline = std::fs::read(proc.join(self.pid.to_string()).join("cmdline")).unwrap_or_default();
            let program = cmdline.split(|&b| b == 0).next().map(|p| String::from_utf8_lossy(p).to_string());
            return program.is_some_and(|p| !p.is_empty() && self.program.as_deref().is_none_or(|want| want == p));
        }
        now() - self.updated < 600.0
    }

    /// The state a reader should show: "interrupted" for a run whose writer died while running.
    pub fn judged_state(&self) -> RunState {
        if self.state == RunState::Running && !self.writer_alive() { RunState::Interrupted } else { self.state }
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
