//! An NFC scheme request (`wxa/generatenfcscheme`): the jump of a scheme, plus the device
//! model registered for the app and the device's serial number. It never expires.

use super::{EnvVersion, LinkQuery, PagePath};
use crate::error::{AppError, AppResult};

/// WeChat states no figure; ours bounds the record.
pub const MAX_DEVICE_ID_CHARS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NfcScheme {
    pub path: PagePath,
    pub query: LinkQuery,
    pub env_version: EnvVersion,
    pub model_id: String,
    /// `""`: none.
    pub sn: String,
    /// `model_id/sn`: how the record tells devices apart (`/` occurs in neither).
    pub device: String,
}

impl NfcScheme {
    pub fn parse(
        path: PagePath,
        query: LinkQuery,
        env_version: EnvVersion,
        model_id: String,
        sn: Option<String>,
    ) -> AppResult<Self> {
        device_id("model_id", &model_id)?;
        if model_id.is_empty() {
            return Err(AppError::invalid(
                "model_id",
                "必填(在小程序管理后台登记的设备型号 id)",
            ));
        }
        let sn = sn.unwrap_or_default();
        device_id("sn", &sn)?;
        Ok(NfcScheme {
            device: format!("{model_id}/{sn}"),
            path,
            query,
            env_version,
            model_id,
            sn,
        })
    }
}

fn device_id(field: &'static str, value: &str) -> AppResult<()> {
    let fits = value.len() <= MAX_DEVICE_ID_CHARS
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if fits {
        Ok(())
    } else {
        Err(AppError::invalid(
            field,
            format!("只能包含字母、数字和 -_.,最长 {MAX_DEVICE_ID_CHARS} 个字符"),
        ))
    }
}
