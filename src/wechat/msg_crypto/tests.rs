//! Published vectors (WECHAT_API.md section 9.1) and hostile inputs.

use super::*;

// Vector C: Open Platform "消息推送" worked example.
const C_TOKEN: &str = "AAAAA";
const C_KEY: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
const C_APPID: &str = "wx134c8103faa5a59e";
const C_TIMESTAMP: &str = "1715943329";
const C_NONCE: &str = "1590219412";
const C_SIGNATURE: &str = "cc0c594499c1634947d5b502f158ee518947db27";
const C_MSG_SIGNATURE: &str = "6c12a4205838198b8fa631b3220723bb07f1015c";
const C_ENCRYPT: &str = "D7yzvUNAL930rd28wf21s4hvXhz0L6Uit/p2Di6C5DHyYGpEgdBRnKjBec34JwoQXicwaZC7fOVihW80F4VtsdvE//1vr7oAbqjDv8KenVp+ajKYpJnyQ4zMRhIC+a31fCVOMC03FfzV/QuC94kBP55a+Za3sJgvAn+ZbsNqZI5DkyuzkhQN8OBqCzFhizGmy0xpM0MEA4agpvE+RuNO1rhHTtuJB5yltw1FiYzecSXJ+y/D2r81VkRn2eYjh2ltsoyfbDR7Is6ookXIFxTfyeNyeHxMeT4KN5WpCDmSbTcUYrbBUlkGLJ9n/rU8YOywma6G7aTb7KZKOqCxgfoUlYEZPk4FUL/TK7ShriFDMVCLyjQJ15Ob++agDWtcxhfUfe6HIoIpRW8mKNBQiY/Jd1svvuskA1wLef1RTtzKfMpagSCX/laZINmdnX4zrF6kIaR9P4xQrWXbsTFHTYe0Mg==";
const C_PLAIN: &str = "<xml><ToUserName><![CDATA[gh_97417a04a28d]]></ToUserName>\n\
<FromUserName><![CDATA[o9AgO5Kd5ggOC-bXrbNODIiE3bGY]]></FromUserName>\n\
<CreateTime>1715943329</CreateTime>\n\
<MsgType><![CDATA[event]]></MsgType>\n\
<Event><![CDATA[debug_demo]]></Event>\n\
<debug_str><![CDATA[hello world]]></debug_str>\n\
</xml>";
const C_REPLY_PLAIN: &str = "<xml><demo_resp>[CDATA[good luck]]</demo_resp></xml>";
const C_REPLY_ENCRYPT: &str = "hE8R6mGXHkJJjU72KxzKUd1GEkKJaEZq7vRL8XgK3o+00k8JGq6+pZJUIlTSyhsX+bxIBQ72g3GyvDdIZcr6+3HAZbSvPT9t/o11MI7d6WELwqrGd7jMnV0zv3Zc9Nq7";
const C_REPLY_TIMESTAMP: &str = "1713424427";
const C_REPLY_NONCE: &str = "415670741";
const C_REPLY_SIGNATURE: &str = "03e0812039325c2712ef5f0f980fd14c70d6e307";

// Vector A: official Java sample (official-account variant).
const A_TOKEN: &str = "pamtest";
const A_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const A_APPID: &str = "wxb11529c136998cb6";
const A_TIMESTAMP: &str = "1409304348";
const A_NONCE: &str = "xxxxxx";
const A_RANDOM: &[u8; 16] = b"aaaabbbbccccdddd";
const A1_MSG: &str = "我是中文abcd123";
const A1_ENCRYPT: &str =
    "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg==";
const A1_SIGNATURE: &str = "82c962d39941aa48552f90ef55aa323dc620cc10";

// Vector B: WeCom variant, wechatpy tests/test_crypto.py.
const B_TOKEN: &str = "123456";
const B_KEY: &str = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR";
const B_CORPID: &str = "wx49f0ab532d5d035a";
const B_TIMESTAMP: &str = "1411525903";
const B_NONCE: &str = "461056294";
const B_DECRYPT_SIGNATURE: &str = "74d92dfeb87ba7c714f89d98870ae5eb62dff26d";
const B_DECRYPT_ENCRYPT: &str = "RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTyeDXzF6Bv283dGymzxh6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYyolBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5t6NMxuGhcUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0=";
const B_REPLY_PLAIN: &str = "<xml>\n\
<MsgType><![CDATA[text]]></MsgType>\n\
<Content><![CDATA[test]]></Content>\n\
<FromUserName><![CDATA[wx49f0ab532d5d035a]]></FromUserName>\n\
<ToUserName><![CDATA[messense]]></ToUserName>\n\
<AgentID>1</AgentID>\n\
<CreateTime>1411525903</CreateTime>\n\
</xml>";
const B_REPLY_RANDOM: &[u8; 16] = b"1234567890123456";
const B_REPLY_ENCRYPT: &str = "9s4gMv99m88kKTh/H8IdkOiMg6bisoy3ypwy9H4hvSPe9nsGaqyw5hhSjdYbcrKk+j3nba4HMOTzHrluLBYqxgNcBqGsL8GqxlhZgURnAtObvesEl5nZ+uBE8bviY0LWke8Zy9V/QYKxNV2FqllNXcfmstttyIkMKCCmVbCFM2JTF5wY0nFhHZSjPUL2Q1qvSUCUld+/WIXrx0oyKQmpB6o8NRrrNrsDf03oxI1p9FxUgMnwKKZeOA/uu+2IEvEBtb7muXsVbwbgX05UPPJvFurDXafG0RQyPR+mf1nDnAtQmmNOuiR5MIkdQ39xn1vWwi1O5oazPoQJz0nTYjxxEE8kv3kFxtAGVRe3ypD3WeK2XeFYFMNMpatF9XiKzHo3";
const B_REPLY_SIGNATURE: &str = "407518b7649e86ef23978113f92d27afa9296533";

// Vector D: derived component_verify_ticket push.
const D_RANDOM: &[u8; 16] = b"0123456789abcdef";
const D_PLAIN: &str = "<xml><AppId><![CDATA[wx134c8103faa5a59e]]></AppId><CreateTime>1715943329</CreateTime><InfoType><![CDATA[component_verify_ticket]]></InfoType><ComponentVerifyTicket><![CDATA[ticket@@@TEST_TICKET_VALUE]]></ComponentVerifyTicket></xml>";
const D_ENCRYPT: &str = "uMMzGtqcnpOzXOYBwDQNrXvDiY/zDBsAE0y2vLgY6pubJj5w+DkE+Ri4kYsyr09eGAw4aZHEvs2hiT6Mi1ttnfNLqk6+QoONWUCDiE11oZyEsCrGIirXKJKEsuUpKngiCkypxvYQzbkGAfFcw2Ua85w9CJnwp2urYHDK9iD46LrNjan5a1DTtKqctvDbbNj+n6XE7QHEPwwKSJollfM7j0WT43lxsfVSvmVxCWBqmExTLqJgLjtNrVHVR1Mf1h10Utt13I7e6nVg7hfCaERXnNBduHBDHZ94Z+YGeBNHGD01U/FCIR1Ui8GiYNMxS4y1CUVjQr5iTHPlJcAL8WTv40IFnrPrA+ij65S2iu8oLegpxohSnKTA+E8AOczWypCz";
const D_SIGNATURE: &str = "f8a1d39f95c04c9915d63efc93e5181c9bd2248c";

const OTHER_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

fn c() -> MsgCrypt {
    MsgCrypt::new(C_TOKEN, C_KEY, C_APPID).unwrap()
}

/// Raw plaintext (after AES, before unpadding) for white-box checks.
fn raw_plain(crypt: &MsgCrypt, encrypt: &str) -> Vec<u8> {
    crypt
        .current
        .decrypt(&decode_b64(encrypt).unwrap())
        .unwrap()
}

/// Encrypts an arbitrary FullStr (already padded) under `crypt`'s current key.
fn seal_raw(crypt: &MsgCrypt, plain: &[u8]) -> String {
    STRICT_B64.encode(crypt.current.encrypt(plain))
}

#[test]
fn vector_c_signatures() {
    assert_eq!(
        MsgCrypt::signature(C_TOKEN, C_TIMESTAMP, C_NONCE, C_ENCRYPT),
        C_MSG_SIGNATURE
    );
    assert_eq!(
        MsgCrypt::plain_signature(C_TOKEN, C_TIMESTAMP, C_NONCE),
        C_SIGNATURE
    );
    let crypt = c();
    assert!(crypt.verify(C_MSG_SIGNATURE, C_TIMESTAMP, C_NONCE, C_ENCRYPT));
    assert!(crypt.verify_plain(C_SIGNATURE, C_TIMESTAMP, C_NONCE));
}

#[test]
fn vector_c_plain_mode_examples() {
    assert_eq!(
        MsgCrypt::plain_signature("AAAAA", "1714036504", "1514711492"),
        "f464b24fc39322e44b38aa78f5edd27bd1441696"
    );
    assert_eq!(
        MsgCrypt::plain_signature("AAAAA", "1714037059", "486452656"),
        "899cf89e464efb63f54ddac96b0a0a235f53aa78"
    );
}

#[test]
fn vector_c_decrypt() {
    let crypt = c();
    assert_eq!(crypt.decrypt(C_ENCRYPT).unwrap(), C_PLAIN);
    assert_eq!(
        crypt
            .decrypt_verified(C_MSG_SIGNATURE, C_TIMESTAMP, C_NONCE, C_ENCRYPT)
            .unwrap(),
        C_PLAIN
    );
    assert_eq!(C_PLAIN.len(), 292);
    let raw = raw_plain(&crypt, C_ENCRYPT);
    assert_eq!(raw.len(), 352);
    assert_eq!(&raw[..16], b"1205899eaf019bbd");
    assert_eq!(&raw[16..20], &292u32.to_be_bytes());
    assert_eq!(&raw[330..], &[22u8; 22][..]);
}

#[test]
fn vector_c_reply() {
    let crypt = c();
    let encrypt = crypt.encrypt_with_random(C_REPLY_PLAIN, b"999951349e8ee746");
    assert_eq!(encrypt, C_REPLY_ENCRYPT);
    assert_eq!(
        MsgCrypt::signature(C_TOKEN, C_REPLY_TIMESTAMP, C_REPLY_NONCE, &encrypt),
        C_REPLY_SIGNATURE
    );
    assert_eq!(
        crypt.reply_xml(&encrypt, C_REPLY_TIMESTAMP, C_REPLY_NONCE),
        format!(
            "<xml><Encrypt><![CDATA[{C_REPLY_ENCRYPT}]]></Encrypt>\
             <MsgSignature><![CDATA[{C_REPLY_SIGNATURE}]]></MsgSignature>\
             <TimeStamp>{C_REPLY_TIMESTAMP}</TimeStamp><Nonce><![CDATA[{C_REPLY_NONCE}]]></Nonce></xml>"
        )
    );
    assert_eq!(crypt.decrypt(C_REPLY_ENCRYPT).unwrap(), C_REPLY_PLAIN);
}

#[test]
fn encrypted_reply_is_signed_and_decryptable() {
    let crypt = c();
    let xml = crypt.encrypted_reply("success?", C_REPLY_TIMESTAMP, C_REPLY_NONCE);
    let encrypt = between(&xml, "<Encrypt><![CDATA[", "]]></Encrypt>");
    let signature = between(&xml, "<MsgSignature><![CDATA[", "]]></MsgSignature>");
    assert_eq!(
        between(&xml, "<TimeStamp>", "</TimeStamp>"),
        C_REPLY_TIMESTAMP
    );
    assert_eq!(
        between(&xml, "<Nonce><![CDATA[", "]]></Nonce>"),
        C_REPLY_NONCE
    );
    assert!(xml.starts_with("<xml><Encrypt>") && xml.ends_with("</Nonce></xml>"));
    assert_eq!(
        crypt
            .decrypt_verified(signature, C_REPLY_TIMESTAMP, C_REPLY_NONCE, encrypt)
            .unwrap(),
        "success?"
    );
}

#[test]
fn reply_xml_neutralises_hostile_nonce() {
    let crypt = c();
    let xml = crypt.reply_xml("AAAA", "1<2&", "a]]><x/>");
    assert!(xml.contains("<TimeStamp>1&lt;2&amp;</TimeStamp>"));
    assert!(xml.contains("<Nonce><![CDATA[a]]]]><![CDATA[><x/>]]></Nonce>"));
    // The signature still covers the raw values a parser will see.
    let sig = MsgCrypt::signature(C_TOKEN, "1<2&", "a]]><x/>", "AAAA");
    assert!(xml.contains(&sig));
}

#[test]
fn vector_a1_encrypt_and_signature() {
    let crypt = MsgCrypt::new(A_TOKEN, A_KEY, A_APPID).unwrap();
    assert_eq!(
        to_hex(&crypt.current.key),
        "69b71d79f8218a39259a7a29aabb2dbafc31cb3d35db7e39ebbf3d0010831051"
    );
    let encrypt = crypt.encrypt_with_random(A1_MSG, A_RANDOM);
    assert_eq!(encrypt, A1_ENCRYPT);
    assert_eq!(
        MsgCrypt::signature(A_TOKEN, A_TIMESTAMP, A_NONCE, &encrypt),
        A1_SIGNATURE
    );
    assert_eq!(
        crypt
            .decrypt_verified(A1_SIGNATURE, A_TIMESTAMP, A_NONCE, A1_ENCRYPT)
            .unwrap(),
        A1_MSG
    );
    assert_eq!(*raw_plain(&crypt, A1_ENCRYPT).last().unwrap(), 7);
}

#[test]
fn vector_b_decrypt() {
    let crypt = MsgCrypt::new(B_TOKEN, B_KEY, B_CORPID).unwrap();
    assert_eq!(
        MsgCrypt::signature(B_TOKEN, B_TIMESTAMP, B_NONCE, B_DECRYPT_ENCRYPT),
        B_DECRYPT_SIGNATURE
    );
    let msg = crypt
        .decrypt_verified(B_DECRYPT_SIGNATURE, B_TIMESTAMP, B_NONCE, B_DECRYPT_ENCRYPT)
        .unwrap();
    assert!(msg.contains("<Content><![CDATA[test]]></Content>"), "{msg}");
    assert!(
        msg.contains("<FromUserName><![CDATA[messense]]></FromUserName>"),
        "{msg}"
    );
    let raw = raw_plain(&crypt, B_DECRYPT_ENCRYPT);
    assert_eq!(&raw[..16], b"ec90b1530358d4d3");
    assert_eq!(*raw.last().unwrap(), 1);
}

#[test]
fn vector_b_encrypt() {
    let crypt = MsgCrypt::new(B_TOKEN, B_KEY, B_CORPID).unwrap();
    let encrypt = crypt.encrypt_with_random(B_REPLY_PLAIN, B_REPLY_RANDOM);
    assert_eq!(encrypt, B_REPLY_ENCRYPT);
    assert_eq!(
        MsgCrypt::signature(B_TOKEN, B_TIMESTAMP, B_NONCE, &encrypt),
        B_REPLY_SIGNATURE
    );
}

#[test]
fn vector_b_url_verification_signature() {
    // wechatpy's check_signature case: msg_signature over the echostr.
    let crypt = MsgCrypt::new(B_TOKEN, B_KEY, B_CORPID).unwrap();
    let echo =
        "4ByGGj+sVCYcvGeQYhaKIk1o0pQRNbRjxybjTGblXrBaXlTXeOo1+bXFXDQQb1o6co6Yh9Bv41n7hOchLF6p+Q==";
    let sig = "dd6b9c95b495b3f7e2901bfbc76c664930ffdb96";
    assert!(crypt.verify(sig, "1411443780", "437374425", echo));
    assert!(!crypt.verify(sig, "1411443780", "437374424", echo));
    assert!(
        crypt
            .decrypt_verified(sig, "1411443780", "437374425", echo)
            .is_ok()
    );
}

#[test]
fn vector_d_component_verify_ticket() {
    let crypt = c();
    let encrypt = crypt.encrypt_with_random(D_PLAIN, D_RANDOM);
    assert_eq!(encrypt, D_ENCRYPT);
    assert_eq!(
        MsgCrypt::signature(C_TOKEN, C_TIMESTAMP, C_NONCE, &encrypt),
        D_SIGNATURE
    );
    assert_eq!(
        crypt
            .decrypt_verified(D_SIGNATURE, C_TIMESTAMP, C_NONCE, D_ENCRYPT)
            .unwrap(),
        D_PLAIN
    );
}

#[test]
fn aligned_plaintext_gets_a_full_padding_block() {
    let crypt = c();
    // 16 + 4 + msg + 18 (appid) = 64 when msg is 26 bytes.
    let msg = "abcdefghijklmnopqrstuvwxyz";
    let encrypt = crypt.encrypt_with_random(msg, &[7; 16]);
    let raw = raw_plain(&crypt, &encrypt);
    assert_eq!(raw.len(), 96);
    assert!(raw[64..].iter().all(|&b| b == 0x20));
    assert_eq!(crypt.decrypt(&encrypt).unwrap(), msg);
}

#[test]
fn round_trips() {
    let crypt = MsgCrypt::new(A_TOKEN, A_KEY, A_APPID).unwrap();
    let long = "x".repeat(5000);
    for msg in [
        "",
        "a",
        "我是中文abcd123",
        "<xml><a>1</a></xml>",
        long.as_str(),
    ] {
        let encrypt = crypt.encrypt(msg);
        assert_eq!(crypt.decrypt(&encrypt).unwrap(), msg);
        let sig = MsgCrypt::signature(A_TOKEN, "1", "2", &encrypt);
        assert_eq!(
            crypt.decrypt_verified(&sig, "1", "2", &encrypt).unwrap(),
            msg
        );
    }
    for len in 0..70 {
        let msg = "m".repeat(len);
        let encrypt = crypt.encrypt_with_random(&msg, &[len as u8; 16]);
        assert_eq!(raw_plain(&crypt, &encrypt).len() % PAD_BLOCK, 0);
        assert_eq!(crypt.decrypt(&encrypt).unwrap(), msg);
    }
}

#[test]
fn encrypt_uses_a_fresh_random_prefix() {
    let crypt = c();
    assert_ne!(crypt.encrypt("same"), crypt.encrypt("same"));
}

#[test]
fn wrong_appid_is_rejected() {
    let sender = MsgCrypt::new(C_TOKEN, C_KEY, "wxba5fad812f8e6fb9").unwrap();
    let encrypt = sender.encrypt("hello");
    assert_eq!(c().decrypt(&encrypt), Err(CryptError::AppIdMismatch));
    assert_eq!(CryptError::AppIdMismatch.code(), -40005);
    // The official vector addressed to the component is not for the authorizer.
    assert_eq!(sender.decrypt(C_ENCRYPT), Err(CryptError::AppIdMismatch));
}

#[test]
fn tampered_signature_is_rejected() {
    let crypt = c();
    let mut bad = C_MSG_SIGNATURE.to_owned();
    bad.replace_range(0..1, "7");
    for sig in [
        bad.as_str(),
        "",
        "6c12a4205838198b8fa631b3220723bb07f1015",
        "not hex at all",
    ] {
        assert!(!crypt.verify(sig, C_TIMESTAMP, C_NONCE, C_ENCRYPT));
        assert_eq!(
            crypt.decrypt_verified(sig, C_TIMESTAMP, C_NONCE, C_ENCRYPT),
            Err(CryptError::BadSignature)
        );
    }
    assert!(!crypt.verify(C_MSG_SIGNATURE, "1715943330", C_NONCE, C_ENCRYPT));
    assert!(!crypt.verify(
        C_MSG_SIGNATURE,
        C_TIMESTAMP,
        C_NONCE,
        &C_ENCRYPT.replace('D', "E")
    ));
    assert!(crypt.verify(
        &C_MSG_SIGNATURE.to_uppercase(),
        C_TIMESTAMP,
        C_NONCE,
        C_ENCRYPT
    ));
    assert_eq!(CryptError::BadSignature.code(), -40001);
}

#[test]
fn truncated_ciphertext_is_rejected() {
    let crypt = c();
    let raw = decode_b64(C_ENCRYPT).unwrap();
    // Not a whole number of blocks.
    let cut = STRICT_B64.encode(&raw[..raw.len() - 5]);
    assert_eq!(crypt.decrypt(&cut), Err(CryptError::BadCiphertext));
    // Whole blocks, but the tail (length/appid/padding) is gone.
    let cut = STRICT_B64.encode(&raw[..raw.len() - 32]);
    assert!(crypt.decrypt(&cut).is_err());
    let cut = STRICT_B64.encode(&raw[..16]);
    assert!(crypt.decrypt(&cut).is_err());
    assert_eq!(crypt.decrypt(""), Err(CryptError::BadCiphertext));
    assert_eq!(
        crypt.decrypt("!!!not base64!!!"),
        Err(CryptError::BadBase64)
    );
    assert_eq!(CryptError::BadBase64.code(), -40010);
}

#[test]
fn malformed_plaintexts_do_not_panic() {
    let crypt = c();
    // Length field far larger than the buffer.
    let mut plain = vec![b'r'; 16];
    plain.extend_from_slice(&u32::MAX.to_be_bytes());
    plain.extend_from_slice(C_APPID.as_bytes());
    plain.resize(64, 26);
    assert_eq!(
        crypt.decrypt(&seal_raw(&crypt, &plain)),
        Err(CryptError::BadLength)
    );
    // Padding byte larger than the whole plaintext.
    let enc16 = STRICT_B64.encode(
        Aes256CbcEnc::new(&crypt.current.key.into(), &crypt.current.iv.into())
            .encrypt_padded_vec_mut::<NoPadding>(&[32u8; 16]),
    );
    assert_eq!(crypt.decrypt(&enc16), Err(CryptError::BadPadding));
    // Padding byte out of 1..=32: nothing stripped, so the appid check fails.
    let mut plain = vec![b'r'; 16];
    plain.extend_from_slice(&3u32.to_be_bytes());
    plain.extend_from_slice(b"abc");
    plain.extend_from_slice(C_APPID.as_bytes());
    plain.resize(64, 0xff);
    assert_eq!(
        crypt.decrypt(&seal_raw(&crypt, &plain)),
        Err(CryptError::AppIdMismatch)
    );
    // Invalid UTF-8 message.
    let mut plain = vec![b'r'; 16];
    plain.extend_from_slice(&2u32.to_be_bytes());
    plain.extend_from_slice(&[0xc3, 0x28]);
    plain.extend_from_slice(C_APPID.as_bytes());
    plain.resize(64, 24);
    assert_eq!(
        crypt.decrypt(&seal_raw(&crypt, &plain)),
        Err(CryptError::BadUtf8)
    );
    // Assorted junk through the public API.
    for junk in [
        "A",
        "AA==",
        "AAAA",
        "====",
        "\u{0}\u{1}",
        "QUFB\nQUFB",
        &"A".repeat(4096),
    ] {
        assert!(crypt.decrypt(junk).is_err(), "{junk:?}");
        let _ = crypt.decrypt_verified("x", "y", "z", junk);
    }
}

#[test]
fn random_plaintexts_and_strings_never_panic() {
    use rand::{Rng, SeedableRng};
    let crypt = c();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for _ in 0..2000 {
        // Any whole-block ciphertext decrypts, so the parser sees arbitrary bytes.
        let blocks = rng.gen_range(1..8) * AES_BLOCK;
        let mut plain = vec![0u8; blocks];
        rng.fill(plain.as_mut_slice());
        if plain.len() >= HEADER_LEN && rng.gen_bool(0.5) {
            plain[16..20].copy_from_slice(&rng.gen_range(0u32..64).to_be_bytes());
        }
        let encrypt = STRICT_B64.encode(
            Aes256CbcEnc::new(&crypt.current.key.into(), &crypt.current.iv.into())
                .encrypt_padded_vec_mut::<NoPadding>(&plain),
        );
        assert!(crypt.decrypt(&encrypt).is_err());
        // And arbitrary strings through every entry point.
        let junk: String = (0..rng.gen_range(0..80))
            .map(|_| char::from(rng.gen_range(0u8..128)))
            .collect();
        assert!(crypt.decrypt(&junk).is_err());
        assert!(!crypt.verify(&junk, &junk, &junk, &junk));
        let _ = crypt.decrypt_verified(&junk, "1", "2", &junk);
    }
}

#[test]
fn base64_with_line_breaks_is_accepted() {
    let crypt = c();
    let wrapped: String = C_ENCRYPT
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join("\r\n");
    assert_eq!(crypt.decrypt(&wrapped).unwrap(), C_PLAIN);
}

#[test]
fn bad_key_is_rejected() {
    for key in [
        "",
        "AAAA",
        &"A".repeat(42),
        &"A".repeat(44),
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA中",
    ] {
        assert_eq!(
            MsgCrypt::new("t", key, "a").err(),
            Some(CryptError::BadAesKey),
            "{key:?}"
        );
        assert_eq!(
            c().with_previous_key(key).err(),
            Some(CryptError::BadAesKey)
        );
    }
    assert_eq!(CryptError::BadAesKey.code(), -40004);
    // Keys whose last char has non-zero trailing bits are real keys.
    assert!(MsgCrypt::new("t", A_KEY, "a").is_ok());
    assert!(MsgCrypt::new("t", B_KEY, "a").is_ok());
}

#[test]
fn key_rotation_accepts_previous_key() {
    let old = c();
    let rotated = MsgCrypt::new(C_TOKEN, OTHER_KEY, C_APPID)
        .unwrap()
        .with_previous_key(C_KEY)
        .unwrap();
    // In-flight push under the old key.
    assert_eq!(rotated.decrypt(C_ENCRYPT).unwrap(), C_PLAIN);
    assert_eq!(
        rotated.decrypt_with_slot(C_ENCRYPT).unwrap(),
        (C_PLAIN.to_owned(), KeySlot::Previous)
    );
    assert_eq!(
        rotated
            .decrypt_verified(C_MSG_SIGNATURE, C_TIMESTAMP, C_NONCE, C_ENCRYPT)
            .unwrap(),
        C_PLAIN
    );
    // New pushes under the new key.
    let fresh = rotated.encrypt("new");
    assert_eq!(
        rotated.decrypt_with_slot(&fresh).unwrap(),
        ("new".to_owned(), KeySlot::Current)
    );
    assert!(old.decrypt(&fresh).is_err());
    // A reply under the slot that worked is readable by the old-key sender.
    let reply = rotated.encrypt_in(KeySlot::Previous, "pong");
    assert_eq!(old.decrypt(&reply).unwrap(), "pong");
    // Without a previous key, the old ciphertext fails.
    let only_new = MsgCrypt::new(C_TOKEN, OTHER_KEY, C_APPID).unwrap();
    assert!(only_new.decrypt(C_ENCRYPT).is_err());
    assert_eq!(
        only_new.encrypt_in(KeySlot::Previous, "x").len(),
        only_new.encrypt("x").len()
    );
    assert_eq!(
        only_new
            .decrypt(&only_new.encrypt_in(KeySlot::Previous, "x"))
            .unwrap(),
        "x"
    );
}

#[test]
fn debug_does_not_leak_secrets() {
    let text = format!(
        "{:?}",
        MsgCrypt::new("secret-token", A_KEY, A_APPID).unwrap()
    );
    assert!(!text.contains("secret-token"));
    assert!(!text.contains("69b71d79"));
    assert!(text.contains(A_APPID));
}

#[test]
fn signature_sorts_bytewise_not_numerically() {
    // "10" < "9" as strings; a numeric sort would give "910".
    let expected = {
        let mut h = Sha1::new();
        h.update(b"109");
        to_hex(&h.finalize())
    };
    assert_eq!(MsgCrypt::plain_signature("", "9", "10"), expected);
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> &'a str {
    let from = s.find(start).unwrap() + start.len();
    let to = from + s[from..].find(end).unwrap();
    &s[from..to]
}
