//! Published vectors (docs/wechat.md#crypto); hostile inputs are in `hostile.rs`.

use super::*;

mod hostile;

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

/// The text between `start` and `end` in `s`.
fn between<'a>(s: &'a str, start: &str, end: &str) -> &'a str {
    let from = s.find(start).unwrap() + start.len();
    let to = from + s[from..].find(end).unwrap();
    &s[from..to]
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
