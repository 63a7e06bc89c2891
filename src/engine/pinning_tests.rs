use super::*;

#[test]
fn keep_reads_nothing_a_duration_or_off_and_caps_at_the_policy() {
    assert_eq!(request(None), Ok(KeepRequest::For(None)));
    assert_eq!(request(Some(" OFF ")), Ok(KeepRequest::Off));
    assert_eq!(
        request(Some("3d")),
        Ok(KeepRequest::For(Some(Duration::from_secs(3 * 86_400))))
    );
    assert!(request(Some("forever")).is_err());
    let max = Duration::from_secs(86_400);
    assert_eq!(
        until(0, Some(Duration::from_secs(3600)), max),
        (3_600_000, false)
    );
    assert_eq!(
        until(0, Some(Duration::from_secs(3 * 86_400)), max),
        (86_400_000, true)
    );
    assert_eq!(until(0, None, max), (86_400_000, false));
    assert!(holds(Some(5), 4) && !holds(Some(5), 5) && !holds(None, 0));
}
