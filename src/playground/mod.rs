//! The playground: GAN Lab's interactive 2-D GAN on gantry's own engine. Each session is a
//! [`scene::Scene`] (a `Trainer` of `mlp-toy` with the usual losses, penalties and optimisers)
//! that trains on a thread of its own and publishes frames; the page steers it with
//! [`Command`]s. [`Playground`] holds the sessions within [`Limits`]: a cap on sessions, on steps
//! per second, and an idle time after which a session nobody watches ends.

pub mod scene;
pub mod settings;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::error::{Error, Result};
use crate::train::StepPart;
use scene::Scene;
pub use settings::Settings;

#[derive(Clone, Debug)]
pub struct Limits {
    /// Sessions training at once; one more is refused with a message.
    pub max_sessions: usize,
    /// Steps per second a playing session takes at most (slow motion: [`SLOW_STEPS_PER_S`]).
    pub max_steps_per_s: f64,
    /// A session that no page has watched for this long ends.
    pub idle: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_sessions: 4, max_steps_per_s: 100.0, idle: Duration::from_secs(10) }
    }
}

pub const SLOW_STEPS_PER_S: f64 = 2.0;
/// A playing session publishes a frame at most this often (every step in slow motion).
const FRAME_EVERY: Duration = Duration::from_millis(100);

/// What a page asks of its session.
#[derive(Debug)]
pub enum Command {
    Play,
    Pause,
    /// One update by hand: a whole step, one discriminator step, or one generator step.
    Step(StepPart),
    Slow(bool),
    /// A new scene with these settings (checked before they are sent).
    Reset(Settings),
    /// Write the scene as a run folder; the answer is the run's name.
    Save(mpsc::Sender<Result<String>>),
    Close,
}

struct Session {
    commands: mpsc::Sender<Command>,
    frames: Arc<watch::Sender<Arc<str>>>,
}

/// The sessions of one server.
pub struct Playground {
    limits: Limits,
    runs_dir: PathBuf,
    sessions: Arc<Mutex<HashMap<u64, Session>>>,
    next_id: AtomicU64,
}

impl Playground {
    /// Sessions save their runs into `runs_dir`.
    pub fn new(runs_dir: PathBuf, limits: Limits) -> Self {
        Self { limits, runs_dir, sessions: Arc::default(), next_id: AtomicU64::new(1) }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Sessions running now.
    pub fn len(&self) -> usize {
        self.sessions.lock().map_or(0, |s| s.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Starts a session of `settings` (checked here: a bad field is a config error) and returns
    /// its id, or refuses when `max_sessions` are running.
    pub fn open(&self, settings: Settings) -> Result<u64> {
        settings.check()?;
        let mut sessions = self.sessions.lock().map_err(|_| Error::Other("the playground's session table is unusable".into()))?;
        if sessions.len() >= self.limits.max_sessions {
            return Err(Error::Other(format!(
                "the playground is full: {} sessions are training, the most this server runs at once; close one or try again later",
                self.limits.max_sessions
            )));
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel();
        let (frames, _) = watch::channel::<Arc<str>>(Arc::from(r#"{"message":"starting"}"#));
        let frames = Arc::new(frames);
        let worker = Worker { id, limits: self.limits.clone(), runs_dir: self.runs_dir.clone(), commands: rx, frames: frames.clone(), table: self.sessions.clone() };
        std::thread::Builder::new()
            .name(format!("gantry-playground-{id}"))
            .spawn(move || worker.run(settings))
            .map_err(|e| Error::Other(format!("cannot start a playground session: {e}")))?;
        sessions.insert(id, Session { commands: tx, frames });
        Ok(id)
    }

    /// The frames of session `id`: the latest at once, then each new one.
    pub fn frames(&self, id: u64) -> Option<watch::Receiver<Arc<str>>> {
        self.sessions.lock().ok()?.get(&id).map(|s| s.frames.subscribe())
    }

    /// Sends `command` to session `id`; false when there is no such session (it ended).
    pub fn send(&self, id: u64, command: Command) -> bool {
        let Ok(sessions) = self.sessions.lock() else {
            return false;
        };
        sessions.get(&id).is_some_and(|s| s.commands.send(command).is_ok())
    }

    /// Writes session `id` as a run folder and returns the run's name.
    pub fn save(&self, id: u64) -> Result<String> {
        let (tx, rx) = mpsc::channel();
        if !self.send(id, Command::Save(tx)) {
            return Err(Error::Other(format!("no playground session {id} (it ended; open the playground again)")));
        }
        rx.recv_timeout(Duration::from_secs(60)).map_err(|_| Error::Other("the session did not answer".into()))?
    }

    /// Ends session `id` (its thread stops within one step).
    pub fn close(&self, id: u64) -> bool {
        let removed = self.sessions.lock().ok().and_then(|mut s| s.remove(&id));
        if let Some(s) = &removed {
            let _ = s.commands.send(Command::Close);
        }
        removed.is_some()
    }

    /// Ends every session.
    pub fn close_all(&self) {
        if let Ok(mut s) = self.sessions.lock() {
            for (_, session) in s.drain() {
                let _ = session.commands.send(Command::Close);
            }
        }
    }
}

/// A frame as the page receives it: the session's controls, its settings, and the scene.
#[derive(serde::Serialize)]
struct Published<'a> {
    session: u64,
    playing: bool,
    slow: bool,
    message: Option<&'a str>,
    settings: &'a Settings,
    #[serde(flatten)]
    frame: scene::Frame<'a>,
}

/// A session's thread: it owns the scene, takes commands, steps while playing and publishes.
struct Worker {
    id: u64,
    limits: Limits,
    runs_dir: PathBuf,
    commands: mpsc::Receiver<Command>,
    frames: Arc<watch::Sender<Arc<str>>>,
    table: Arc<Mutex<HashMap<u64, Session>>>,
}

/// The session's state between commands.
struct Controls {
    playing: bool,
    slow: bool,
    message: Option<String>,
}

impl Worker {
    fn run(self, settings: Settings) {
        let mut scene = match Scene::new(settings) {
            Ok(s) => Some(s),
            Err(e) => {
                self.publish_message(&e.to_string());
                None
            }
        };
        let mut c = Controls { playing: false, slow: false, message: None };
        if let Some(s) = &scene {
            self.publish(s, &c);
        }
        let mut watched = Instant::now();
        let mut last_step = Instant::now() - Duration::from_secs(1);
        let mut last_frame = Instant::now();
        let mut stale = false;
        loop {
            if self.frames.receiver_count() > 0 {
                watched = Instant::now();
            } else if watched.elapsed() > self.limits.idle {
                break;
            }
            let rate = if c.slow { SLOW_STEPS_PER_S } else { self.limits.max_steps_per_s };
            let playing = c.playing && scene.is_some();
            let next_step = last_step + Duration::from_secs_f64(1.0 / rate);
            let wait = if playing { next_step.saturating_duration_since(Instant::now()) } else { Duration::from_millis(200) };
            let command = match self.commands.recv_timeout(wait.min(Duration::from_millis(200))) {
                Ok(command) => Some(command),
                Err(mpsc::RecvTimeoutError::Timeout) => None,
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            };
            if let Some(command) = command {
                match self.handle(command, &mut scene, &mut c) {
                    Some(changed) => stale |= changed,
                    None => break,
                }
            } else if playing && Instant::now() >= next_step {
                last_step = Instant::now();
                let scene = scene.as_mut().expect("playing with a scene");
                if let Err(e) = scene.take(StepPart::Full) {
                    c.playing = false;
                    c.message = Some(e.to_string());
                }
                stale = true;
            }
            if stale && (!c.playing || c.slow || last_frame.elapsed() >= FRAME_EVERY) {
                if let Some(s) = &scene {
                    self.publish(s, &c);
                }
                last_frame = Instant::now();
                stale = false;
            }
        }
        if let Ok(mut t) = self.table.lock() {
            t.remove(&self.id);
        }
    }

    /// Applies a command; whether the frame changed, or None to end the session.
    fn handle(&self, command: Command, scene: &mut Option<Scene>, c: &mut Controls) -> Option<bool> {
        match command {
            Command::Close => return None,
            Command::Play => {
                c.playing = true;
                c.message = None;
            }
            Command::Pause => c.playing = false,
            Command::Slow(slow) => c.slow = slow,
            Command::Step(part) => {
                c.playing = false;
                if let Some(s) = scene {
                    c.message = s.take(part).err().map(|e| e.to_string());
                }
            }
            Command::Reset(settings) => {
                c.playing = false;
                c.message = None;
                match Scene::new(settings) {
                    Ok(s) => *scene = Some(s),
                    Err(e) => c.message = Some(e.to_string()),
                }
            }
            Command::Save(answer) => {
                let result = match scene {
                    Some(s) => self.save(s),
                    None => Err(Error::Other("there is no scene to save: reset with settings that work".into())),
                };
                let _ = answer.send(result);
                return Some(false);
            }
        }
        Some(true)
    }

    fn save(&self, scene: &mut Scene) -> Result<String> {
        let s = &scene.settings;
        let loss = serde_json::to_value(s.loss).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        let name = format!("playground-{}-{loss}-step{}", s.dataset, scene.step());
        let dir = crate::run::layout::claim_run_dir(&self.runs_dir, &name).map_err(|e| Error::io(&self.runs_dir, e))?;
        scene.save_as_run(&dir)?;
        Ok(dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or(name))
    }

    fn publish(&self, scene: &Scene, c: &Controls) {
        let published = Published { session: self.id, playing: c.playing, slow: c.slow, message: c.message.as_deref(), settings: &scene.settings, frame: scene.frame() };
        let text =
            serde_json::to_string(&published).unwrap_or_else(|e| serde_json::json!({ "session": self.id, "message": format!("a frame could not be written: {e}") }).to_string());
        self.frames.send_replace(Arc::from(text));
    }

    fn publish_message(&self, message: &str) {
        self.frames.send_replace(Arc::from(serde_json::json!({ "session": self.id, "message": message }).to_string()));
    }
}
