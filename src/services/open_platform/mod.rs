//! Open Platform (third-party platform): tickets, component token, authorizers (issue 9).

use std::sync::Arc;

use crate::services::ServiceDeps;

pub struct OpenPlatformService {
    #[allow(dead_code)]
    deps: ServiceDeps,
}

impl OpenPlatformService {
    pub fn new(deps: &ServiceDeps) -> Arc<Self> {
        Arc::new(OpenPlatformService { deps: deps.clone() })
    }
}
