//! Login and phone values: codes, phone numbers and their masking.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Deserializer, Serialize};

use crate::error::AppError;

/// Our own cap on a one-time code: WeChat documents no length (wx.login codes are 32
/// characters, phone-button codes 64); anything far longer is not a code.
pub const MAX_CODE_CHARS: usize = 128;
/// Our own cap on `encrypted_data` (base64): a phone payload is about 350 characters.
pub const MAX_ENCRYPTED_CHARS: usize = 4096;

/// A single-use code from the mini program: `wx.login`'s, or the phone button's.
/// Its Debug form hides the value (a code is a credential for five minutes).
#[derive(Clone, PartialEq, Eq)]
pub struct OneTimeCode(String);

impl OneTimeCode {
    pub fn parse(field: &'static str, raw: String) -> Result<Self, AppError> {
        if raw.chars().count() > MAX_CODE_CHARS {
            return Err(AppError::invalid(field, "长度不能超过 128 个字符"));
        }
        if !raw.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(AppError::invalid(field, "只能包含可见 ASCII 字符"));
        }
        Ok(OneTimeCode(raw))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for OneTimeCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OneTimeCode(..)")
    }
}

/// The older phone flow: `encrypted_data` and `iv` from `getPhoneNumber`, decrypted with
/// the session_key (AES-128-CBC).
#[derive(Clone)]
pub struct EncryptedPhone {
    pub data: Vec<u8>,
    pub iv: [u8; 16],
}

impl EncryptedPhone {
    pub fn parse(data: &str, iv: &str) -> Result<Self, AppError> {
        if data.len() > MAX_ENCRYPTED_CHARS {
            return Err(AppError::invalid(
                "encrypted_data",
                "长度不能超过 4096 个字符",
            ));
        }
        let data = decode_base64(data)
            .filter(|d| !d.is_empty() && d.len() % 16 == 0)
            .ok_or_else(|| {
                AppError::invalid("encrypted_data", "必须是 base64(AES 密文,16 字节的整数倍)")
            })?;
        let iv = decode_base64(iv)
            .and_then(|v| <[u8; 16]>::try_from(v).ok())
            .ok_or_else(|| AppError::invalid("iv", "必须是 16 字节的 base64"))?;
        Ok(EncryptedPhone { data, iv })
    }
}

/// Standard base64; a form body that was not URL-encoded turns `+` into a space, so spaces
/// are read back as `+`.
fn decode_base64(s: &str) -> Option<Vec<u8>> {
    if s.contains(' ') {
        STANDARD.decode(s.replace(' ', "+").trim()).ok()
    } else {
        STANDARD.decode(s.trim()).ok()
    }
}

/// How the caller proves the phone number.
pub enum PhoneProof {
    Code(OneTimeCode),
    Encrypted(EncryptedPhone),
}

impl PhoneProof {
    /// How the phone is proven, for logs and spans (never the proof itself).
    pub fn kind(&self) -> &'static str {
        match self {
            PhoneProof::Code(_) => "code",
            PhoneProof::Encrypted(_) => "encrypted",
        }
    }
}

/// A phone as WeChat describes it: `getuserphonenumber`'s `phone_info`, or the decrypted
/// `encryptedData`.
#[derive(Deserialize)]
pub struct PhoneInfo {
    #[serde(rename = "phoneNumber")]
    pub phone_number: String,
    #[serde(rename = "purePhoneNumber")]
    pub pure_phone_number: String,
    /// The docs' table says string, their example (and the simulator) a number.
    #[serde(rename = "countryCode", deserialize_with = "number_or_string")]
    pub country_code: String,
    #[serde(default)]
    pub watermark: Option<Watermark>,
}

#[derive(Deserialize)]
pub struct Watermark {
    #[serde(default)]
    pub appid: String,
}

fn number_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Number(u64),
        Text(String),
    }
    Ok(match Either::deserialize(d)? {
        Either::Number(n) => n.to_string(),
        Either::Text(s) => s,
    })
}

/// The phone stored on a user and returned by `/api/bind_phone`. Debug prints it masked.
#[derive(Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Phone {
    /// As WeChat gives it: the pure number for 86, else with `+<country code>`.
    #[schema(example = "13812345678")]
    pub phone_number: String,
    #[schema(example = "13812345678")]
    pub pure_phone_number: String,
    /// Digits, without `+`.
    #[schema(example = "86")]
    pub country_code: String,
}

impl Phone {
    /// Checks WeChat's values: digits where digits belong, sane lengths.
    pub fn from_info(info: PhoneInfo) -> Result<Phone, &'static str> {
        let country_code = info.country_code.trim().trim_start_matches('+').to_owned();
        let digits = |s: &str, max: usize| {
            !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit())
        };
        if !digits(&country_code, 4) {
            return Err("countryCode is not 1 to 4 digits");
        }
        if !digits(&info.pure_phone_number, 20) {
            return Err("purePhoneNumber is not 1 to 20 digits");
        }
        let full = info.phone_number.trim();
        if full.is_empty() || full.len() > 32 {
            return Err("phoneNumber is empty or too long");
        }
        Ok(Phone {
            phone_number: full.to_owned(),
            pure_phone_number: info.pure_phone_number,
            country_code,
        })
    }

    pub fn masked(&self) -> String {
        mask_phone(&self.phone_number)
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone({})", self.masked())
    }
}

/// `13812345678` -> `138****5678`: the first 3 and last 4 characters around `****`, for
/// logs and admin lists. Numbers too short to keep 7 characters are masked whole.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() < 8 {
        return "****".to_owned();
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}****{tail}")
}

/// An openid shortened for logs: enough to tell users apart, not enough to act as one.
pub fn mask_openid(openid: &str) -> String {
    let chars: Vec<char> = openid.chars().collect();
    if chars.len() < 12 {
        return "****".to_owned();
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}****{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(json: &str) -> PhoneInfo {
        serde_json::from_str(json).expect("phone info")
    }

    #[test]
    fn phones_are_masked_to_the_first_three_and_last_four() {
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("+12025550123"), "+12****0123");
        assert_eq!(mask_phone("1234567"), "****");
        assert_eq!(mask_phone(""), "****");
        assert_eq!(mask_openid("o6_bmjrPTlm6_2sgVt7hMZOPfL2M"), "o6_b****fL2M");
    }

    #[test]
    fn country_code_is_read_from_a_number_or_a_string() {
        let number = info(
            r#"{"phoneNumber":"13812345678","purePhoneNumber":"13812345678","countryCode":86}"#,
        );
        let text = info(
            r#"{"phoneNumber":"13812345678","purePhoneNumber":"13812345678","countryCode":"86"}"#,
        );
        let plus = info(
            r#"{"phoneNumber":"+12025550123","purePhoneNumber":"2025550123","countryCode":"+1"}"#,
        );
        assert_eq!(Phone::from_info(number).unwrap().country_code, "86");
        assert_eq!(Phone::from_info(text).unwrap().country_code, "86");
        assert_eq!(Phone::from_info(plus).unwrap().country_code, "1");
    }

    #[test]
    fn malformed_phone_values_are_refused() {
        let letters = info(r#"{"phoneNumber":"x","purePhoneNumber":"138abc","countryCode":86}"#);
        let no_code = info(r#"{"phoneNumber":"1","purePhoneNumber":"1","countryCode":""}"#);
        assert!(Phone::from_info(letters).is_err());
        assert!(Phone::from_info(no_code).is_err());
        assert!(
            serde_json::from_str::<PhoneInfo>(
                r#"{"phoneNumber":"1","purePhoneNumber":"1","countryCode":[86]}"#
            )
            .is_err()
        );
    }

    #[test]
    fn debug_forms_hide_phones_and_codes() {
        let phone = Phone {
            phone_number: "13812345678".into(),
            pure_phone_number: "13812345678".into(),
            country_code: "86".into(),
        };
        assert_eq!(format!("{phone:?}"), "Phone(138****5678)");
        let code = OneTimeCode::parse("code", "0a1b2c".into()).unwrap();
        assert!(!format!("{code:?}").contains("0a1b2c"));
    }

    #[test]
    fn codes_are_visible_ascii_of_at_most_128_characters() {
        assert!(OneTimeCode::parse("code", "a".repeat(128)).is_ok());
        assert!(OneTimeCode::parse("code", "a".repeat(129)).is_err());
        assert!(OneTimeCode::parse("code", "a b".into()).is_err());
        assert!(OneTimeCode::parse("code", "码".into()).is_err());
    }

    #[test]
    fn encrypted_data_and_iv_must_be_base64_blocks() {
        let block = STANDARD.encode([7u8; 32]);
        let iv = STANDARD.encode([1u8; 16]);
        assert!(EncryptedPhone::parse(&block, &iv).is_ok());
        // A form body that was not URL-encoded: `+` arrived as a space.
        let plus = STANDARD.encode([0xfbu8; 16]);
        assert!(plus.contains('+'));
        assert!(EncryptedPhone::parse(&plus.replace('+', " "), &iv).is_ok());
        let field = |r: Result<EncryptedPhone, AppError>| match r {
            Err(AppError::Invalid { field, .. }) => field.into_owned(),
            _ => "accepted".into(),
        };
        assert_eq!(
            field(EncryptedPhone::parse(&STANDARD.encode([7u8; 20]), &iv)),
            "encrypted_data"
        );
        assert_eq!(
            field(EncryptedPhone::parse("not base64!", &iv)),
            "encrypted_data"
        );
        assert_eq!(
            field(EncryptedPhone::parse(&block, &STANDARD.encode([1u8; 12]))),
            "iv"
        );
        assert_eq!(field(EncryptedPhone::parse(&block, "%%%")), "iv");
    }
}
