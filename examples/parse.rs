fn main() {
    let p = std::env::args().nth(1).unwrap();
    let s = std::fs::read_to_string(p).unwrap();
    match deadbolt::dsl::parser::parse_file(&s) {
        Ok(f) => println!("{:#?}", f),
        Err(e) => println!(
            "ERR at {} ({:?}): expected {}",
            e.offset,
            &s[e.offset..].chars().take(20).collect::<String>(),
            e.expected
        ),
    }
}
