//! `cnadesk forecast`, run as a newcomer would: a known history gives the
//! known expected load, bursts included, and every figure comes with its
//! assumptions.

mod support;

use support::{cnadesk, stderr, stdout};

/// 24 months (2023-01 to 2024-12): eleven single reports and one protocol
/// flaw that produced twelve CVEs at once: 23 cases.
const HISTORY: &str = "date,kind,cases,note
# a comment line
2023-01-10,report,1,
2023-03-02,report,1,
2023-05-20,report,1,
2023-07-07,disclosure,12,\"message carbons, spoofing across clients\"
2023-08-15,report,1,
2023-10-01,report,1,
2024-01-12,report,1,
2024-03-03,report,1,
2024-05-05,report,1,
2024-07-07,report,1,
2024-09-09,report,1,
2024-12-24,report,1,
";

fn run(history: &str, args: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("history.csv");
    std::fs::write(&file, history).unwrap();
    let mut all = vec!["forecast", "--history", file.to_str().unwrap()];
    all.extend_from_slice(args);
    cnadesk(&all)
        .env("CNADESK_DATA_DIR", dir.path())
        .output()
        .expect("run cnadesk")
}

#[test]
fn a_known_history_gives_the_known_load_and_the_assumptions() {
    let o = run(
        HISTORY,
        &["--members", "2", "--format", "json", "--runs", "300"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["fit"]["months"], 24);
    assert_eq!(v["fit"]["events"], 12);
    assert_eq!(v["fit"]["cases"], 23);
    assert_eq!(v["fit"]["largest_burst"], 12);
    let per_member = v["cases_per_member_per_month"].as_f64().unwrap();
    assert!(
        (per_member - 23.0 / 24.0 / 2.0).abs() < 1e-9,
        "{per_member}"
    );
    let stages: Vec<&str> = v["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["key"].as_str().unwrap())
        .collect();
    assert_eq!(stages, ["acknowledge", "triage", "cve_decision"]);
    assert_eq!(
        v["stages"][0]["target_business_days"], 2,
        "the SLA policy's target"
    );
    for s in v["stages"].as_array().unwrap() {
        let p = s["breach_probability"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&p), "{s}");
    }
    assert!(!v["method"].as_array().unwrap().is_empty());

    // The text form prints the same with its assumptions.
    let o = run(HISTORY, &["--members", "2", "--runs", "300"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("Method and assumptions"), "{text}");
    assert!(text.contains("SLA policy"), "{text}");
}

#[test]
fn a_team_far_too_small_misses_and_is_told_how_many_it_needs() {
    // 60 single reports a month with 1 hour a week each: overwhelmed.
    let mut h = String::from("date,kind,cases\n");
    for m in 1..=12 {
        for d in 1..=28 {
            h.push_str(&format!("2024-{m:02}-{d:02},report,2\n"));
        }
    }
    let o = run(
        &h,
        &[
            "--members",
            "1",
            "--hours-per-week",
            "1",
            "--format",
            "json",
            "--runs",
            "100",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(v["stages"][1]["breach_probability"].as_f64().unwrap() > 0.9);
    assert!(v["utilisation"].as_f64().unwrap() > 10.0);
}

#[test]
fn a_broken_history_says_where() {
    let o = run(
        "date,kind,cases\n2024-13-01,report,1\n",
        &["--members", "2"],
    );
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("line 2") && err.contains("date"), "{err}");
    let o = run(HISTORY, &["--members", "0"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).to_lowercase().contains("member"),
        "{}",
        stderr(&o)
    );
}
