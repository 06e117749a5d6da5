//! Calls through the gateway, counted for `/metrics` and `/admin/stats`: per client, API
//! label and errcode, with the last call's time. Labels come from bounded sets (client
//! names from the configuration, API labels from `allow` or a fixed few, errcodes), so
//! the table cannot grow with what a caller invents.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::metrics::{GatewayLabels, Metrics};
use crate::services::token::now_unix;

/// The client label when no client could be told (a wrong key, a bad token).
pub const UNKNOWN_CLIENT: &str = "unknown";

/// The API label of a call: a fixed name or one of the client's `allow` patterns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallLabel {
    pub client: String,
    pub api: String,
}

impl CallLabel {
    pub fn new(client: &str, api: &str) -> Self {
        CallLabel {
            client: client.to_owned(),
            api: api.to_owned(),
        }
    }
}

/// One (client, API, errcode) row since this instance started.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GatewayCalls {
    pub client: String,
    /// The matched `allow` pattern, `cgi-bin/token`, `cgi-bin/stable_token`,
    /// `sns/jscode2session`, `denied` (48001) or `other` (refused before a client was known).
    pub api: String,
    /// `0` for success, else ours or WeChat's errcode.
    pub errcode: String,
    pub calls: u64,
    /// Unix seconds.
    pub last_call_at: i64,
}

/// `(client, api, errcode)`.
type RowKey = (String, String, String);
/// `(calls, unix second of the last)`.
type RowCount = (u64, i64);

pub struct GatewayStats {
    rows: Mutex<BTreeMap<RowKey, RowCount>>,
    metrics: Arc<Metrics>,
}

impl GatewayStats {
    pub fn new(metrics: Arc<Metrics>) -> Self {
        GatewayStats {
            rows: Mutex::default(),
            metrics,
        }
    }

    pub fn record(&self, label: &CallLabel, errcode: i64) {
        let errcode = errcode.to_string();
        self.metrics
            .gateway_calls
            .get_or_create(&GatewayLabels {
                client: label.client.clone(),
                api: label.api.clone(),
                errcode: errcode.clone(),
            })
            .inc();
        let now = now_unix();
        let mut rows = self.rows.lock().unwrap_or_else(|p| p.into_inner());
        let row = rows
            .entry((label.client.clone(), label.api.clone(), errcode))
            .or_default();
        row.0 += 1;
        row.1 = now;
    }

    /// Every row, by client, API and errcode.
    pub fn rows(&self) -> Vec<GatewayCalls> {
        let rows = self.rows.lock().unwrap_or_else(|p| p.into_inner());
        rows.iter()
            .map(|((client, api, errcode), (calls, last))| GatewayCalls {
                client: client.clone(),
                api: api.clone(),
                errcode: errcode.clone(),
                calls: *calls,
                last_call_at: *last,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_are_counted_per_client_api_and_errcode() {
        let metrics = Metrics::new();
        let stats = GatewayStats::new(metrics.clone());
        let php = CallLabel::new("php", "wxa/*");
        stats.record(&php, 0);
        stats.record(&php, 0);
        stats.record(&php, 45009);
        stats.record(&CallLabel::new(UNKNOWN_CLIENT, "other"), 40001);
        let rows = stats.rows();
        assert_eq!(rows.len(), 3);
        let ok = rows.iter().find(|r| r.client == "php" && r.errcode == "0");
        assert_eq!(ok.map(|r| r.calls), Some(2));
        let text = metrics.render();
        assert!(
            text.contains(r#"wxa_gateway_calls_total{client="php",api="wxa/*",errcode="0"} 2"#),
            "{text}"
        );
    }
}
