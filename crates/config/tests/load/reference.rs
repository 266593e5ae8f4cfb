/// CONFIG.md is the crate documentation and the README's configuration section; its table must
/// be the one generated from the key declaration. On failure, paste the printed table into it.
#[test]
fn config_md_holds_the_generated_table() {
    let document = include_str!("../../CONFIG.md");
    let table = boxoffice_config::reference_table();
    assert!(
        document.contains(&table),
        "CONFIG.md is out of date; its table should read:\n\n{table}"
    );
}
