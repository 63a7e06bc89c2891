use super::*;

fn slots() -> Vec<String> {
    ["1", "2", "3"].iter().map(|s| (*s).to_owned()).collect()
}

fn held(slot: &str, pr: u64, at: i64) -> SlotHolder {
    SlotHolder {
        slot: slot.to_owned(),
        pr_number: PrNumber(pr),
        deployed_at: at,
    }
}

#[test]
fn a_pull_request_keeps_its_slot_then_gets_its_last_one_back_then_a_free_one() {
    let h = [held("1", 7, 10)];
    assert_eq!(
        choose(&slots(), &h, PrNumber(7), None, &[]),
        SlotChoice::Own("1".into())
    );
    assert_eq!(
        choose(&slots(), &h, PrNumber(8), Some("3"), &[]),
        SlotChoice::Free("3".into())
    );
    assert_eq!(
        choose(&slots(), &h, PrNumber(8), Some("1"), &[]),
        SlotChoice::Free("2".into())
    );
}

#[test]
fn with_every_slot_in_use_the_least_recently_deployed_unpinned_one_is_taken() {
    let h = [held("1", 1, 30), held("2", 2, 10), held("3", 3, 20)];
    assert_eq!(
        choose(&slots(), &h, PrNumber(9), None, &[]),
        SlotChoice::Take {
            slot: "2".into(),
            from: PrNumber(2),
            seen_deployed_at: 10
        }
    );
    assert_eq!(
        choose(&slots(), &h, PrNumber(9), None, &[PrNumber(2)]),
        SlotChoice::Take {
            slot: "3".into(),
            from: PrNumber(3),
            seen_deployed_at: 20
        }
    );
    let all = [PrNumber(1), PrNumber(2), PrNumber(3)];
    assert_eq!(
        choose(&slots(), &h, PrNumber(9), None, &all),
        SlotChoice::Full
    );
}
