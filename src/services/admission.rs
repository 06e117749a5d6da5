//! Who may make WeChat do new work (README "What an anonymous caller cannot do"). Answers
//! from records never come here: the services ask only when a request would reach WeChat,
//! so repeats are free.
//!
//! - `limited`/`qrcode` codes spend a lifetime quota: they need a bearer (a login session
//!   or an internal key) unless `codes.public_limited`.
//! - Every new unit of work counts against the client address's minute
//!   (`limits.per_ip_per_minute`); internal callers are never limited.

use std::net::IpAddr;
use std::sync::Arc;

use crate::error::{AppError, AppResult};
use crate::services::rate::RateLimiter;
use crate::services::users::UserService;

/// The caller of a request, as the controller saw it.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The client address: the peer, or from `X-Forwarded-For` behind a trusted proxy.
    pub ip: IpAddr,
    /// The bearer is one of `internal.keys`.
    pub internal: bool,
    /// Any other bearer, to be checked as a login session when it matters.
    pub bearer: Option<String>,
}

/// What a request is about to ask of WeChat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Work {
    /// A code of a kind with a lifetime quota (`limited`, `qrcode`).
    QuotaCode,
    /// Anything else new: an `unlimited` code, a link, a login, a phone binding.
    Other,
}

pub struct Gate {
    limiter: RateLimiter,
    users: Arc<UserService>,
    public_limited: bool,
}

impl Gate {
    pub fn new(limiter: RateLimiter, users: Arc<UserService>, public_limited: bool) -> Self {
        Gate {
            limiter,
            users,
            public_limited,
        }
    }

    /// Ok when `caller` may have WeChat do `work` now; 401 or 429 otherwise.
    pub async fn admit(&self, caller: &Caller, work: Work) -> AppResult<()> {
        if caller.internal {
            return Ok(());
        }
        if work == Work::QuotaCode && !self.public_limited {
            // The session is looked up only here, for new work, never for repeats.
            self.users
                .authenticate(caller.bearer.as_deref())
                .await
                .map_err(|_| AppError::Unauthorized)?;
        }
        self.limiter.admit(caller.ip).await
    }
}

/// Whether (and as whom) a service call must pass the gate before new work.
#[derive(Clone, Copy)]
pub enum Admit<'a> {
    /// A request from outside: the gate decides.
    Request(&'a Gate, &'a Caller),
    /// Our own jobs (`wxa pregen`): never limited.
    Internal,
}

impl Admit<'_> {
    pub async fn check(&self, work: Work) -> AppResult<()> {
        match self {
            Admit::Request(gate, caller) => gate.admit(caller, work).await,
            Admit::Internal => Ok(()),
        }
    }
}
