//! `POST /open/ticket`: the encrypted pushes to the authorization event URL
//! (docs/wechat.md#open-platform, #crypto). Checked in this order, each failure changing
//! nothing and logged without the payload: freshness (401), the outer XML (400),
//! `msg_signature` (401), the decryption and its appid (400), the inner XML and its AppId
//! (400).

use serde::Deserialize;
use wxa_msgcrypt::CryptError;

use super::OpenPlatformService;
use crate::error::{AppError, AppResult};
use crate::services::token::now_unix;
use crate::store::open_platform as store;

/// A push older than this is a replay.
const MAX_AGE_SECS: i64 = 600;

/// The query string of a push (`signature` and `encrypt_type` are not used: third-party
/// platforms are always encrypted, and only `msg_signature` covers the body).
#[derive(Debug, Default, Deserialize)]
pub struct PushParams {
    pub timestamp: Option<String>,
    pub nonce: Option<String>,
    pub msg_signature: Option<String>,
}

/// What a decrypted push asks for.
#[derive(Debug, PartialEq, Eq)]
enum Event {
    Ticket {
        ticket: String,
        create_time: i64,
    },
    Authorized {
        authorizer: String,
        auth_code: String,
    },
    Unauthorized {
        authorizer: String,
    },
    /// Another InfoType (e.g. fast registration notices): acknowledged, nothing stored.
    Other(String),
}

fn rejected(reason: &'static str, error: AppError) -> AppError {
    tracing::warn!(reason, "open platform push rejected");
    error
}

fn malformed(field: &'static str, reason: &'static str) -> AppError {
    rejected(reason, AppError::invalid(field, reason))
}

impl OpenPlatformService {
    /// Verifies, decrypts and acts on one push. `Ok` means: answer `success`.
    pub async fn receive(&self, params: &PushParams, body: &[u8]) -> AppResult<()> {
        let c = self.configured()?;
        let (Some(timestamp), Some(nonce), Some(signature)) = (
            params.timestamp.as_deref(),
            params.nonce.as_deref(),
            params.msg_signature.as_deref(),
        ) else {
            return Err(rejected(
                "signature parameters missing",
                AppError::Unauthorized,
            ));
        };
        let sent_at: i64 = timestamp
            .parse()
            .map_err(|_| rejected("timestamp not a number", AppError::Unauthorized))?;
        let age = now_unix() - sent_at;
        if age > MAX_AGE_SECS {
            return Err(rejected("timestamp too old", AppError::Unauthorized));
        }
        if -age > MAX_AGE_SECS {
            return Err(rejected("timestamp in the future", AppError::Unauthorized));
        }
        let body = std::str::from_utf8(body).map_err(|_| malformed("body", "不是 UTF-8"))?;
        let (outer_app_id, encrypt) = parse_outer(body)?;
        if !c.crypt.verify(signature, timestamp, nonce, &encrypt) {
            return Err(rejected("bad msg_signature", AppError::Unauthorized));
        }
        // Only authentic pushes are remembered, so the memory grows with WeChat's pushes,
        // never with what a caller invents.
        if !self.seen_pushes.first_time(signature, nonce).await {
            return Err(rejected("replayed push", AppError::Unauthorized));
        }
        if outer_app_id.is_some_and(|id| id != c.app_id) {
            return Err(malformed("AppId", "与 open_platform.app_id 不符"));
        }
        let plain = c.crypt.decrypt(&encrypt).map_err(|e| match e {
            CryptError::AppIdMismatch => malformed("AppId", "与 open_platform.app_id 不符"),
            _ => malformed("Encrypt", "无法解密"),
        })?;
        let (app_id, event) = parse_event(&plain)?;
        if app_id != c.app_id {
            return Err(malformed("AppId", "与 open_platform.app_id 不符"));
        }
        self.act(event).await
    }

    async fn act(&self, event: Event) -> AppResult<()> {
        let c = self.configured()?;
        let db = &self.deps.db;
        match event {
            Event::Ticket {
                ticket,
                create_time,
            } => {
                store::save_ticket(db, &c.app_id, &ticket, create_time, now_unix()).await?;
                tracing::info!("component_verify_ticket stored");
            }
            Event::Authorized {
                authorizer,
                auth_code,
            } => {
                let stored = self.exchange_auth_code(&auth_code).await?;
                if stored.app_id != authorizer {
                    tracing::warn!(push = %authorizer, query_auth = %stored.app_id,
                        "authorization push and api_query_auth disagree on the appid");
                }
            }
            Event::Unauthorized { authorizer } => self.revoke(&authorizer).await?,
            Event::Other(info_type) => {
                tracing::info!(%info_type, "open platform push ignored");
            }
        }
        Ok(())
    }
}

/// `<xml><AppId>..</AppId><Encrypt>..</Encrypt></xml>`: the AppId (optional: other push
/// kinds carry ToUserName instead) and the Encrypt value.
fn parse_outer(body: &str) -> AppResult<(Option<String>, String)> {
    let doc = roxmltree::Document::parse(body).map_err(|_| malformed("body", "不是合法的 XML"))?;
    let encrypt = child_text(&doc, "Encrypt")
        .filter(|e| !e.is_empty())
        .ok_or_else(|| malformed("Encrypt", "缺少 Encrypt"))?;
    Ok((child_text(&doc, "AppId"), encrypt))
}

/// The decrypted push: its AppId and what it asks for.
fn parse_event(plain: &str) -> AppResult<(String, Event)> {
    let doc =
        roxmltree::Document::parse(plain).map_err(|_| malformed("Encrypt", "解密后不是 XML"))?;
    let field = |name: &'static str| {
        child_text(&doc, name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| malformed(name, "推送缺少该字段"))
    };
    let app_id = field("AppId")?;
    let event = match field("InfoType")?.as_str() {
        "component_verify_ticket" => Event::Ticket {
            ticket: field("ComponentVerifyTicket")?,
            create_time: field("CreateTime")?
                .parse()
                .map_err(|_| malformed("CreateTime", "必须是整数"))?,
        },
        "authorized" | "updateauthorized" => Event::Authorized {
            authorizer: field("AuthorizerAppid")?,
            auth_code: field("AuthorizationCode")?,
        },
        "unauthorized" => Event::Unauthorized {
            authorizer: field("AuthorizerAppid")?,
        },
        other => Event::Other(other.to_owned()),
    };
    Ok((app_id, event))
}

/// The text of a direct child of the root element (CDATA or plain, trimmed).
fn child_text(doc: &roxmltree::Document<'_>, name: &str) -> Option<String> {
    let root = doc.root_element();
    let node = root.children().find(|n| n.has_tag_name(name))?;
    let text: String = node
        .descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect();
    Some(text.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_ticket_push_with_cdata() {
        let xml = "<xml><AppId><![CDATA[wx134c8103faa5a59e]]></AppId><CreateTime>1715943329</CreateTime>\
                   <InfoType><![CDATA[component_verify_ticket]]></InfoType>\
                   <ComponentVerifyTicket><![CDATA[ticket@@@T]]></ComponentVerifyTicket></xml>";
        let (app_id, event) = parse_event(xml).unwrap();
        assert_eq!(app_id, "wx134c8103faa5a59e");
        assert_eq!(
            event,
            Event::Ticket {
                ticket: "ticket@@@T".into(),
                create_time: 1715943329
            }
        );
    }

    #[test]
    fn refuses_an_authorized_push_without_its_code() {
        let xml = "<xml><AppId>wx1</AppId><InfoType>authorized</InfoType>\
                   <AuthorizerAppid>wx2</AuthorizerAppid></xml>";
        assert!(parse_event(xml).is_err());
    }

    #[test]
    fn refuses_unclosed_xml() {
        assert!(parse_outer("<xml><Encrypt>abc</Encrypt><xml>").is_err());
    }
}
