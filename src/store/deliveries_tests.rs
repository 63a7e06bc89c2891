use super::*;

#[test]
fn multi_row_statements_number_their_placeholders_row_by_row() {
    assert_eq!(
        multi_row("INSERT INTO t (a, b) VALUES ", 2, 3, " RETURNING a"),
        "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4), ($5, $6) RETURNING a"
    );
    let sizes: Vec<usize> = power_of_two_chunks(&[0; 203])
        .iter()
        .map(|c| c.len())
        .collect();
    assert_eq!(sizes, [128, 64, 8, 2, 1]);
    assert!(power_of_two_chunks::<u8>(&[]).is_empty());
}
