//! The run folder itself: its subfolders, `config.toml`, and `real.png` (real data, once).

use std::path::{Path, PathBuf};

use super::io;
use crate::device::host_device;
use crate::error::Result;
use crate::sample::write_points;
use crate::train::trainer::{Event, Observer, Trainer};
use crate::viz;

pub struct RunFiles {
    dir: PathBuf,
}

impl RunFiles {
    pub fn new(dir: &Path) -> Self {
        Self { dir: dir.to_path_buf() }
    }
}

impl Observer for RunFiles {
    fn on_event(&mut self, t: &Trainer, event: &Event) -> Result<()> {
        let Event::Start = event else { return Ok(()) };
        for d in ["samples", "checkpoints"] {
            io(std::fs::create_dir_all(self.dir.join(d)), &self.dir.join(d))?;
        }
        crate::tensor_file::write_atomic(&self.dir.join("config.toml"), t.config.to_toml().as_bytes())?;
        if t.resumed_from.is_some() {
            return Ok(());
        }
        let path = self.dir.join("real.png");
        match t.data.kind.point_modes() {
            Some((centres, _)) => {
                let points = t.data.batch(&(0..t.data.len.min(2000)).collect::<Vec<_>>(), &host_device());
                write_points("real data", &points, &centres, &path)
            }
            None => viz::grid::save_grid(&t.data.batch(&(0..t.data.len.min(64)).collect::<Vec<_>>(), &host_device()), 8, &[], &path),
        }
    }
}
