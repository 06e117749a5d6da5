//! Login and phone binding (issue 7).

use std::sync::Arc;

use crate::services::ServiceDeps;

pub struct UserService {
    #[allow(dead_code)]
    deps: ServiceDeps,
}

impl UserService {
    pub fn new(deps: &ServiceDeps) -> Arc<Self> {
        Arc::new(UserService { deps: deps.clone() })
    }
}
