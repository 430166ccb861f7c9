//! `log.jsonl`: one JSON line per generator step (`run::log` has the format). A resumed run
//! first rewrites the log up to its checkpoint, so it continues without gaps or repeats.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::run::layout;
use crate::run::lines::io;
use crate::run::log::{keep_up_to, line};
use crate::train::trainer::{Event, Observer, Trainer};

pub struct LogWriter {
    run_dir: PathBuf,
    path: PathBuf,
    file: Option<File>,
}

impl LogWriter {
    pub fn new(run_dir: &Path) -> Self {
        Self { run_dir: run_dir.to_path_buf(), path: layout::file(run_dir, layout::LOG), file: None }
    }
}

impl Observer for LogWriter {
    fn on_event(&mut self, t: &Trainer, event: &Event) -> Result<()> {
        let path = &self.path;
        match event {
            Event::Start => {
                keep_up_to(&self.run_dir, t.progress.step)?;
                self.file = Some(io(std::fs::OpenOptions::new().append(true).open(path), path)?);
            }
            Event::Step(r) => {
                if let Some(f) = &mut self.file {
                    io(writeln!(f, "{}", line(r)), path)?;
                }
            }
            Event::EpochEnd | Event::End(_) | Event::Failed(_) => {}
        }
        Ok(())
    }
}
