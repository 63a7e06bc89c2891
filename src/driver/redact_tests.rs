use super::*;

fn redactor(secrets: &[&str]) -> Redactor {
    Redactor::new(&secrets.iter().map(|s| s.to_string()).collect::<Vec<_>>())
}

/// Lines through one stream, as the log would get them.
fn through(r: &Redactor, lines: &[&str]) -> Vec<String> {
    let mut stream = r.stream();
    let mut out: Vec<String> = lines
        .iter()
        .flat_map(|l| stream.push((*l).to_owned()))
        .collect();
    out.extend(stream.finish());
    out
}

#[test]
fn nothing_to_redact_changes_nothing() {
    let r = redactor(&[]);
    assert!(r.is_empty());
    assert_eq!(r.apply("a line"), "a line");
    assert_eq!(through(&r, &["a", "", "b"]), vec!["a", "", "b"]);
}

#[test]
fn a_secret_and_any_long_enough_fragment_of_it_are_redacted() {
    let secret = "0123456789abcdefghijKLMNOP";
    let r = redactor(&[secret]);
    assert_eq!(r.apply(&format!("x={secret};")), "x=[REDACTED];");
    assert_eq!(r.apply("half: 56789abcdefghijK!"), "half: [REDACTED]!");
    // Shorter than a window: left alone (it is not the secret, only a part of it).
    assert_eq!(r.apply("56789abcdef"), "56789abcdef");
    assert_eq!(
        r.apply(&format!("{secret}{secret}")),
        "[REDACTED][REDACTED]"
    );
}

#[test]
fn adjacent_short_secrets_stay_two_markers() {
    let r = redactor(&["pw1"]);
    assert_eq!(r.apply("pw1pw1 pw1"), "[REDACTED][REDACTED] [REDACTED]");
}

#[test]
fn base64_cores_cover_each_alignment_and_not_the_neighbours() {
    let secret = b"abcdefghijkl";
    // "xabcdefghijkl" -> the first two characters carry the x; the rest is the secret's.
    assert_eq!(base64_core(secret, 0), STANDARD_NO_PAD.encode(secret));
    let one = STANDARD_NO_PAD.encode(b"xabcdefghijkl");
    assert_eq!(base64_core(secret, 1), one[2..(8 * 13) / 6]);
    let two = STANDARD_NO_PAD.encode(b"xyabcdefghijkl");
    assert_eq!(base64_core(secret, 2), two[3..(8 * 14) / 6]);
}

#[test]
fn a_multi_line_secret_is_found_across_the_lines_of_a_stream() {
    let secret = "ab\ncd\nef";
    let r = redactor(&[secret]);
    let out = through(&r, &["before", "ab", "cd", "ef", "after"]);
    assert_eq!(
        out,
        vec!["before", "[REDACTED]", "[REDACTED]", "[REDACTED]", "after"]
    );
    // The same lines apart from each other are not the secret.
    assert_eq!(through(&r, &["ab", "x", "cd"]), vec!["ab", "x", "cd"]);
}

#[test]
fn wrapped_base64_is_found_across_lines_whatever_the_width() {
    let key = include_str!("../../fixtures/test-app-key.pem");
    let r = redactor(&[key]);
    let encoded = STANDARD.encode(format!("prefix:{key}"));
    for width in [76, 64, 50, 17] {
        let lines: Vec<&str> = encoded
            .as_bytes()
            .chunks(width)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        let out = through(&r, &lines);
        assert_eq!(out.len(), lines.len());
        // Only the first line keeps a few characters (the prefix's); nothing else survives.
        let kept: usize = out.iter().map(|l| l.replace(REDACTED, "").len()).sum();
        assert!(kept <= 12, "width {width}: {out:?}");
    }
}

#[test]
fn a_stream_holds_back_little() {
    let r = redactor(&["some-secret-value-1234"]);
    let mut stream = r.stream();
    assert!(stream.push("first line of output".into()).is_empty());
    // Once a following line is long enough, the earlier one is final.
    assert_eq!(
        stream.push("second line of output".into()),
        vec!["first line of output"]
    );
    // Blank lines cannot make it hold back forever.
    let mut given = 1;
    for _ in 0..100 {
        given += stream.push(String::new()).len();
    }
    assert!(given >= 100 - WINDOW, "{given}");
}

#[test]
fn redaction_widens_to_whole_characters() {
    let r = redactor(&["é-secret-ü-value"]);
    assert_eq!(r.apply("«é-secret-ü-value»"), "«[REDACTED]»");
    // Bytes of a window cutting a character in half: the whole character goes.
    let out = r.apply("x-secret-ü-value");
    assert!(!out.contains("secret-ü-valu"), "{out}");
    assert!(out.is_char_boundary(out.len()));
}

#[test]
fn forms_include_json_escaping_and_percent_encoding() {
    let f: Vec<String> = forms("a\"b\nc d/e")
        .into_iter()
        .map(|f| String::from_utf8(f).unwrap())
        .collect();
    assert!(f.contains(&"a\\\"b\\nc d/e".to_owned()), "{f:?}");
    assert!(f.contains(&"a%22b%0Ac%20d%2Fe".to_owned()), "{f:?}");
}
