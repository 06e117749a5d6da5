//! URL Scheme, URL Link and Short Link (issue 6).

use std::sync::Arc;

use crate::services::ServiceDeps;

pub struct LinkService {
    #[allow(dead_code)]
    deps: ServiceDeps,
}

impl LinkService {
    pub fn new(deps: &ServiceDeps) -> Arc<Self> {
        Arc::new(LinkService { deps: deps.clone() })
    }
}
