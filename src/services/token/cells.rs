//! Cells made on demand, one per appid (the Open Platform's authorizers). A hit reads the
//! map through an `ArcSwap` (no lock); adding or dropping a cell copies the map, which
//! happens once per authorizer and process. Callers add a cell only for an appid they
//! checked (`check_authorized` in `src/services/open_platform/authorizers.rs`), so an
//! unknown appid grows nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;

use super::cell::{Hub, TokenCell};
use super::source::TokenSource;
use crate::error::AppError;

type Map = HashMap<String, Arc<TokenCell>>;

pub struct TokenCells {
    kind: &'static str,
    margin: i64,
    hub: Arc<Hub>,
    source: Arc<dyn TokenSource>,
    cells: ArcSwap<Map>,
    /// Writers copy the map one at a time.
    write: Mutex<()>,
}

impl TokenCells {
    pub fn new(
        kind: &'static str,
        margin: i64,
        hub: Arc<Hub>,
        source: Arc<dyn TokenSource>,
    ) -> Self {
        TokenCells {
            kind,
            margin,
            hub,
            source,
            cells: ArcSwap::from_pointee(Map::new()),
            write: Mutex::new(()),
        }
    }

    pub fn get(&self, app_id: &str) -> Option<Arc<TokenCell>> {
        self.cells.load().get(app_id).cloned()
    }

    /// The `access_tokens` kind of these cells.
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// The cell of `app_id`, made if absent: only for an appid known to be valid.
    pub fn get_or_insert(&self, app_id: &str) -> Arc<TokenCell> {
        if let Some(cell) = self.get(app_id) {
            return cell;
        }
        self.get_or_insert_all(&[app_id])
            .pop()
            .unwrap_or_else(|| self.cell(app_id))
    }

    /// The cells of `app_ids`, made where absent with one copy of the map (arming every
    /// authorizer at start must not copy it once per authorizer).
    pub fn get_or_insert_all<S: AsRef<str>>(&self, app_ids: &[S]) -> Vec<Arc<TokenCell>> {
        let _write = self.write.lock().unwrap_or_else(|e| e.into_inner());
        let cells = self.cells.load();
        let mut next: Option<Map> = None;
        let mut out = Vec::with_capacity(app_ids.len());
        for app_id in app_ids.iter().map(AsRef::as_ref) {
            if let Some(cell) = next.as_ref().unwrap_or(&cells).get(app_id) {
                out.push(Arc::clone(cell));
                continue;
            }
            let cell = self.cell(app_id);
            next.get_or_insert_with(|| Map::clone(&cells))
                .insert(app_id.to_owned(), Arc::clone(&cell));
            out.push(cell);
        }
        if let Some(next) = next {
            self.cells.store(Arc::new(next));
        }
        out
    }

    fn cell(&self, app_id: &str) -> Arc<TokenCell> {
        Arc::new(TokenCell::new(
            self.kind,
            app_id,
            app_id,
            self.margin,
            Arc::clone(&self.source),
            Arc::clone(&self.hub),
        ))
    }

    /// Drops `app_id`'s token everywhere: here, in Redis and in the database.
    pub async fn forget(&self, app_id: &str) -> Result<(), AppError> {
        let removed = {
            let _write = self.write.lock().unwrap_or_else(|e| e.into_inner());
            let cells = self.cells.load();
            cells.get(app_id).cloned().inspect(|_| {
                let mut next = Map::clone(&cells);
                next.remove(app_id);
                self.cells.store(Arc::new(next));
            })
        };
        if let Some(cell) = removed {
            cell.forget().await;
        }
        self.hub.drop_copies(self.kind, app_id).await
    }

    /// How many cells exist (tests: unknown appids must not add any).
    pub fn len(&self) -> usize {
        self.cells.load().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
