//! The playground: GAN Lab's interactive 2-D GAN on gantry's own engine. Each session is a
//! [`scene::Scene`] (a `Trainer` of `mlp-toy` with the usual losses, penalties and optimisers)
//! that trains on a thread of its own and publishes frames; the page steers it with
//! [`Command`]s. [`Playground`] holds the sessions within [`Limits`]: a cap on sessions, on steps
//! per second, and an idle time after which a session nobody watches ends.

pub mod scene;
pub mod settings;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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

impl Limits {
    /// Refuses limits that cannot work (no sessions, no steps, a rate that is not a number).
    pub fn check(&self) -> Result<()> {
        if self.max_sessions == 0 {
            return Err(Error::config("sessions", "at least one playground session must be allowed"));
        }
        if !(self.max_steps_per_s.is_finite() && self.max_steps_per_s >= SLOW_STEPS_PER_S) {
            return Err(Error::config("max_steps_per_s", format!("expected a number of at least {SLOW_STEPS_PER_S}, got {}", self.max_steps_per_s)));
        }
        Ok(())
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_sessions: 4, max_steps_per_s: 100.0, idle: Duration::from_secs(10) }
    }
}

pub const SLOW_STEPS_PER_S: f64 = 2.0;
/// A playing session publishes a frame at most this often (every step in slow motion).
const FRAME_EVERY: Duration = Duration::from_millis(100);
/// Commands waiting for a session; one more is refused (the page waits for its frame).
const QUEUE: usize = 8;

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
    commands: mpsc::SyncSender<Command>,
    frames: Arc<watch::Sender<Arc<str>>>,
    /// Set by `close`: the thread ends before its next update, whatever is queued.
    closing: Arc<AtomicBool>,
}

/// Why a command did not reach its session.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// No such session (it ended, or never was).
    NoSession,
    /// Its queue is full: the commands before it have not been taken yet.
    Busy,
}

/// Why a session was not opened.
#[derive(Debug)]
pub enum NotOpened {
    /// `max_sessions` are running: a limit the client meets, not a fault.
    Full { max: usize },
    /// The settings (or the server) could not start one: the error says which field.
    Failed(Error),
}

impl std::fmt::Display for NotOpened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Full { max } => write!(f, "the playground is full: {max} sessions are training, the most this server runs at once; close one or try again later"),
            Self::Failed(e) => e.fmt(f),
        }
    }
}

impl From<NotOpened> for Error {
    fn from(n: NotOpened) -> Self {
        match n {
            NotOpened::Failed(e) => e,
            full => Error::Other(full.to_string()),
        }
    }
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
    pub fn new(runs_dir: PathBuf, limits: Limits) -> Result<Self> {
        limits.check()?;
        Ok(Self { limits, runs_dir, sessions: Arc::default(), next_id: AtomicU64::new(1) })
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
    pub fn open(&self, settings: Settings) -> std::result::Result<u64, NotOpened> {
        settings.check().map_err(NotOpened::Failed)?;
        let mut sessions = self.sessions.lock().map_err(|_| NotOpened::Failed(Error::Other("the playground's session table is unusable".into())))?;
        if sessions.len() >= self.limits.max_sessions {
            return Err(NotOpened::Full { max: self.limits.max_sessions });
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::sync_channel(QUEUE);
        let (frames, _) = watch::channel::<Arc<str>>(Arc::from(r#"{"message":"starting"}"#));
        let frames = Arc::new(frames);
        let closing = Arc::new(AtomicBool::new(false));
        let worker = Worker { id, limits: self.limits.clone(), runs_dir: self.runs_dir.clone(), commands: rx, frames: frames.clone(), closing: closing.clone() };
        let table = self.sessions.clone();
        std::thread::Builder::new()
            .name(format!("gantry-playground-{id}"))
            .spawn(move || {
                // The session's place in the table is given up however the thread ends (a panic
                // included), so the cap counts only threads that run.
                let _leave = Leave { table, id };
                let frames = worker.frames.clone();
                if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| worker.run(settings))).is_err() {
                    frames.send_replace(Arc::from(serde_json::json!({ "session": id, "message": "the session stopped on an internal error; reload the page" }).to_string()));
                }
            })
            .map_err(|e| NotOpened::Failed(Error::Other(format!("cannot start a playground session: {e}"))))?;
        sessions.insert(id, Session { commands: tx, frames, closing });
        Ok(id)
    }

    /// The frames of session `id`: the latest at once, then each new one.
    pub fn frames(&self, id: u64) -> Option<watch::Receiver<Arc<str>>> {
        self.sessions.lock().ok()?.get(&id).map(|s| s.frames.subscribe())
    }

    /// Queues `command` for session `id`, or says why not.
    pub fn send(&self, id: u64, command: Command) -> std::result::Result<(), Refused> {
        let sessions = self.sessions.lock().map_err(|_| Refused::NoSession)?;
        let session = sessions.get(&id).filter(|s| !s.closing.load(Ordering::SeqCst)).ok_or(Refused::NoSession)?;
        session.commands.try_send(command).map_err(|e| match e {
            mpsc::TrySendError::Full(_) => Refused::Busy,
            mpsc::TrySendError::Disconnected(_) => Refused::NoSession,
        })
    }

    /// Writes session `id` as a run folder and returns the run's name.
    pub fn save(&self, id: u64) -> Result<String> {
        let (tx, rx) = mpsc::channel();
        match self.send(id, Command::Save(tx)) {
            Ok(()) => {}
            Err(Refused::NoSession) => return Err(Error::Other(format!("no playground session {id} (it ended; open the playground again)"))),
            Err(Refused::Busy) => return Err(Error::Other("the session is busy with earlier commands; try again".into())),
        }
        rx.recv_timeout(Duration::from_secs(60)).map_err(|_| Error::Other("the session did not answer".into()))?
    }

    /// Ends session `id`: its thread stops before its next update (its place counts until then).
    pub fn close(&self, id: u64) -> bool {
        let Ok(sessions) = self.sessions.lock() else { return false };
        let Some(s) = sessions.get(&id) else { return false };
        s.closing.store(true, Ordering::SeqCst);
        // Wakes a thread that waits for commands; a full queue is drained soon anyway.
        let _ = s.commands.try_send(Command::Close);
        true
    }

    /// Ends every session.
    pub fn close_all(&self) {
        let ids: Vec<u64> = self.sessions.lock().map(|s| s.keys().copied().collect()).unwrap_or_default();
        for id in ids {
            self.close(id);
        }
    }
}

impl Drop for Playground {
    fn drop(&mut self) {
        self.close_all();
    }
}

/// Removes a session from the table when its thread ends.
struct Leave {
    table: Arc<Mutex<HashMap<u64, Session>>>,
    id: u64,
}

impl Drop for Leave {
    fn drop(&mut self) {
        if let Ok(mut t) = self.table.lock() {
            t.remove(&self.id);
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
    closing: Arc<AtomicBool>,
}

/// The session's state between commands.
struct Controls {
    playing: bool,
    slow: bool,
    message: Option<String>,
    last_step: Instant,
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
        let mut c = Controls { playing: false, slow: false, message: None, last_step: Instant::now() - Duration::from_secs(1) };
        if let Some(s) = &scene {
            self.publish(s, &c);
        }
        let mut watched = Instant::now();
        let mut last_frame = Instant::now();
        let mut stale = false;
        loop {
            if self.closing.load(Ordering::SeqCst) {
                break;
            }
            if self.frames.receiver_count() > 0 {
                watched = Instant::now();
            } else if watched.elapsed() > self.limits.idle {
                break;
            }
            let playing = c.playing && scene.is_some();
            let next_step = c.last_step + self.step_interval(&c);
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
                c.last_step = Instant::now();
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
    }

    /// The time between two updates: slow motion, or the server's cap on steps per second.
    fn step_interval(&self, c: &Controls) -> Duration {
        Duration::from_secs_f64(1.0 / if c.slow { SLOW_STEPS_PER_S } else { self.limits.max_steps_per_s })
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
                // Steps by hand count against the same cap as playing.
                std::thread::sleep((c.last_step + self.step_interval(c)).saturating_duration_since(Instant::now()));
                c.last_step = Instant::now();
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
