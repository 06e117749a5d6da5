//! The logic between controllers and the outside world.
pub mod codes;
pub mod links;
pub mod mini_program;
pub mod token;
pub mod users;

use std::sync::Arc;

use crate::config::Settings;
use crate::metrics::Metrics;
use crate::services::mini_program::MiniProgramService;
use crate::store::Db;

/// What every service is built from; one constructor shape for all of them.
#[derive(Clone)]
pub struct ServiceDeps {
    pub settings: Arc<Settings>,
    pub db: Db,
    pub metrics: Arc<Metrics>,
    pub mini_program: Arc<MiniProgramService>,
}
