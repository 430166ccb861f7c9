//! What the dashboard's routes share: the runs folder, and the playground's sessions (each
//! handler takes the part it needs through `State`).

use std::sync::Arc;

use axum::extract::FromRef;

use super::runs::RunsDir;
use crate::playground::Playground;

#[derive(Clone)]
pub struct AppState {
    dir: Arc<RunsDir>,
    playground: Arc<Playground>,
}

impl AppState {
    pub fn new(dir: Arc<RunsDir>, playground: Arc<Playground>) -> Self {
        Self { dir, playground }
    }
}

impl FromRef<AppState> for Arc<RunsDir> {
    fn from_ref(s: &AppState) -> Self {
        s.dir.clone()
    }
}

impl FromRef<AppState> for Arc<Playground> {
    fn from_ref(s: &AppState) -> Self {
        s.playground.clone()
    }
}
