use super::*;

fn pull_request() -> Vec<u8> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/github-webhooks/pull_request.opened.json"
    );
    std::fs::read(path).expect("the pull_request fixture")
}

#[test]
fn a_real_payload_round_trips_and_shrinks() {
    let raw = pull_request();
    let c = Compressed::new(&raw);
    assert_eq!(c.encoding(), Encoding::Lz4);
    assert!(
        c.len() * 4 < raw.len(),
        "{} bytes compressed to {}: expected at least 4x",
        raw.len(),
        c.len()
    );
    assert_eq!(decompress(c.as_bytes()).unwrap(), raw);
    let text = decode_text("lz4", String::new(), Some(c.as_bytes())).unwrap();
    assert_eq!(text.as_bytes(), &raw[..]);
}

#[test]
fn an_empty_payload_round_trips() {
    let c = Compressed::new(b"");
    assert!(!c.is_empty(), "the header is always there");
    assert_eq!(decompress(c.as_bytes()).unwrap(), b"");
    assert_eq!(
        decode_text("lz4", String::new(), Some(c.as_bytes())).unwrap(),
        ""
    );
}

#[test]
fn the_largest_body_github_sends_round_trips() {
    // 25 MiB of JSON-ish text that does not repeat exactly: numbers that keep changing.
    let mut raw = Vec::with_capacity(MAX_BODY_BYTES);
    let mut n: u64 = 0x9E37_79B9_7F4A_7C15;
    while raw.len() < MAX_BODY_BYTES - 64 {
        n = n
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        raw.extend_from_slice(format!("{{\"id\":{},\"sha\":\"{n:016x}\"}},", n >> 40).as_bytes());
    }
    raw.truncate(MAX_BODY_BYTES);
    let c = Compressed::new(&raw);
    assert!(c.len() < raw.len());
    assert_eq!(decompress(c.as_bytes()).unwrap(), raw);
}

#[test]
fn identity_rows_read_back_as_stored() {
    assert_eq!(
        decode_text("identity", "{\"a\":1}".into(), None).unwrap(),
        "{\"a\":1}"
    );
    // Whatever is in the blob column is not consulted for identity rows.
    assert_eq!(
        decode_text("identity", String::new(), Some(b"x")).unwrap(),
        ""
    );
}

#[test]
fn truncated_input_is_an_error() {
    let c = Compressed::new(&pull_request());
    for cut in [0, 1, 3] {
        assert_eq!(
            decompress(&c.as_bytes()[..cut]),
            Err(PayloadError::Truncated(cut))
        );
    }
    for cut in [4, 5, c.len() / 2, c.len() - 1] {
        let r = decompress(&c.as_bytes()[..cut]);
        assert!(
            matches!(r, Err(PayloadError::Corrupt(_))),
            "cut at {cut}: {r:?}"
        );
    }
}

#[test]
fn corrupt_input_is_an_error_never_a_panic() {
    let raw = pull_request();
    let c = Compressed::new(&raw);
    // A header that promises more than the block holds, or less.
    let mut longer = c.as_bytes().to_vec();
    longer[..4].copy_from_slice(&(raw.len() as u32 + 1).to_le_bytes());
    assert!(matches!(decompress(&longer), Err(PayloadError::Corrupt(_))));
    let mut shorter = c.as_bytes().to_vec();
    shorter[..4].copy_from_slice(&(raw.len() as u32 - 1).to_le_bytes());
    assert!(matches!(
        decompress(&shorter),
        Err(PayloadError::Corrupt(_))
    ));
    // A header beyond what ingress accepts allocates nothing.
    let mut huge = c.as_bytes().to_vec();
    huge[..4].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(decompress(&huge), Err(PayloadError::TooLarge(_))));
    // Every single-byte change of the block either fails cleanly or decodes to something
    // (LZ4 has no checksum: the database's own integrity covers silent changes).
    for i in 4..c.len() {
        let mut bad = c.as_bytes().to_vec();
        bad[i] ^= 0xA5;
        let _ = decompress(&bad);
    }
    // Not LZ4 at all.
    let r = decompress(b"\x10\x00\x00\x00not an lz4 block");
    assert!(r.is_err(), "{r:?}");
}

#[test]
fn wrong_encoding_tags_and_missing_blobs_are_errors() {
    let c = Compressed::new(b"{}");
    assert_eq!(
        decode_text("zstd", String::new(), Some(c.as_bytes())),
        Err(PayloadError::UnknownEncoding("zstd".into()))
    );
    assert!(matches!(
        decode_text("", String::new(), None),
        Err(PayloadError::UnknownEncoding(_))
    ));
    assert_eq!(
        decode_text("lz4", String::new(), None),
        Err(PayloadError::Missing)
    );
    // Raw JSON mistaken for lz4 is refused, not decoded into garbage of any size.
    let r = decode_text("lz4", String::new(), Some(b"{\"action\":\"opened\"}"));
    assert!(r.is_err(), "{r:?}");
    assert_eq!(Encoding::from_tag("lz4"), Ok(Encoding::Lz4));
    assert_eq!(
        Encoding::from_tag(Encoding::Identity.tag()),
        Ok(Encoding::Identity)
    );
}

#[test]
fn bytes_that_are_not_utf8_are_an_error() {
    let c = Compressed::new(&[0xff, 0xfe, 0x00]);
    assert_eq!(
        decode_text("lz4", String::new(), Some(c.as_bytes())),
        Err(PayloadError::NotUtf8)
    );
}
