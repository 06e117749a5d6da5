//! Prometheus metrics, one registry per running app (tests run several in one process).

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// One of [`method_label`]'s fixed names: an invented method must not add a series.
    pub method: &'static str,
    /// The matched route pattern (never the raw path, which would explode cardinality).
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct UpstreamLabels {
    pub api: &'static str,
    /// `0` on success, WeChat's errcode, or `transport` / `timeout`.
    pub errcode: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TokenLabels {
    pub app: String,
    pub mode: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CacheLabels {
    pub cache: &'static str,
    pub result: &'static str,
}

/// The method as a label from a fixed set; anything outside the standard methods is
/// `OTHER`, so a client inventing methods cannot grow the registry.
pub fn method_label(method: &actix_web::http::Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "PATCH" => "PATCH",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        "CONNECT" => "CONNECT",
        "TRACE" => "TRACE",
        _ => "OTHER",
    }
}

/// Calls through the gateway (`/wx/`). Every label comes from a bounded set: `client` is
/// a configured name (or `unknown`), `api` the client's matched `allow` pattern or a fixed
/// name, `errcode` ours or WeChat's.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GatewayLabels {
    pub client: String,
    pub api: String,
    pub errcode: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 0.5 ms .. ~16 s: loopback hits and slow WeChat calls both land in a bucket.
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.0005, 2.0, 16,
    ))
}

pub struct Metrics {
    registry: Registry,
    pub http_requests: Family<RequestLabels, Counter>,
    pub http_latency: HistogramFamily<RequestLabels>,
    pub upstream_calls: Family<UpstreamLabels, Counter>,
    pub token_fetches: Family<TokenLabels, Counter>,
    pub cache_lookups: Family<CacheLabels, Counter>,
    pub gateway_calls: Family<GatewayLabels, Counter>,
}

impl Metrics {
    pub fn new() -> Arc<Self> {
        let mut registry = Registry::with_prefix("wxa");
        let http_requests = Family::<RequestLabels, Counter>::default();
        let http_latency: HistogramFamily<RequestLabels> =
            Family::new_with_constructor(latency_histogram);
        let upstream_calls = Family::<UpstreamLabels, Counter>::default();
        let token_fetches = Family::<TokenLabels, Counter>::default();
        let cache_lookups = Family::<CacheLabels, Counter>::default();
        let gateway_calls = Family::<GatewayLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests served",
            http_requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency",
            http_latency.clone(),
        );
        registry.register(
            "upstream_calls",
            "Calls to WeChat by API and errcode",
            upstream_calls.clone(),
        );
        registry.register(
            "token_fetches",
            "access_token fetches from upstream by app and mode",
            token_fetches.clone(),
        );
        registry.register(
            "cache_lookups",
            "Cache lookups by cache and result",
            cache_lookups.clone(),
        );
        registry.register(
            "gateway_calls",
            "Calls through the WeChat API gateway by client, API and errcode",
            gateway_calls.clone(),
        );
        Arc::new(Metrics {
            registry,
            http_requests,
            http_latency,
            upstream_calls,
            token_fetches,
            cache_lookups,
            gateway_calls,
        })
    }

    /// The text exposition (OpenMetrics, which Prometheus scrapes natively).
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        if let Err(e) = encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "metrics encoding failed");
        }
        out
    }
}
