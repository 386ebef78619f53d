//! Validation throughput over a corpus directory, schema compiled once, all
//! errors collected per record (what `cnadesk record validate` does per file).
//! Used by `bench/validate.sh`.
#![allow(clippy::print_stdout)]

use std::time::Instant;

use cnadesk_cve::SchemaSet;

fn main() {
    let dir = std::env::args()
        .nth(1)
        .expect("usage: throughput CORPUS_DIR");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("corpus directory")
        .map(|e| e.expect("entry").path())
        .collect();
    names.sort();
    let docs: Vec<serde_json::Value> = names
        .iter()
        .map(|p| serde_json::from_str(&std::fs::read_to_string(p).expect("read")).expect("json"))
        .collect();
    let set = SchemaSet::default_set();
    // Warm up once, then measure several passes and keep the best.
    let mut best = f64::MAX;
    let mut invalid = 0;
    for _ in 0..5 {
        let start = Instant::now();
        invalid = docs.iter().filter(|d| !set.validate(d).is_empty()).count();
        best = best.min(start.elapsed().as_secs_f64());
    }
    println!(
        "{{\"records\": {}, \"invalid\": {invalid}, \"seconds\": {best}, \"per_second\": {}}}",
        docs.len(),
        docs.len() as f64 / best
    );
}
