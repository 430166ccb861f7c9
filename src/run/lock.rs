//! One writer per run: an OS lock on `RUN/.lock`, holding the writer's PID.

use std::path::{Path, PathBuf};

use super::layout;
use super::lines::io;
use crate::error::{Error, Result};

/// An OS lock on `RUN/.lock` (holding the writer's PID), kept while a process writes the run.
/// The OS releases it when the process ends, however it ends, so a killed run leaves no stale
/// lock. Readers (`sample`, `eval`) do not take it. A process that holds it may take it again
/// (the command line takes it before loading a checkpoint, the run's observers at its start).
pub struct RunLock {
    /// The locked file; None for a lock this process already held.
    file: Option<std::fs::File>,
    path: PathBuf,
}

/// The lock files this process holds.
static HELD: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

impl RunLock {
    pub fn acquire(run_dir: &Path) -> Result<RunLock> {
        use std::io::{Read, Seek, Write};
        io(std::fs::create_dir_all(run_dir), run_dir)?;
        let path = layout::file(&io(run_dir.canonicalize(), run_dir)?, layout::LOCK);
        let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
        if held.contains(&path) {
            return Ok(RunLock { file: None, path });
        }
        let mut file = io(std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path), &path)?;
        match file.try_lock() {
            Ok(()) => {
                io(file.set_len(0).and_then(|_| file.rewind()).and_then(|_| write!(file, "{}", std::process::id())).and_then(|_| file.flush()), &path)?;
                held.push(path.clone());
                Ok(RunLock { file: Some(file), path })
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                Err(Error::Other(format!(
                    "{} is being written by another gantry process (PID {}); wait for it to end or stop it",
                    run_dir.display(),
                    holder.trim()
                )))
            }
            Err(std::fs::TryLockError::Error(e)) => Err(Error::io(&path, e)),
        }
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            HELD.lock().unwrap_or_else(|e| e.into_inner()).retain(|p| *p != self.path);
        }
    }
}
