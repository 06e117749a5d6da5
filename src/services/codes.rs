//! Mini-program codes: `/api/qr_code` (issue 5).

use std::sync::Arc;

use crate::services::ServiceDeps;

pub struct CodeService {
    #[allow(dead_code)]
    deps: ServiceDeps,
}

impl CodeService {
    pub fn new(deps: &ServiceDeps) -> Arc<Self> {
        Arc::new(CodeService { deps: deps.clone() })
    }
}
