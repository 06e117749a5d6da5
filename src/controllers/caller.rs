//! Who is calling: the client address and the bearer, for the admission gate
//! (`src/services/admission.rs`).

use std::net::{IpAddr, Ipv4Addr};

use actix_web::HttpRequest;
use actix_web::http::header::HeaderValue;

use crate::app::AppContext;
use crate::config::TrustedProxies;
use crate::controllers::auth;
use crate::services::admission::{Admit, Caller};

pub fn caller(req: &HttpRequest, ctx: &AppContext) -> Caller {
    let peer = req
        .peer_addr()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip());
    let ip = client_ip(
        peer,
        req.headers().get("x-forwarded-for"),
        &ctx.settings.server.trusted_proxies,
    );
    let internal = auth::require_any(req, &ctx.settings.internal.keys).is_ok();
    let bearer = if internal {
        None
    } else {
        auth::bearer(req).map(str::to_owned)
    };
    Caller {
        ip,
        internal,
        bearer,
    }
}

/// The gate for a request from `caller`.
pub fn admit<'a>(ctx: &'a AppContext, caller: &'a Caller) -> Admit<'a> {
    Admit::Request(&ctx.gate, caller)
}

/// The peer, unless it is a trusted proxy: then the nearest address of
/// `X-Forwarded-For` that is not one (read from the right, as each proxy appends the
/// address it saw: the addresses further left are the client's word, and may be forged).
pub fn client_ip(
    peer: IpAddr,
    forwarded_for: Option<&HeaderValue>,
    trusted: &TrustedProxies,
) -> IpAddr {
    let peer = peer.to_canonical();
    if !trusted.contains(&peer) {
        return peer;
    }
    let Some(list) = forwarded_for.and_then(|v| v.to_str().ok()) else {
        return peer;
    };
    let mut nearest = peer;
    for hop in list.rsplit(',') {
        let Ok(ip) = hop.trim().parse::<IpAddr>() else {
            // An unreadable entry: trust stops here.
            return nearest;
        };
        let ip = ip.to_canonical();
        if !trusted.contains(&ip) {
            return ip;
        }
        nearest = ip;
    }
    nearest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(list: &[&str]) -> TrustedProxies {
        TrustedProxies(list.iter().map(|s| s.parse().unwrap()).collect())
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_counts_only_behind_a_trusted_proxy() {
        let xff = HeaderValue::from_static("203.0.113.9");
        let trusted = proxies(&["10.0.0.0/8"]);
        assert_eq!(
            client_ip(ip("10.1.2.3"), Some(&xff), &trusted),
            ip("203.0.113.9")
        );
        // From anyone else the header is the client's own claim.
        assert_eq!(
            client_ip(ip("198.51.100.7"), Some(&xff), &trusted),
            ip("198.51.100.7")
        );
        assert_eq!(client_ip(ip("10.1.2.3"), None, &trusted), ip("10.1.2.3"));
        assert_eq!(
            client_ip(ip("10.1.2.3"), Some(&xff), &proxies(&[])),
            ip("10.1.2.3")
        );
    }

    #[test]
    fn a_forged_leftmost_entry_is_not_believed() {
        let trusted = proxies(&["10.0.0.0/8"]);
        let xff = HeaderValue::from_static("1.1.1.1, 203.0.113.9, 10.0.0.2");
        assert_eq!(
            client_ip(ip("10.0.0.1"), Some(&xff), &trusted),
            ip("203.0.113.9")
        );
        let garbage = HeaderValue::from_static("nonsense, 10.0.0.2");
        assert_eq!(
            client_ip(ip("10.0.0.1"), Some(&garbage), &trusted),
            ip("10.0.0.2")
        );
        let mapped = HeaderValue::from_static("::ffff:203.0.113.9");
        assert_eq!(
            client_ip(ip("::ffff:10.0.0.1"), Some(&mapped), &trusted),
            ip("203.0.113.9")
        );
    }
}
