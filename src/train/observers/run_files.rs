//! The run folder itself: its lock (one writer per run), its subfolders, `config.toml`, and
//! `real.png` (real data, once).

use std::path::{Path, PathBuf};

use crate::device::host_device;
use crate::error::Result;
use crate::run::RunLock;
use crate::run::layout;
use crate::run::lines::io;
use crate::sample::write_points;
use crate::train::trainer::{Event, Observer, Trainer};
use crate::viz;

pub struct RunFiles {
    dir: PathBuf,
    lock: Option<RunLock>,
}

impl RunFiles {
    pub fn new(dir: &Path) -> Self {
        Self { dir: dir.to_path_buf(), lock: None }
    }
}

impl Observer for RunFiles {
    fn on_event(&mut self, t: &Trainer, event: &Event) -> Result<()> {
        let Event::Start = event else { return Ok(()) };
        self.lock = Some(RunLock::acquire(&self.dir)?);
        for d in [layout::SAMPLES, layout::CHECKPOINTS] {
            let sub = layout::file(&self.dir, d);
            io(std::fs::create_dir_all(&sub), &sub)?;
        }
        crate::tensor_file::write_atomic(&layout::file(&self.dir, layout::CONFIG), t.config.to_toml().as_bytes())?;
        if t.resumed_from.is_some() {
            return Ok(());
        }
        let path = layout::file(&self.dir, layout::REAL);
        match t.data.kind.point_centres() {
            Some(centres) => {
                let points = t.data.batch(&(0..t.data.len.min(2000)).collect::<Vec<_>>(), &host_device());
                write_points("real data", &points, &centres, &path)
            }
            None => viz::grid::save_grid(&t.data.batch(&(0..t.data.len.min(64)).collect::<Vec<_>>(), &host_device()), 8, &[], &path),
        }
    }
}
