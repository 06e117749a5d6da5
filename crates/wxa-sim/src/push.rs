//! Encrypted Open Platform pushes to an authorization event URL
//! (docs/wechat.md#open-platform, #crypto).

use rand::Rng;
use serde::Deserialize;
use wxa_msgcrypt::MsgCrypt;

use super::authorizers::{self, AuthCode, Authorize};
use super::onetime::random_alnum;
use super::state::{SimState, lock};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InfoType {
    ComponentVerifyTicket,
    Authorized,
    #[serde(rename = "updateauthorized")]
    UpdateAuthorized,
    Unauthorized,
}

impl InfoType {
    fn as_str(self) -> &'static str {
        match self {
            InfoType::ComponentVerifyTicket => "component_verify_ticket",
            InfoType::Authorized => "authorized",
            InfoType::UpdateAuthorized => "updateauthorized",
            InfoType::Unauthorized => "unauthorized",
        }
    }
}

/// A push to send.
#[derive(Clone, Debug)]
pub struct Push {
    pub url: String,
    pub info_type: InfoType,
    /// Required for the authorization events.
    pub authorizer: Option<Authorize>,
    /// The auth code to announce (authorization events); absent: a new one is minted.
    pub auth_code: Option<AuthCode>,
    /// The `timestamp` (and CreateTime) to send; default the simulator's now.
    pub timestamp: Option<i64>,
    /// Send a wrong `msg_signature` (to test that the receiver refuses it).
    pub bad_signature: bool,
}

/// Why a push was not delivered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PushError {
    /// The request cannot be made (no component, missing authorizer, ...).
    Invalid(String),
    /// The receiver could not be reached.
    Delivery(String),
}

impl std::fmt::Display for PushError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PushError::Invalid(msg) | PushError::Delivery(msg) => f.write_str(msg),
        }
    }
}

fn invalid(msg: impl Into<String>) -> PushError {
    PushError::Invalid(msg.into())
}

/// What was sent and what the receiver answered.
#[derive(Clone, Debug, Default)]
pub struct Delivered {
    pub status: u16,
    pub body: String,
    pub ticket: Option<String>,
    pub auth_code: Option<String>,
    pub plaintext: String,
}

/// Changes the state the event stands for (new ticket, authorization, cancellation), then
/// delivers the encrypted push. The state change stands even if delivery fails.
pub async fn send(state: &SimState, push: Push) -> Result<Delivered, PushError> {
    let component = lock(&state.component)
        .config
        .clone()
        .ok_or_else(|| invalid("no Open Platform component is configured"))?;
    let crypt = MsgCrypt::new(&component.token, &component.aes_key, &component.app_id)
        .map_err(|_| invalid("the component's aes_key is not a valid EncodingAESKey"))?;
    let now = push.timestamp.unwrap_or_else(|| state.now());
    let mut delivered = Delivered::default();
    let mut fields = format!(
        "<AppId><![CDATA[{}]]></AppId><CreateTime>{now}</CreateTime><InfoType><![CDATA[{}]]></InfoType>",
        component.app_id,
        push.info_type.as_str()
    );
    match push.info_type {
        InfoType::ComponentVerifyTicket => {
            let ticket = authorizers::mint_ticket(state).ok_or_else(|| invalid("no component"))?;
            fields.push_str(&format!(
                "<ComponentVerifyTicket><![CDATA[{ticket}]]></ComponentVerifyTicket>"
            ));
            delivered.ticket = Some(ticket);
        }
        InfoType::Authorized | InfoType::UpdateAuthorized => {
            let req = push
                .authorizer
                .as_ref()
                .ok_or_else(|| invalid("authorizer_appid is required for this info_type"))?;
            let code = match &push.auth_code {
                Some(code) => code.clone(),
                None => authorizers::authorize(state, req),
            };
            fields.push_str(&format!(
                "<AuthorizerAppid><![CDATA[{}]]></AuthorizerAppid><AuthorizationCode><![CDATA[{}]]></AuthorizationCode><AuthorizationCodeExpiredTime>{}</AuthorizationCodeExpiredTime><PreAuthCode><![CDATA[preauthcode@@@{}]]></PreAuthCode>",
                req.app_id,
                code.auth_code,
                now + code.expires_in,
                random_alnum(40)
            ));
            delivered.auth_code = Some(code.auth_code);
        }
        InfoType::Unauthorized => {
            let app_id = push
                .authorizer
                .as_ref()
                .map(|a| a.app_id.clone())
                .ok_or_else(|| invalid("authorizer_appid is required for this info_type"))?;
            if !authorizers::unauthorize(state, &app_id) {
                return Err(invalid(format!("authorizer {app_id} is not known")));
            }
            fields.push_str(&format!(
                "<AuthorizerAppid><![CDATA[{app_id}]]></AuthorizerAppid>"
            ));
        }
    }
    let plaintext = format!("<xml>{fields}</xml>");
    let encrypt = crypt.encrypt(&plaintext);
    let timestamp = now.to_string();
    let nonce = rand::thread_rng()
        .gen_range(1_000_000_000u64..10_000_000_000)
        .to_string();
    let mut msg_signature = MsgCrypt::signature(&component.token, &timestamp, &nonce, &encrypt);
    if push.bad_signature {
        msg_signature = "0".repeat(40);
    }
    let signature = MsgCrypt::plain_signature(&component.token, &timestamp, &nonce);
    let body = format!(
        "<xml><AppId><![CDATA[{}]]></AppId><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>",
        component.app_id
    );
    let response = state
        .http
        .post(&push.url)
        .query(&[
            ("signature", signature.as_str()),
            ("timestamp", timestamp.as_str()),
            ("nonce", nonce.as_str()),
            ("encrypt_type", "aes"),
            ("msg_signature", msg_signature.as_str()),
        ])
        .header("content-type", "text/xml")
        .body(body)
        .send()
        .await
        .map_err(|e| PushError::Delivery(format!("push to {} failed: {e}", push.url)))?;
    state.counters.pushed();
    delivered.status = response.status().as_u16();
    delivered.body = response.text().await.unwrap_or_default();
    delivered.plaintext = plaintext;
    Ok(delivered)
}

/// A ticket push to the configured push URL, if there is one (api_start_push_ticket, the
/// ten-minute timer). Failures are only logged.
pub async fn push_ticket_if_configured(state: &SimState) {
    let url = lock(&state.component).push_url.clone();
    let Some(url) = url else { return };
    let push = Push {
        url,
        info_type: InfoType::ComponentVerifyTicket,
        authorizer: None,
        auth_code: None,
        timestamp: None,
        bad_signature: false,
    };
    if let Err(e) = send(state, push).await {
        tracing::warn!(error = %e, "simulator ticket push failed");
    }
}
