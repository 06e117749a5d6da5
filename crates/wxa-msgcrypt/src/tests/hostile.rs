//! Hostile inputs: forged signatures, wrong appids, bad padding and lengths, key rotation.

use super::*;

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
