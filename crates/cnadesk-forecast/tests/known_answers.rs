//! Known answers for the history parser, the fit, the arrival sampler and
//! the simulated breach probabilities.

use cnadesk_forecast::{
    fit, fit_with_span, forecast, parse_history, sample_monthly_cases, simulate, Assumptions,
    EventKind, Fit, ForecastError, HistoryError, HistoryEvent, Stage,
};
use jiff::civil::date;

// ---------------------------------------------------------------- helpers

fn event(y: i16, m: i8, d: i8, cases: u32) -> HistoryEvent {
    HistoryEvent {
        date: date(y, m, d),
        kind: EventKind::Report,
        cases,
        note: String::new(),
    }
}

/// 63 single-case events over January and February 2024: λ = 31.5 events
/// per month, 1.5 per business day.
fn steady_fit() -> Fit {
    let events: Vec<HistoryEvent> = (0..63u32)
        .map(|i| {
            let month = if i % 2 == 0 { 1 } else { 2 };
            let day = i8::try_from(1 + i % 28).unwrap();
            event(2024, month, day, 1)
        })
        .collect();
    let fit = fit(&events).unwrap();
    assert_eq!(fit.months, 2);
    assert_eq!(fit.events_per_month, 31.5);
    assert_eq!(fit.burst_sizes, vec![(1, 63)]);
    fit
}

fn stage(key: &str, effort_hours: f64, target_business_days: u32) -> Stage {
    Stage {
        key: key.to_string(),
        label: format!("Stage {key}"),
        effort_hours,
        target_business_days,
    }
}

fn assumptions(members: u32, hours_per_member_per_week: f64, stages: Vec<Stage>) -> Assumptions {
    Assumptions {
        members,
        hours_per_member_per_week,
        stages,
        months: 12,
        runs: 400,
        seed: 7,
        max_breach: 0.05,
    }
}

fn err(csv: &str) -> String {
    parse_history(csv).unwrap_err().to_string()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * (1.0 + a.abs().max(b.abs()))
}

// ---------------------------------------------------------------- 1. parse

#[test]
fn parses_a_good_file() {
    let csv = "\u{feff}# exported from the tracker\n\
               date,kind,cases,note\n\
               \n\
               2017-02-01,disclosure,12,message carbons spoofing\n\
               # a comment between events\n\
               2017-03-14,report,1,\"XSS in the web client, via the nickname\"\n\
               \x20\x202017-05-02 , Report ,2\r\n\
               2017-06-30,report,1,\"say \"\"hi\"\"\"\n";
    let events = parse_history(csv).unwrap();
    assert_eq!(events.len(), 4);
    assert_eq!(
        events[0],
        HistoryEvent {
            date: date(2017, 2, 1),
            kind: EventKind::Disclosure,
            cases: 12,
            note: "message carbons spoofing".into(),
        }
    );
    assert_eq!(events[1].note, "XSS in the web client, via the nickname");
    assert_eq!(events[1].kind, EventKind::Report);
    assert_eq!(events[2].date, date(2017, 5, 2));
    assert_eq!(events[2].kind, EventKind::Report);
    assert_eq!(events[2].cases, 2);
    assert_eq!(events[2].note, "");
    assert_eq!(events[3].note, "say \"hi\"");
}

#[test]
fn parses_a_file_without_the_note_column() {
    let events = parse_history("date,kind,cases\n2020-01-31,report,3\n").unwrap();
    assert_eq!(events, vec![event(2020, 1, 31, 3)]);
}

#[test]
fn field_errors_name_line_and_column() {
    let h = "date,kind,cases,note\n";
    assert_eq!(
        err("date,kind,cases\n2017-02-01,report,1\n\n# c\n2017-13-01,report,1\n"),
        r#"line 5, column "date": "2017-13-01" is not a date (YYYY-MM-DD)"#
    );
    assert_eq!(
        err(&format!("{h}2017-02-30,report,1,x\n")),
        r#"line 2, column "date": "2017-02-30" is not a date (YYYY-MM-DD)"#
    );
    assert_eq!(
        err(&format!("{h}2017-2-1,report,1\n")),
        r#"line 2, column "date": "2017-2-1" is not a date (YYYY-MM-DD)"#
    );
    assert_eq!(
        err(&format!("{h},report,1\n")),
        r#"line 2, column "date": is empty; expected a date (YYYY-MM-DD)"#
    );
    assert_eq!(
        err(&format!("{h}2017-02-01,bug,1\n")),
        r#"line 2, column "kind": "bug" is not an event kind (report or disclosure)"#
    );
    assert_eq!(
        err(&format!("{h}2017-02-01,,1\n")),
        r#"line 2, column "kind": is empty; expected report or disclosure"#
    );
    assert_eq!(
        err(&format!("{h}2017-02-01,report,0\n")),
        r#"line 2, column "cases": 0 is out of range (1 to 1000)"#
    );
    assert_eq!(
        err(&format!("{h}2017-02-01,report,1001\n")),
        r#"line 2, column "cases": 1001 is out of range (1 to 1000)"#
    );
    assert_eq!(
        err(&format!("{h}2017-02-01,report,99999999999999999999\n")),
        r#"line 2, column "cases": 99999999999999999999 is out of range (1 to 1000)"#
    );
    assert_eq!(
        err(&format!("{h}2017-02-01,report,1.5\n")),
        r#"line 2, column "cases": "1.5" is not a whole number (1 to 1000)"#
    );
    assert_eq!(
        err(&format!("{h}2017-02-01,report,-3\n")),
        r#"line 2, column "cases": "-3" is not a whole number (1 to 1000)"#
    );
    assert_eq!(
        err(&format!("{h}2017-02-01,report,\n")),
        r#"line 2, column "cases": is empty; expected a whole number of cases from 1 to 1000"#
    );
    assert_eq!(
        err(&format!("{h}2017-02-01,report,1,\"unterminated\n")),
        r#"line 2, column "note": has an opening double quote but no closing one"#
    );
    assert_eq!(
        err(&format!("{h}2017-02-01,report,1,\"quoted\" tail\n")),
        r#"line 2, column "note": has text after its closing double quote"#
    );
}

#[test]
fn column_count_errors() {
    assert_eq!(
        err("date,kind,cases\n2017-02-01,report,1,extra\n"),
        "line 2: expected 3 columns (date,kind,cases), found 4"
    );
    assert_eq!(
        err("date,kind,cases,note\n2017-02-01,report,1,a,b\n"),
        "line 2: expected 3 or 4 columns (date,kind,cases,note), found 5"
    );
    assert_eq!(
        err("date,kind,cases,note\n2017-02-01,report\n"),
        "line 2: expected 3 or 4 columns (date,kind,cases,note), found 2"
    );
    assert_eq!(
        parse_history("date,kind,cases,note\n2017-02-01,report\n"),
        Err(HistoryError::Columns {
            line: 2,
            expected: "3 or 4 columns (date,kind,cases,note)",
            found: 2
        })
    );
}

#[test]
fn header_and_empty_errors() {
    assert_eq!(
        err("2017-02-01,report,1\n"),
        "line 1: the header must be `date,kind,cases,note` or `date,kind,cases`, found `2017-02-01,report,1`"
    );
    assert_eq!(
        err("# only a comment\n\ndate,cases,kind\n"),
        "line 3: the header must be `date,kind,cases,note` or `date,kind,cases`, found `date,cases,kind`"
    );
    assert_eq!(parse_history(""), Err(HistoryError::Empty));
    assert_eq!(
        parse_history("date,kind,cases,note\n"),
        Err(HistoryError::Empty)
    );
    assert_eq!(parse_history("# nothing\n\n  \n"), Err(HistoryError::Empty));
    assert_eq!(err(""), "the history has no events");
}

#[test]
fn never_panics_on_garbage() {
    let odd = [
        "\"",
        ",,,,",
        "date,kind,cases\n\"",
        "date,kind,cases\n\u{0}\u{1}\u{7f}",
        "date,kind,cases\n,,",
        "date,kind,cases\n\"\",\"\",\"\"",
        "date,kind,cases\n２０１７-０１-０１,report,1",
        "date,kind,cases\n201é-01-0,report,1",
        "date,kind,cases\n2017-02-01,réport,1",
        "date,kind,cases\n2017-02-01,report,１",
        "date,kind,cases,note\n2017-02-01,report,1,\"a\"\"",
        "date,kind,cases,note\n2017-02-01,report,1,\"\"\"\"\"",
        "date,kind,cases\r\n\r\n2017-02-01,report,1\r",
        "\u{feff}",
        "date,kind,cases\n0000-00-00,report,1",
        "date,kind,cases\n9999-12-31,disclosure,1000",
    ];
    for input in odd {
        let _ = parse_history(input);
    }
    // Pseudo-random bytes (a fixed linear congruential generator), read lossily.
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    for round in 0..300 {
        let mut bytes = b"date,kind,cases,note\n".to_vec();
        for _ in 0..(round % 90) {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let pick = (state >> 33) as usize;
            let alphabet = b"0123456789-,\"\n #reportdisclosure\xc3\xa9\r\t";
            bytes.push(alphabet[pick % alphabet.len()]);
        }
        let text = String::from_utf8_lossy(&bytes);
        if let Ok(events) = parse_history(&text) {
            for e in &events {
                assert!((1..=1000).contains(&e.cases));
            }
        }
    }
    // The largest allowed values parse.
    assert!(parse_history("date,kind,cases\n9999-12-31,disclosure,1000").is_ok());
}

// ---------------------------------------------------------------- 2. fit

fn two_year_history() -> Vec<HistoryEvent> {
    vec![
        event(2024, 12, 31, 1),
        event(2023, 1, 5, 1),
        event(2023, 3, 10, 1),
        event(2023, 7, 1, 12),
        event(2024, 2, 14, 1),
        event(2024, 6, 30, 3),
    ]
}

#[test]
fn fit_known_history() {
    let f = fit(&two_year_history()).unwrap();
    assert_eq!(f.first_month, "2023-01");
    assert_eq!(f.last_month, "2024-12");
    assert_eq!(f.months, 24);
    assert_eq!(f.events, 6);
    assert_eq!(f.cases, 19);
    assert!(close(f.events_per_month, 0.25));
    assert!(close(f.mean_burst, 19.0 / 6.0));
    assert!(close(f.cases_per_month, 19.0 / 24.0));
    assert_eq!(f.burst_sizes, vec![(1, 4), (3, 1), (12, 1)]);
    assert_eq!(f.largest_burst, 12);
}

#[test]
fn fit_with_span_divides_by_it() {
    let f = fit_with_span(&two_year_history(), 36).unwrap();
    assert_eq!(f.months, 36);
    assert!(close(f.events_per_month, 6.0 / 36.0));
    assert!(close(f.cases_per_month, 19.0 / 36.0));
    assert!(close(f.mean_burst, 19.0 / 6.0));
    assert_eq!(
        fit_with_span(&two_year_history(), 24).unwrap(),
        fit(&two_year_history()).unwrap()
    );
    let short = fit_with_span(&two_year_history(), 23).unwrap_err();
    assert_eq!(
        short,
        HistoryError::SpanTooShort {
            requested: 23,
            needed: 24,
            first: "2023-01".into(),
            last: "2024-12".into()
        }
    );
    assert_eq!(
        short.to_string(),
        "a span of 23 months is shorter than the history, which covers 24 months (2023-01 to 2024-12)"
    );
    assert_eq!(fit(&[]), Err(HistoryError::Empty));
    assert_eq!(fit_with_span(&[], 5), Err(HistoryError::Empty));
}

#[test]
fn single_month_history_spans_one_month() {
    let f = fit(&[event(2022, 5, 1, 2), event(2022, 5, 31, 4)]).unwrap();
    assert_eq!(f.months, 1);
    assert!(close(f.events_per_month, 2.0));
    assert!(close(f.cases_per_month, 6.0));
    assert_eq!(f.first_month, "2022-05");
    assert_eq!(f.last_month, "2022-05");
}

// ---------------------------------------------------------------- 3. load figures

#[test]
fn load_figures_are_exact() {
    let f = fit(&two_year_history()).unwrap();
    let a = Assumptions {
        runs: 50,
        ..assumptions(
            3,
            5.0,
            vec![stage("acknowledge", 0.5, 2), stage("assess", 2.0, 10)],
        )
    };
    let out = forecast(&f, &a).unwrap();
    let cases_per_month = 19.0 / 24.0;
    assert!(close(out.cases_per_month, cases_per_month));
    assert!(close(out.cases_per_member_per_month, cases_per_month / 3.0));
    assert!(close(out.hours_needed_per_month, cases_per_month * 2.5));
    assert!(close(
        out.hours_available_per_month,
        3.0 * 5.0 * 52.0 / 12.0
    ));
    assert!(close(out.hours_available_per_month, 65.0));
    assert!(close(out.utilisation, cases_per_month * 2.5 / 65.0));
    assert_eq!(out.stages.len(), 2);
    assert_eq!(out.stages[0].key, "acknowledge");
    assert_eq!(out.stages[1].target_business_days, 10);
}

// ---------------------------------------------------------------- 4. arrivals

#[test]
fn monthly_cases_follow_the_compound_poisson_law() {
    // 26 events over 2023: 20 of one case, 2 of five, 4 of twelve.
    let mut events = Vec::new();
    for i in 0..26u32 {
        let month = i8::try_from(1 + i % 12).unwrap();
        let cases = match i {
            0..=19 => 1,
            20..=21 => 5,
            _ => 12,
        };
        events.push(event(2023, month, 15, cases));
    }
    let f = fit(&events).unwrap();
    assert_eq!(f.months, 12);
    assert_eq!(f.burst_sizes, vec![(1, 20), (5, 2), (12, 4)]);

    let lambda = 26.0 / 12.0;
    let k1 = 78.0 / 26.0; // E[K]
    let k2 = (20.0 + 2.0 * 25.0 + 4.0 * 144.0) / 26.0; // E[K²]
    let k4 = (20.0 + 2.0 * 625.0 + 4.0 * 20_736.0) / 26.0; // E[K⁴]
    let mean_exact = lambda * k1;
    let var_exact = lambda * k2;
    assert!(var_exact > 5.0 * mean_exact, "the history must be bursty");

    let n = 20_000;
    let samples = sample_monthly_cases(&f, n, 42);
    assert_eq!(samples.len(), n as usize);
    let nf = f64::from(n);
    let mean = samples.iter().map(|&x| f64::from(x)).sum::<f64>() / nf;
    let var = samples
        .iter()
        .map(|&x| (f64::from(x) - mean).powi(2))
        .sum::<f64>()
        / (nf - 1.0);
    let se_mean = (var_exact / nf).sqrt();
    assert!(
        (mean - mean_exact).abs() < 4.0 * se_mean,
        "mean {mean}, expected {mean_exact} ± {}",
        4.0 * se_mean
    );
    // Var(s²) ≈ (κ4 + 2σ⁴) / n, with κ4 = λ·E[K⁴] for a compound Poisson law.
    let se_var = ((lambda * k4 + 2.0 * var_exact * var_exact) / nf).sqrt();
    assert!(
        (var - var_exact).abs() < 4.0 * se_var,
        "variance {var}, expected {var_exact} ± {}",
        4.0 * se_var
    );

    assert_eq!(
        sample_monthly_cases(&f, 50, 9),
        sample_monthly_cases(&f, 50, 9)
    );
    assert_ne!(
        sample_monthly_cases(&f, 50, 9),
        sample_monthly_cases(&f, 50, 10)
    );
}

// ---------------------------------------------------------------- 5. breach, exact

/// The exact long-run fraction of cases not finished on their arrival day,
/// for unit-effort cases, Poisson(λ) arrivals per day and `c` cases served
/// per day, the backlog first. The backlog at the start of a day is the
/// Markov chain B' = max(B + N − c, 0); of a day's N arrivals,
/// min(N, max(B + N − c, 0)) are left over.
fn exact_same_day_miss_fraction(lambda: f64, c: usize) -> f64 {
    const N_MAX: usize = 80;
    const B_MAX: usize = 200;
    let mut poisson = vec![0.0_f64; N_MAX + 1];
    poisson[0] = (-lambda).exp();
    for n in 1..=N_MAX {
        poisson[n] = poisson[n - 1] * lambda / n as f64;
    }
    let mut pi = vec![0.0_f64; B_MAX + 1];
    pi[0] = 1.0;
    for _ in 0..20_000 {
        let mut next = vec![0.0_f64; B_MAX + 1];
        for (b, &pb) in pi.iter().enumerate() {
            for (n, &pn) in poisson.iter().enumerate() {
                let after = (b + n).saturating_sub(c).min(B_MAX);
                next[after] += pb * pn;
            }
        }
        let change: f64 = next.iter().zip(&pi).map(|(x, y)| (x - y).abs()).sum();
        pi = next;
        if change < 1e-14 {
            break;
        }
    }
    let mut missed = 0.0;
    for (b, &pb) in pi.iter().enumerate() {
        for (n, &pn) in poisson.iter().enumerate() {
            let left = n.min((b + n).saturating_sub(c));
            missed += pb * pn * left as f64;
        }
    }
    missed / lambda
}

#[test]
fn same_day_breach_matches_the_markov_chain() {
    let f = steady_fit();
    // members 1 × 15 h/week = 3 h per business day: c = 3 one-hour cases.
    for (hours_per_week, c, runs) in [(15.0, 3, 3000), (10.0, 2, 2000)] {
        let exact = exact_same_day_miss_fraction(1.5, c);
        assert!(exact > 0.03, "the check must not be trivial: {exact}");
        let a = Assumptions {
            runs,
            seed: 2024,
            ..assumptions(1, hours_per_week, vec![stage("acknowledge", 1.0, 1)])
        };
        let result = simulate(&f, &a);
        assert_eq!(result.len(), 1);
        let simulated = result[0].breach_probability;
        assert!(
            (simulated - exact).abs() < 0.01,
            "c = {c}: simulated {simulated}, exact {exact}"
        );
    }
}

// ---------------------------------------------------------------- 6. edges

#[test]
fn enormous_capacity_never_breaches() {
    let f = steady_fit();
    let a = assumptions(
        50,
        1000.0,
        vec![stage("a", 1.0, 1), stage("b", 3.0, 1), stage("c", 0.0, 2)],
    );
    let out = forecast(&f, &a).unwrap();
    for s in &out.stages {
        assert_eq!(s.breach_probability, 0.0, "{}", s.key);
        assert_eq!(s.median_business_days, 1.0);
        assert_eq!(s.p90_business_days, 1.0);
        assert!(s.counted_cases > 0);
    }
    assert_eq!(out.members_needed, Some(1));
}

#[test]
fn overload_breaches_almost_always() {
    let f = steady_fit();
    // 31.5 hours needed per month; 1 × 2 h/week × 52/12 = 8.67 available.
    let a = assumptions(1, 2.0, vec![stage("acknowledge", 1.0, 1)]);
    let load = 31.5 / (2.0 * 52.0 / 12.0);
    assert!(load > 3.0);
    let result = simulate(&f, &a);
    assert!(
        result[0].breach_probability > 0.9,
        "{}",
        result[0].breach_probability
    );
    assert!(result[0].median_business_days > 1.0);
}

#[test]
fn a_zero_effort_stage_finishes_on_arrival() {
    let f = steady_fit();
    // Far too little capacity, but the first stage needs no work.
    let a = assumptions(1, 1.0, vec![stage("log", 0.0, 1), stage("work", 1.0, 1)]);
    let result = simulate(&f, &a);
    assert_eq!(result[0].breach_probability, 0.0);
    assert_eq!(result[0].median_business_days, 1.0);
    assert!(result[1].breach_probability > 0.9);
}

#[test]
fn members_needed_is_the_smallest_sufficient_team() {
    let f = steady_fit();
    // One member: 1 h per business day for 1.5 h of work a day.
    let stages = vec![stage("acknowledge", 0.5, 2), stage("assess", 0.5, 5)];
    let one = assumptions(1, 5.0, stages);
    let out = forecast(&f, &one).unwrap();
    assert!(out.utilisation > 1.0);
    let n = out.members_needed.expect("some team up to 50 is enough");
    assert!(n > 1, "n = {n}");
    let enough = forecast(
        &f,
        &Assumptions {
            members: n,
            ..one.clone()
        },
    )
    .unwrap();
    assert!(enough
        .stages
        .iter()
        .all(|s| s.breach_probability <= one.max_breach));
    assert_eq!(enough.members_needed, Some(n));
    let fewer = simulate(
        &f,
        &Assumptions {
            members: n - 1,
            ..one.clone()
        },
    );
    assert!(fewer.iter().any(|s| s.breach_probability > one.max_breach));
}

#[test]
fn no_team_is_enough_for_an_impossible_target() {
    let f = steady_fit();
    // A 40-hour first stage cannot finish on the arrival day with 1 h/week each.
    let a = Assumptions {
        runs: 20,
        months: 2,
        ..assumptions(1, 1.0, vec![stage("huge", 40.0, 1)])
    };
    let out = forecast(&f, &a).unwrap();
    assert_eq!(out.members_needed, None);
    assert!(out.to_string().contains("more than 50"));
}

#[test]
fn invalid_assumptions_are_refused() {
    let f = steady_fit();
    let good = assumptions(2, 5.0, vec![stage("acknowledge", 1.0, 2)]);
    assert!(forecast(&f, &good).is_ok());
    let check = |a: Assumptions| forecast(&f, &a).unwrap_err();

    let e = check(Assumptions {
        members: 0,
        ..good.clone()
    });
    assert_eq!(e, ForecastError::NoMembers);
    assert_eq!(
        e.to_string(),
        "the team needs at least one member (members is 0)"
    );
    for hours in [0.0, -1.0, f64::INFINITY] {
        assert_eq!(
            check(Assumptions {
                hours_per_member_per_week: hours,
                ..good.clone()
            }),
            ForecastError::Hours(hours)
        );
    }
    assert!(matches!(
        check(Assumptions { hours_per_member_per_week: f64::NAN, ..good.clone() }),
        ForecastError::Hours(h) if h.is_nan()
    ));
    assert_eq!(
        check(Assumptions {
            stages: vec![],
            ..good.clone()
        }),
        ForecastError::NoStages
    );
    assert_eq!(
        check(Assumptions {
            stages: vec![stage("x", -0.5, 2)],
            ..good.clone()
        }),
        ForecastError::Effort {
            stage: "x".into(),
            effort: -0.5
        }
    );
    assert!(matches!(
        check(Assumptions {
            stages: vec![stage("x", f64::NAN, 2)],
            ..good.clone()
        }),
        ForecastError::Effort { .. }
    ));
    assert_eq!(
        check(Assumptions {
            stages: vec![stage("x", 1.0, 0)],
            ..good.clone()
        }),
        ForecastError::Target { stage: "x".into() }
    );
    for runs in [0, 100_001] {
        assert_eq!(
            check(Assumptions {
                runs,
                ..good.clone()
            }),
            ForecastError::Runs(runs)
        );
    }
    assert_eq!(
        check(Assumptions {
            runs: 0,
            ..good.clone()
        })
        .to_string(),
        "runs must be from 1 to 100000, got 0"
    );
    for months in [0, 121] {
        assert_eq!(
            check(Assumptions {
                months,
                ..good.clone()
            }),
            ForecastError::Months(months)
        );
    }
    for max_breach in [0.0, 1.0, -0.1, 1.5] {
        assert_eq!(
            check(Assumptions {
                max_breach,
                ..good.clone()
            }),
            ForecastError::MaxBreach(max_breach)
        );
    }
    assert!(matches!(
        check(Assumptions {
            max_breach: f64::NAN,
            ..good.clone()
        }),
        ForecastError::MaxBreach(_)
    ));
    let no_bursts = Fit {
        burst_sizes: vec![],
        ..f.clone()
    };
    assert!(matches!(
        forecast(&no_bursts, &good),
        Err(ForecastError::Fit(_))
    ));
    let flood = Fit {
        events_per_month: 1e12,
        cases_per_month: 1e12,
        ..f.clone()
    };
    assert!(matches!(
        forecast(&flood, &good),
        Err(ForecastError::Fit(_))
    ));
}

#[test]
fn simulate_tolerates_degenerate_input() {
    let f = steady_fit();
    let none = simulate(&f, &assumptions(1, 5.0, vec![]));
    assert!(none.is_empty());
    let zero_runs = simulate(
        &f,
        &Assumptions {
            runs: 0,
            ..assumptions(1, 5.0, vec![stage("a", 1.0, 1)])
        },
    );
    assert_eq!(zero_runs[0].counted_cases, 0);
    assert_eq!(zero_runs[0].breach_probability, 0.0);
    let quiet = Fit {
        events_per_month: 0.0,
        ..f.clone()
    };
    let r = simulate(&quiet, &assumptions(1, 5.0, vec![stage("a", 1.0, 1)]));
    assert_eq!(r[0].counted_cases, 0);
}

// ---------------------------------------------------------------- 7. determinism, report

#[test]
fn same_seed_same_forecast_and_a_readable_report() {
    let f = steady_fit();
    let a = assumptions(
        2,
        5.0,
        vec![
            Stage {
                key: "acknowledge".into(),
                label: "Acknowledge a report".into(),
                effort_hours: 0.5,
                target_business_days: 1,
            },
            stage("assess", 1.0, 5),
        ],
    );
    let first = forecast(&f, &a).unwrap();
    let second = forecast(&f, &a).unwrap();
    assert_eq!(first, second);
    assert_eq!(first.to_string(), second.to_string());
    assert!(first.stages[0].breach_probability > 0.0);
    let other = forecast(
        &f,
        &Assumptions {
            seed: 8,
            ..a.clone()
        },
    )
    .unwrap();
    assert_ne!(first.stages, other.stages);

    let text = first.to_string();
    for needle in [
        "Capacity forecast",
        "Expected load:",
        "Cases per month:",
        "Cases per member per month:",
        "Utilisation:",
        "Stage",
        "Target",
        "Breach probability",
        "Median",
        "90th percentile",
        "Acknowledge a report",
        "Stage assess",
        "Members needed for a breach probability of at most 5.0% at every stage:",
        "Method and assumptions:",
        "  - Arrivals are a compound (bursty) Poisson process",
        "21 per month and 5 per week",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    assert!(text.contains(&format!("{:.2}", first.cases_per_member_per_month)));
    for sentence in &first.method {
        assert!(text.contains(&format!("  - {sentence}\n")));
    }

    let json = serde_json::to_value(&first).unwrap();
    assert_eq!(json["assumptions"]["members"], 2);
    assert_eq!(
        json["members_needed"],
        serde_json::json!(first.members_needed)
    );
    assert_eq!(
        serde_json::to_value(EventKind::Disclosure).unwrap(),
        serde_json::json!("disclosure")
    );
}
