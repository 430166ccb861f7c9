//! Reading a folder of runs for the dashboard: read-only, and tolerant of runs being written
//! (a half-written last line is left for the next read, a malformed line is skipped and counted,
//! a missing file is an absent field). Every path served is checked to stay inside the folder.

use std::path::{Component, Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::train::observers::grids::{Grid, grids};
use crate::train::observers::{Evaluations, RunState, RunStatus};

/// The runs folder, canonical, so that every path handed out can be checked against it.
pub struct RunsDir {
    root: PathBuf,
}

/// One run as the runs page lists it.
#[derive(Clone, Debug, Serialize)]
pub struct RunSummary {
    pub name: String,
    /// running, finished, stopped, interrupted, failed; `unknown` for runs without a status
    /// (written by older versions).
    pub state: String,
    pub model: Option<String>,
    pub dataset: Option<String>,
    pub loss: Option<String>,
    pub step: u64,
    pub total_steps: Option<u64>,
    pub epoch: u64,
    pub epochs: Option<u64>,
    /// Seconds since the Unix epoch of the last write the status records.
    pub updated: Option<f64>,
    pub error: Option<String>,
    /// The last log record's scalars.
    pub last: Map<String, Value>,
    /// The last evaluation during training, else the end-of-run mode check (`eval/modes.json`).
    pub last_eval: Option<Map<String, Value>>,
    /// `keep_best`'s record (`checkpoints/best.json`).
    pub best: Option<Value>,
}

/// Everything the run page shows besides the log.
#[derive(Debug, Serialize)]
pub struct RunDetail {
    pub summary: RunSummary,
    pub config: Option<String>,
    pub command: Option<String>,
    /// A command that trains the same run again (its saved config).
    pub reproduce: String,
    pub grids: Vec<Grid>,
    pub evals: Vec<Value>,
    /// The latest mode report (`eval/modes.json`).
    pub modes: Option<Value>,
    /// Other pictures the run has (`loss.png`, `real.png`, `eval/modes.png`), relative paths.
    pub pictures: Vec<String>,
}

/// A slice of a JSON-lines log from line `from` on.
#[derive(Debug, Serialize)]
pub struct LogChunk {
    pub records: Vec<Value>,
    /// The line to ask for next.
    pub next: usize,
    /// Complete lines that were not JSON objects.
    pub skipped: usize,
    /// The log is shorter than `from` (rewritten by a resumed run): read again from 0.
    pub reset: bool,
}

impl RunsDir {
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let root = path.canonicalize()?;
        if !root.is_dir() {
            return Err(std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a folder"));
        }
        Ok(Self { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Every run (a folder directly inside with a `log.jsonl`, `status.json` or `config.toml`),
    /// by name.
    pub fn list(&self) -> Vec<RunSummary> {
        let mut names: Vec<String> = std::fs::read_dir(&self.root)
            .map(|r| r.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect())
            .unwrap_or_default();
        names.sort();
        names.iter().filter_map(|n| self.run(n).map(|dir| summary(n, &dir))).collect()
    }

    /// The folder of run `name`: a plain name of a run folder that (after links) lies inside.
    pub fn run(&self, name: &str) -> Option<PathBuf> {
        let dir = self.inside(&[name])?;
        let is_run = ["log.jsonl", "status.json", "config.toml"].iter().any(|f| dir.join(f).is_file());
        (dir.is_dir() && is_run).then_some(dir)
    }

    /// The file at the relative path `parts` inside run `name`, if it is a regular file inside
    /// the folder.
    pub fn file(&self, name: &str, parts: &[&str]) -> Option<PathBuf> {
        self.run(name)?;
        let mut all = vec![name];
        all.extend_from_slice(parts);
        self.inside(&all).filter(|p| p.is_file())
    }

    /// `parts` joined under the root, if each is a plain name and the real path stays inside.
    fn inside(&self, parts: &[&str]) -> Option<PathBuf> {
        let mut path = self.root.clone();
        for part in parts {
            let mut c = Path::new(part).components();
            let plain = matches!((c.next(), c.next()), (Some(Component::Normal(_)), None));
            if !plain || part.contains(['\\', '\0']) || part.starts_with('.') {
                return None;
            }
            path.push(part);
        }
        let real = path.canonicalize().ok()?;
        real.starts_with(&self.root).then_some(real)
    }

    pub fn detail(&self, name: &str) -> Option<RunDetail> {
        let dir = self.run(name)?;
        let summary = summary(name, &dir);
        let status = RunStatus::read(&dir);
        let config = std::fs::read_to_string(dir.join("config.toml")).ok();
        let pictures = ["loss.png", "real.png", "eval/modes.png", "eval/modes_scatter.png"].iter().filter(|p| dir.join(p).is_file()).map(|p| p.to_string()).collect();
        Some(RunDetail {
            reproduce: format!("gantry train --config {} --out {}-again", dir.join("config.toml").display(), dir.display()),
            command: status.map(|s| s.command),
            config,
            grids: grids(&dir),
            evals: read_lines(&Evaluations::log_path(&dir), 0).records,
            modes: read_json(&dir.join("eval/modes.json")),
            pictures,
            summary,
        })
    }
}

fn read_json(path: &Path) -> Option<Value> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// The complete lines of a JSON-lines file from line `from` on; a last line without its newline
/// is still being written and is left for the next read.
pub fn read_lines(path: &Path, from: usize) -> LogChunk {
    let text = std::fs::read(path).unwrap_or_default();
    let complete = match text.iter().rposition(|&b| b == b'\n') {
        Some(end) => &text[..=end],
        None => &[][..],
    };
    let lines: Vec<&[u8]> = complete.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect();
    let (from, reset) = if from > lines.len() { (0, true) } else { (from, false) };
    let mut records = Vec::new();
    let mut skipped = 0;
    for line in &lines[from..] {
        match serde_json::from_slice::<Value>(line) {
            Ok(v @ Value::Object(_)) => records.push(v),
            _ => skipped += 1,
        }
    }
    LogChunk { records, next: lines.len(), skipped, reset }
}

/// The last complete record of a JSON-lines file, reading only its tail.
fn last_record(path: &Path) -> Option<Map<String, Value>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    let tail = len.min(64 * 1024);
    f.seek(SeekFrom::Start(len - tail)).ok()?;
    let mut buf = Vec::new();
    f.take(tail).read_to_end(&mut buf).ok()?;
    let end = buf.iter().rposition(|&b| b == b'\n')?;
    buf[..end].split(|&b| b == b'\n').rev().find_map(|l| match serde_json::from_slice::<Value>(l) {
        Ok(Value::Object(m)) => Some(m),
        _ => None,
    })
}

/// Whether the process that wrote `status` still runs (Linux: its /proc entry; elsewhere: it
/// wrote in the last ten minutes).
fn writer_alive(status: &RunStatus) -> bool {
    let proc = Path::new("/proc");
    if proc.join("self").exists() {
        return proc.join(status.pid.to_string()).exists();
    }
    crate::train::observers::now() - status.updated < 600.0
}

fn summary(name: &str, dir: &Path) -> RunSummary {
    let status = RunStatus::read(dir);
    let config: Option<toml::Table> = std::fs::read_to_string(dir.join("config.toml")).ok().and_then(|t| t.parse().ok());
    let from_config = |k: &str| config.as_ref().and_then(|c| c.get(k)?.as_str().map(str::to_string));
    let mut last = last_record(&dir.join("log.jsonl")).unwrap_or_default();
    let step = last.remove("step").and_then(|v| v.as_u64()).unwrap_or(0);
    let epoch = last.remove("epoch").and_then(|v| v.as_u64()).unwrap_or(0);
    let state = match &status {
        Some(s) if s.state == RunState::Running && !writer_alive(s) => RunState::Interrupted,
        Some(s) => s.state,
        None => return legacy_summary(name, dir, step, epoch, last, from_config("model"), from_config("dataset"), from_config("loss")),
    };
    let s = status.expect("matched above");
    RunSummary {
        name: name.to_string(),
        state: serde_json::to_value(state).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default(),
        model: Some(s.model),
        dataset: Some(s.dataset),
        loss: Some(s.loss),
        step: step.max(s.step),
        total_steps: Some(s.total_steps),
        epoch: epoch.max(s.epoch),
        epochs: Some(s.epochs),
        updated: Some(s.updated),
        error: s.error,
        last,
        last_eval: last_eval(dir),
        best: read_json(&dir.join("checkpoints/best.json")),
    }
}

#[allow(clippy::too_many_arguments)]
fn legacy_summary(name: &str, dir: &Path, step: u64, epoch: u64, last: Map<String, Value>, model: Option<String>, dataset: Option<String>, loss: Option<String>) -> RunSummary {
    RunSummary {
        name: name.to_string(),
        state: "unknown".into(),
        model,
        dataset,
        loss,
        step,
        total_steps: None,
        epoch,
        epochs: None,
        updated: None,
        error: None,
        last,
        last_eval: last_eval(dir),
        best: read_json(&dir.join("checkpoints/best.json")),
    }
}

fn last_eval(dir: &Path) -> Option<Map<String, Value>> {
    last_record(&Evaluations::log_path(dir)).or_else(|| {
        // The end-of-run mode check, in the names evaluations use.
        let m = read_json(&dir.join("eval/modes.json"))?;
        let counts: Vec<u64> = m.get("counts")?.as_array()?.iter().filter_map(Value::as_u64).collect();
        let total: u64 = counts.iter().sum();
        let mut out = Map::new();
        out.insert("modes_covered".into(), counts.iter().filter(|&&c| c > 0).count().into());
        out.insert("modes_total".into(), counts.len().into());
        out.insert("kl".into(), m.get("kl_uniform")?.clone());
        out.insert("rarest_share".into(), (counts.iter().copied().min().unwrap_or(0) as f64 / total.max(1) as f64).into());
        Some(out)
    })
}
