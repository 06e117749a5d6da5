//! The older phone flow: `encryptedData` from `getPhoneNumber`, AES-128-CBC with PKCS#7
//! padding, key = base64-decoded session_key, iv = base64-decoded iv. The plaintext is the
//! same JSON as `phone_info`, with `watermark.appid` naming the mini program.

use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockDecryptMut, KeyIvInit};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::domain::users::{EncryptedPhone, PhoneInfo};

type Aes128CbcDec = cbc::Decryptor<aes::Aes128>;

/// Why the data could not be read: for the log only. The caller gets one answer for all
/// (`phone_guard::undecryptable`), or the difference is a padding oracle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecryptError {
    /// Wrong key (the session_key changed since: log in again), wrong iv, or corrupt data.
    Undecryptable,
    /// Decrypted, but not the phone JSON.
    NotPhoneData,
    /// Made for another mini program.
    WrongApp,
}

/// The plaintext bytes.
pub fn decrypt(session_key: &str, data: &[u8], iv: &[u8; 16]) -> Result<Vec<u8>, DecryptError> {
    let key: [u8; 16] = STANDARD
        .decode(session_key)
        .ok()
        .and_then(|k| k.try_into().ok())
        .ok_or(DecryptError::Undecryptable)?;
    Aes128CbcDec::new(&key.into(), iv.into())
        .decrypt_padded_vec_mut::<Pkcs7>(data)
        .map_err(|_| DecryptError::Undecryptable)
}

/// Decrypts and reads the phone, checking that it was issued to `app_id`.
pub fn phone(
    session_key: &str,
    encrypted: &EncryptedPhone,
    app_id: &str,
) -> Result<PhoneInfo, DecryptError> {
    let plain = decrypt(session_key, &encrypted.data, &encrypted.iv)?;
    let info: PhoneInfo = serde_json::from_slice(&plain).map_err(|_| DecryptError::NotPhoneData)?;
    match &info.watermark {
        Some(w) if w.appid == app_id => Ok(info),
        _ => Err(DecryptError::WrongApp),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// WeChat's published example for `encryptedData` (the open-data decryption sample:
    /// appid wx4f4bc4dec97d474b, a user-info payload); the algorithm is the phone's.
    const SAMPLE_KEY: &str = "tiihtNczf5v6AKRyjwEUhQ==";
    const SAMPLE_IV: &str = "r7BXXKkLb8qrSNn05n0qiA==";
    const SAMPLE_DATA: &str = "CiyLU1Aw2KjvrjMdj8YKliAjtP4gsMZMQmRzooG2xrDcvSnxIMXFufNstNGTyaGS9uT5geRa0W4oTOb1WT7fJlAC+oNPdbB+3hVbJSRgv+4lGOETKUQz6OYStslQ142dNCuabNPGBzlooOmB231qMM85d2/fV6ChevvXvQP8Hkue1poOFtnEtpyxVLW1zAo6/1Xx1COxFvrc2d7UL/lmHInNlxuacJXwu0fjpXfz/YqYzBIBzD6WUfTIF9GRHpOn/Hz7saL8xz+W//FRAUid1OksQaQx4CMs8LOddcQhULW4ucetDf96JcR3g0gfRK4PC7E/r7Z6xNrXd2UIeorGj5Ef7b1pJAYB6Y5anaHqZ9J6nKEBvB4DnNLIVWSgARns/8wR2SiRS7MNACwTyrGvt9ts8p12PKFdlqYTopNHR1Vf7XjfhQlVsAJdNiKdYmYVoKlaRv85IfVunYzO0IKXsyl7JCUjCpoG20f0a04COwfneQAGGwd5oa+T8yO5hzuyDb/XcxxmK01EpqOyuxINew==";

    fn sample() -> EncryptedPhone {
        EncryptedPhone::parse(SAMPLE_DATA, SAMPLE_IV).expect("sample parses")
    }

    #[test]
    fn wechats_published_sample_decrypts() {
        let s = sample();
        let plain = decrypt(SAMPLE_KEY, &s.data, &s.iv).expect("decrypts");
        let json: serde_json::Value = serde_json::from_slice(&plain).expect("JSON");
        assert_eq!(json["openId"], "oGZUI0egBJY1zhBYw2KhdUfwVJJE");
        assert_eq!(json["watermark"]["appid"], "wx4f4bc4dec97d474b");
    }

    #[test]
    fn a_wrong_key_or_iv_does_not_decrypt_to_a_phone() {
        let s = sample();
        let other_key = STANDARD.encode([9u8; 16]);
        assert!(phone(&other_key, &s, "wx4f4bc4dec97d474b").is_err());
        assert_eq!(
            decrypt("not a key", &s.data, &s.iv),
            Err(DecryptError::Undecryptable)
        );
        // The sample decrypts, but it is user info, not a phone.
        assert_eq!(
            phone(SAMPLE_KEY, &s, "wx4f4bc4dec97d474b").err(),
            Some(DecryptError::NotPhoneData)
        );
    }
}
