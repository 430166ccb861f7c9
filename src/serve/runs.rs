//! Reading a folder of runs for the dashboard: read-only, and tolerant of runs being written
//! (a half-written last line is left for the next read, a malformed line is skipped and counted,
//! a missing file is an absent field). Every file is read through [`Run::read`]: a plain relative
//! path whose real location (links followed) is a regular file inside the folder, up to a size cap.

use std::path::{Component, Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::run::grids::{Grid, grids_from};
use crate::run::layout;
use crate::run::lines::complete_json_lines;
use crate::run::status::{RunStatus, shell_quote};

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
    /// The log no longer continues what the reader has (a resumed run rewrote it): these
    /// records start again from line 0.
    pub reset: bool,
    /// More lines follow than one answer carries: ask again from `next`.
    pub more: bool,
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
        let names: Vec<String> = std::fs::read_dir(&self.root)
            .map(|r| r.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect())
            .unwrap_or_default();
        self.summaries(&names)
    }

    /// The runs among `names`, in name order, each once.
    pub fn summaries<S: AsRef<str>>(&self, names: &[S]) -> Vec<RunSummary> {
        let mut names: Vec<&str> = names.iter().map(AsRef::as_ref).collect();
        names.sort_unstable();
        names.dedup();
        names.iter().filter_map(|n| self.run(n)).map(|r| r.summary(r.status(), r.config())).collect()
    }

    /// Run `name`: a plain name of a folder inside (after links) that holds a run's files.
    pub fn run(&self, name: &str) -> Option<Run<'_>> {
        let dir = self.inside(&[name])?;
        let run = Run { dirs: self, name: name.to_string(), dir };
        (run.dir.is_dir() && layout::MARKERS.iter().any(|f| run.path(f).is_some())).then_some(run)
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
        self.run(name).map(|r| r.detail())
    }
}

/// Files a dashboard reads whole: JSON documents, configs.
const SMALL: u64 = 16 << 20;
/// JSON-lines logs (a million steps is about 150 MB).
const LOG: u64 = 1 << 30;
/// Log lines per answer; a reader asks again for the rest.
const LINES_PER_ANSWER: usize = 50_000;

pub struct Run<'a> {
    dirs: &'a RunsDir,
    pub name: String,
    dir: PathBuf,
}

impl Run<'_> {
    /// The real path of `rel` (a `/`-separated relative path) if it is a regular file inside the
    /// runs folder.
    pub fn path(&self, rel: &str) -> Option<PathBuf> {
        let mut parts = vec![self.name.as_str()];
        parts.extend(rel.split('/'));
        self.dirs.inside(&parts).filter(|p| p.metadata().is_ok_and(|m| m.is_file()))
    }

    /// The contents of `rel` if it is a file inside the folder of at most `cap` bytes.
    pub fn read(&self, rel: &str, cap: u64) -> Option<Vec<u8>> {
        use std::io::Read;
        let file = std::fs::File::open(self.path(rel)?).ok()?;
        if file.metadata().ok()?.len() > cap {
            return None;
        }
        let mut bytes = Vec::new();
        file.take(cap).read_to_end(&mut bytes).ok()?;
        Some(bytes)
    }

    /// The last `n` bytes of `rel`.
    fn tail(&self, rel: &str, n: u64) -> Option<Vec<u8>> {
        use std::io::{Read, Seek, SeekFrom};
        let mut file = std::fs::File::open(self.path(rel)?).ok()?;
        let len = file.metadata().ok()?.len();
        file.seek(SeekFrom::Start(len.saturating_sub(n))).ok()?;
        let mut bytes = Vec::new();
        file.take(n).read_to_end(&mut bytes).ok()?;
        Some(bytes)
    }

    fn json(&self, rel: &str) -> Option<Value> {
        serde_json::from_slice(&self.read(rel, SMALL)?).ok()
    }

    /// The last complete record of a JSON-lines file, reading only its tail.
    fn last_record(&self, rel: &str) -> Option<Map<String, Value>> {
        let tail = self.tail(rel, 64 * 1024)?;
        complete_json_lines(&tail).flatten().last()
    }

    /// Lines `from…` of the JSON-lines file `rel`. `after_step`: the step of the last record the
    /// reader holds (line `from − 1`); if that line now holds another step, the log was
    /// rewritten and is read again from the start.
    pub fn lines(&self, rel: &str, from: usize, after_step: Option<u64>) -> LogChunk {
        read_lines(&self.read(rel, LOG).unwrap_or_default(), from, after_step)
    }

    fn status(&self) -> Option<RunStatus> {
        RunStatus::parse(&self.read(layout::STATUS, SMALL)?)
    }

    fn config(&self) -> Option<String> {
        String::from_utf8(self.read(layout::CONFIG, SMALL)?).ok()
    }

    fn grids(&self) -> Vec<Grid> {
        let Some(samples) = self.dirs.inside(&[self.name.as_str(), layout::SAMPLES]) else { return vec![] };
        let files: Vec<String> = std::fs::read_dir(samples)
            .map(|r| r.filter_map(|e| e.ok()?.file_name().into_string().ok()).filter(|n| self.path(&format!("{}/{n}", layout::SAMPLES)).is_some()).collect())
            .unwrap_or_default();
        grids_from(&self.read(layout::GRID_INDEX, LOG).unwrap_or_default(), &files)
    }

    pub fn detail(&self) -> RunDetail {
        let pictures = layout::PICTURES.iter().filter(|p| self.path(p).is_some()).map(|p| p.to_string()).collect();
        let quote = |p: PathBuf| shell_quote(&p.display().to_string());
        let (status, config) = (self.status(), self.config());
        RunDetail {
            reproduce: format!("gantry train --config {} --out {}", quote(layout::file(&self.dir, layout::CONFIG)), quote(self.dir.with_file_name(format!("{}-again", self.name)))),
            summary: self.summary(status.clone(), config.clone()),
            command: status.map(|s| s.command),
            config,
            grids: self.grids(),
            evals: self.lines(layout::EVALS, 0, None).records,
            modes: self.json(layout::RUN_MODES_REPORT),
            pictures,
        }
    }

    /// The run's summary from its status and config (read once by the caller).
    fn summary(&self, status: Option<RunStatus>, config: Option<String>) -> RunSummary {
        let config: Option<toml::Table> = config.and_then(|t| t.parse().ok());
        let from_config = |k: &str| config.as_ref().and_then(|c| c.get(k)?.as_str().map(str::to_string));
        let mut last = self.last_record(layout::LOG).unwrap_or_default();
        let step = last.remove("step").and_then(|v| v.as_u64()).unwrap_or(0);
        let epoch = last.remove("epoch").and_then(|v| v.as_u64()).unwrap_or(0);
        let state = match &status {
            Some(s) => s.judged_state().name(),
            // Runs written before status.json existed.
            None => "unknown".to_string(),
        };
        RunSummary {
            name: self.name.clone(),
            state,
            model: status.as_ref().map(|s| s.model.clone()).or_else(|| from_config("model")),
            dataset: status.as_ref().map(|s| s.dataset.clone()).or_else(|| from_config("dataset")),
            loss: status.as_ref().map(|s| s.loss.clone()).or_else(|| from_config("loss")),
            step: step.max(status.as_ref().map_or(0, |s| s.step)),
            total_steps: status.as_ref().map(|s| s.total_steps),
            epoch: epoch.max(status.as_ref().map_or(0, |s| s.epoch)),
            epochs: status.as_ref().map(|s| s.epochs),
            updated: status.as_ref().map(|s| s.updated),
            error: status.and_then(|s| s.error),
            last,
            last_eval: self.last_eval(),
            best: self.json(layout::BEST_RECORD),
        }
    }

    /// The last evaluation during training, else the end-of-run mode check in the same names.
    fn last_eval(&self) -> Option<Map<String, Value>> {
        self.last_record(layout::EVALS).or_else(|| {
            let m = self.json(layout::RUN_MODES_REPORT)?;
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
}

/// Lines `from…` (at most [`LINES_PER_ANSWER`]) of JSON-lines text; see [`Run::lines`].
pub fn read_lines(bytes: &[u8], from: usize, after_step: Option<u64>) -> LogChunk {
    let lines: Vec<Option<Map<String, Value>>> = complete_json_lines(bytes).collect();
    let continues = from <= lines.len() && (from == 0 || after_step.is_none() || lines[from - 1].as_ref().and_then(|r| r.get("step")?.as_u64()) == after_step);
    let start = if continues { from } else { 0 };
    let end = lines.len().min(start + LINES_PER_ANSWER);
    let mut records = Vec::with_capacity(end - start);
    let mut skipped = 0;
    for line in &lines[start..end] {
        match line {
            Some(m) => records.push(Value::Object(m.clone())),
            None => skipped += 1,
        }
    }
    LogChunk { records, next: end, skipped, reset: !continues, more: end < lines.len() }
}
