//! WXBizMsgCrypt: message signature and AES-256-CBC encryption (docs/wechat.md#crypto).
//!
//! Wire format (section 9): `Encrypt = Base64(AES-256-CBC(key, iv = key[..16],
//! pkcs7_32(random16 ‖ u32_be(len) ‖ msg ‖ appid)))`, and
//! `msg_signature = sha1_hex(concat(sort([token, timestamp, nonce, Encrypt])))`.

use std::fmt;

use aes::Aes256;
use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use sha1::{Digest, Sha1};

type Aes256CbcEnc = cbc::Encryptor<Aes256>;
type Aes256CbcDec = cbc::Decryptor<Aes256>;

/// WeChat pads to 32 bytes (the AES key size), not to the AES block size.
const PAD_BLOCK: usize = 32;
const AES_BLOCK: usize = 16;
const RANDOM_LEN: usize = 16;
const HEADER_LEN: usize = RANDOM_LEN + 4;
const ENCODING_AES_KEY_LEN: usize = 43;

/// Lenient base64, like the decoders of the official samples: an
/// EncodingAESKey is 43 chars whose last char usually carries non-zero
/// trailing bits (e.g. `...ABCDEFG`), which a strict decoder rejects.
const LENIENT_B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
/// Output must be the canonical padded form: it is signed as a string.
const STRICT_B64: GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Errors, mapped to the official sample codes by [`CryptError::code`].
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone, Copy)]
pub enum CryptError {
    /// EncodingAESKey is not 43 chars of `[a-zA-Z0-9]`.
    #[error("illegal EncodingAESKey")]
    BadAesKey,
    /// msg_signature does not match.
    #[error("signature validation failed")]
    BadSignature,
    /// `Encrypt` is not valid base64.
    #[error("Encrypt is not valid base64")]
    BadBase64,
    /// Ciphertext is empty or not a whole number of AES blocks.
    #[error("ciphertext length is not a multiple of the AES block size")]
    BadCiphertext,
    /// The padding byte claims more bytes than the plaintext holds.
    #[error("bad PKCS#7 padding")]
    BadPadding,
    /// The plaintext is shorter than its header or its length field says.
    #[error("plaintext length field is inconsistent")]
    BadLength,
    /// The message is not UTF-8.
    #[error("decrypted message is not UTF-8")]
    BadUtf8,
    /// The trailing receiver id is not ours.
    #[error("appid mismatch")]
    AppIdMismatch,
}

impl CryptError {
    /// The official sample's error code (`-40001`..`-40011`).
    pub fn code(&self) -> i32 {
        match self {
            CryptError::BadSignature => -40001,
            CryptError::BadAesKey => -40004,
            CryptError::AppIdMismatch => -40005,
            CryptError::BadCiphertext | CryptError::BadPadding => -40007,
            CryptError::BadLength | CryptError::BadUtf8 => -40008,
            CryptError::BadBase64 => -40010,
        }
    }
}

/// Which key decrypted a message; a reply should use the same one (section 9, step 10).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeySlot {
    Current,
    Previous,
}

#[derive(Clone)]
struct AesKey {
    key: [u8; 32],
    iv: [u8; 16],
}

impl AesKey {
    fn from_encoding(encoding_aes_key: &str) -> Result<Self, CryptError> {
        if encoding_aes_key.len() != ENCODING_AES_KEY_LEN
            || !encoding_aes_key.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(CryptError::BadAesKey);
        }
        let raw = LENIENT_B64
            .decode(encoding_aes_key)
            .map_err(|_| CryptError::BadAesKey)?;
        let key: [u8; 32] = raw.try_into().map_err(|_| CryptError::BadAesKey)?;
        let mut iv = [0u8; 16];
        iv.copy_from_slice(&key[..16]);
        Ok(Self { key, iv })
    }

    fn encrypt(&self, plain: &[u8]) -> Vec<u8> {
        // `plain` is already padded to 32, so NoPadding never has to pad.
        debug_assert_eq!(plain.len() % PAD_BLOCK, 0);
        Aes256CbcEnc::new(&self.key.into(), &self.iv.into())
            .encrypt_padded_vec_mut::<NoPadding>(plain)
    }

    fn decrypt(&self, cipher: &[u8]) -> Result<Vec<u8>, CryptError> {
        if cipher.is_empty() || cipher.len() % AES_BLOCK != 0 {
            return Err(CryptError::BadCiphertext);
        }
        Aes256CbcDec::new(&self.key.into(), &self.iv.into())
            .decrypt_padded_vec_mut::<NoPadding>(cipher)
            .map_err(|_| CryptError::BadCiphertext)
    }
}

/// WXBizMsgCrypt for one receiver (component appid, account appid or CorpID).
#[derive(Clone)]
pub struct MsgCrypt {
    token: String,
    appid: String,
    current: AesKey,
    previous: Option<AesKey>,
}

impl fmt::Debug for MsgCrypt {
    // Keys and token are secrets: keep them out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MsgCrypt")
            .field("appid", &self.appid)
            .field("token", &"<redacted>")
            .field("has_previous_key", &self.previous.is_some())
            .finish()
    }
}

impl MsgCrypt {
    /// `encoding_aes_key` must be the 43-char EncodingAESKey from the console.
    pub fn new(token: &str, encoding_aes_key: &str, appid: &str) -> Result<Self, CryptError> {
        Ok(Self {
            token: token.to_owned(),
            appid: appid.to_owned(),
            current: AesKey::from_encoding(encoding_aes_key)?,
            previous: None,
        })
    }

    /// Keeps accepting messages under the key that was replaced in the console,
    /// since pushes already in flight still use it.
    pub fn with_previous_key(mut self, encoding_aes_key: &str) -> Result<Self, CryptError> {
        self.previous = Some(AesKey::from_encoding(encoding_aes_key)?);
        Ok(self)
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    pub fn appid(&self) -> &str {
        &self.appid
    }

    /// `msg_signature`: sha1 hex (lowercase) of the byte-wise sorted concatenation.
    pub fn signature(token: &str, timestamp: &str, nonce: &str, encrypt: &str) -> String {
        sorted_sha1_hex(&mut [token, timestamp, nonce, encrypt])
    }

    /// `signature` of plain mode and of URL verification (no Encrypt part).
    pub fn plain_signature(token: &str, timestamp: &str, nonce: &str) -> String {
        sorted_sha1_hex(&mut [token, timestamp, nonce])
    }

    /// Checks `msg_signature` in constant time.
    pub fn verify(&self, msg_signature: &str, timestamp: &str, nonce: &str, encrypt: &str) -> bool {
        let expected = Self::signature(&self.token, timestamp, nonce, encrypt);
        ct_eq_hex(&expected, msg_signature)
    }

    /// Checks the plain-mode `signature` in constant time.
    pub fn verify_plain(&self, signature: &str, timestamp: &str, nonce: &str) -> bool {
        let expected = Self::plain_signature(&self.token, timestamp, nonce);
        ct_eq_hex(&expected, signature)
    }

    /// Decrypts with the current key, then the previous one.
    pub fn decrypt(&self, encrypt_b64: &str) -> Result<String, CryptError> {
        self.decrypt_with_slot(encrypt_b64).map(|(msg, _)| msg)
    }

    /// Like [`decrypt`](Self::decrypt), also telling which key worked.
    pub fn decrypt_with_slot(&self, encrypt_b64: &str) -> Result<(String, KeySlot), CryptError> {
        let cipher = decode_b64(encrypt_b64)?;
        match self.open(&self.current, &cipher) {
            Ok(msg) => Ok((msg, KeySlot::Current)),
            Err(first) => match &self.previous {
                Some(prev) => self
                    .open(prev, &cipher)
                    .map(|msg| (msg, KeySlot::Previous))
                    // The current key's error is the meaningful one.
                    .map_err(|_| first),
                None => Err(first),
            },
        }
    }

    /// Checks `msg_signature` first, then decrypts.
    pub fn decrypt_verified(
        &self,
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
        encrypt: &str,
    ) -> Result<String, CryptError> {
        if !self.verify(msg_signature, timestamp, nonce, encrypt) {
            return Err(CryptError::BadSignature);
        }
        self.decrypt(encrypt)
    }

    /// Encrypts with the current key and a fresh random prefix.
    pub fn encrypt(&self, msg: &str) -> String {
        self.encrypt_in(KeySlot::Current, msg)
    }

    /// Encrypts with the key that decrypted the request (current if there is no previous key).
    pub fn encrypt_in(&self, slot: KeySlot, msg: &str) -> String {
        let random: [u8; RANDOM_LEN] = rand::random();
        self.seal(self.key(slot), msg, &random)
    }

    /// Deterministic form of [`encrypt`](Self::encrypt), for test vectors.
    pub fn encrypt_with_random(&self, msg: &str, random16: &[u8; 16]) -> String {
        self.seal(&self.current, msg, random16)
    }

    /// The encrypted passive reply XML. `nonce` should echo the request's nonce.
    pub fn encrypted_reply(&self, msg: &str, timestamp: &str, nonce: &str) -> String {
        self.encrypted_reply_in(KeySlot::Current, msg, timestamp, nonce)
    }

    /// [`encrypted_reply`](Self::encrypted_reply) under the given key.
    pub fn encrypted_reply_in(
        &self,
        slot: KeySlot,
        msg: &str,
        timestamp: &str,
        nonce: &str,
    ) -> String {
        let encrypt = self.encrypt_in(slot, msg);
        self.reply_xml(&encrypt, timestamp, nonce)
    }

    /// Builds the reply XML around an already computed `Encrypt`.
    pub fn reply_xml(&self, encrypt: &str, timestamp: &str, nonce: &str) -> String {
        let signature = Self::signature(&self.token, timestamp, nonce, encrypt);
        // Base64 and hex cannot break CDATA, but the nonce comes from the
        // request URL and the timestamp from the caller.
        format!(
            "<xml><Encrypt><![CDATA[{}]]></Encrypt><MsgSignature><![CDATA[{}]]></MsgSignature>\
             <TimeStamp>{}</TimeStamp><Nonce><![CDATA[{}]]></Nonce></xml>",
            encrypt,
            signature,
            escape_text(timestamp),
            escape_cdata(nonce),
        )
    }

    fn key(&self, slot: KeySlot) -> &AesKey {
        match (slot, &self.previous) {
            (KeySlot::Previous, Some(prev)) => prev,
            _ => &self.current,
        }
    }

    fn seal(&self, key: &AesKey, msg: &str, random: &[u8; RANDOM_LEN]) -> String {
        let body_len = HEADER_LEN + msg.len() + self.appid.len();
        let pad = PAD_BLOCK - body_len % PAD_BLOCK;
        let mut plain = Vec::with_capacity(body_len + pad);
        plain.extend_from_slice(random);
        // A message over 4 GiB cannot be a WeChat message; saturating keeps
        // this infallible and the receiver rejects the length.
        let len = u32::try_from(msg.len()).unwrap_or(u32::MAX);
        plain.extend_from_slice(&len.to_be_bytes());
        plain.extend_from_slice(msg.as_bytes());
        plain.extend_from_slice(self.appid.as_bytes());
        // pad is 1..=32, so it fits in a byte.
        plain.resize(body_len + pad, pad as u8);
        STRICT_B64.encode(key.encrypt(&plain))
    }

    fn open(&self, key: &AesKey, cipher: &[u8]) -> Result<String, CryptError> {
        let plain = key.decrypt(cipher)?;
        // Official rule: strip `last byte` bytes only when it is 1..=32,
        // otherwise strip nothing.
        let pad = plain.last().map_or(0, |&b| usize::from(b));
        let body_len = if (1..=PAD_BLOCK).contains(&pad) {
            plain.len().checked_sub(pad).ok_or(CryptError::BadPadding)?
        } else {
            plain.len()
        };
        let body = plain.get(..body_len).ok_or(CryptError::BadPadding)?;
        let len_bytes: [u8; 4] = body
            .get(RANDOM_LEN..HEADER_LEN)
            .and_then(|s| s.try_into().ok())
            .ok_or(CryptError::BadLength)?;
        let msg_len =
            usize::try_from(u32::from_be_bytes(len_bytes)).map_err(|_| CryptError::BadLength)?;
        let msg_end = HEADER_LEN
            .checked_add(msg_len)
            .ok_or(CryptError::BadLength)?;
        let msg = body.get(HEADER_LEN..msg_end).ok_or(CryptError::BadLength)?;
        let appid = body.get(msg_end..).ok_or(CryptError::BadLength)?;
        if appid != self.appid.as_bytes() {
            return Err(CryptError::AppIdMismatch);
        }
        String::from_utf8(msg.to_vec()).map_err(|_| CryptError::BadUtf8)
    }
}

fn decode_b64(encrypt_b64: &str) -> Result<Vec<u8>, CryptError> {
    // Tolerate line breaks a relay may have inserted, as lenient decoders do.
    let input: std::borrow::Cow<'_, str> = if encrypt_b64.bytes().any(|b| b.is_ascii_whitespace()) {
        encrypt_b64
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect::<String>()
            .into()
    } else {
        encrypt_b64.into()
    };
    LENIENT_B64
        .decode(input.as_bytes())
        .map_err(|_| CryptError::BadBase64)
}

fn sorted_sha1_hex(parts: &mut [&str]) -> String {
    // Byte-wise order, like the sample's SORT_STRING; not numeric.
    parts.sort_unstable();
    let mut hasher = Sha1::new();
    for part in parts.iter() {
        hasher.update(part.as_bytes());
    }
    to_hex(&hasher.finalize())
}

fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// Constant-time over the content; the length of a sha1 hex is public anyway.
/// Case-insensitive, as hex is.
fn ct_eq_hex(expected: &str, given: &str) -> bool {
    if expected.len() != given.len() {
        return false;
    }
    let diff = expected
        .bytes()
        .zip(given.bytes())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b.to_ascii_lowercase()));
    diff == 0
}

fn escape_cdata(s: &str) -> String {
    // Split any `]]>` across two CDATA sections.
    s.replace("]]>", "]]]]><![CDATA[>")
}

fn escape_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests;
