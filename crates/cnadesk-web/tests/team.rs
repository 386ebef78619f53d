//! A team, not a volunteer: fair automatic assignment that skips the absent
//! and the recused, clocks that warn and hand work on, offers of an absent
//! member's cases, and the figures on the dashboard and `/stats`.

mod support;

use axum::http::StatusCode;
use cnadesk_core::audit::AuditAction;
use cnadesk_core::team::Profile;
use cnadesk_core::{Actor, CaseId, ReportId, Role, UserId};
use cnadesk_store::prelude::*;
use support::{accept_as_case, api_report, api_report_about, TestApp};

/// The form was accepted: redirected to `to`, not to the sign-in page.
fn done(r: &support::Reply, to: &str) {
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(
        r.location().starts_with(to),
        "{} (expected {to})",
        r.location()
    );
}

fn at(s: &str) -> jiff::Timestamp {
    s.parse().unwrap()
}

async fn profile(app: &TestApp, user: UserId, tz: &str, capacity: i64) {
    let mut p = Profile::empty(user);
    p.time_zone = tz.into();
    p.capacity = capacity;
    app.store
        .save_profile(p, &Actor::system("test"), 0)
        .await
        .unwrap();
}

#[tokio::test]
async fn new_cases_go_fairly_and_never_to_the_absent_or_recused_member() {
    let app = TestApp::new().await;
    app.clock.set(at("2026-11-30T09:00:00Z")); // a Monday
    let mut ada = app.signed_in("ada", Role::Admin).await;
    let mut bo = app.signed_in("bo", Role::Member).await;
    let mut cy = app.signed_in("cy", Role::Member).await;
    let dee = app.user("dee", Role::Member).await;
    let id = |name: &str| {
        let store = app.store.clone();
        let name = name.to_owned();
        async move {
            store
                .user_credentials(&name)
                .await
                .unwrap()
                .unwrap()
                .user
                .id
        }
    };
    let (ada_id, bo_id, cy_id) = (id("ada").await, id("bo").await, id("cy").await);
    profile(&app, ada_id, "Europe/Berlin", 3).await;
    profile(&app, bo_id, "America/New_York", 3).await;
    profile(&app, cy_id, "Asia/Tokyo", 3).await;
    profile(&app, dee.id, "Australia/Sydney", 3).await;

    // bo is out of office; a backwards period is refused and kept.
    let r = bo
        .submit(
            "/desk/team",
            "/desk/team/absences",
            &[
                ("kind", "out_of_office"),
                ("starts_on", "2026-12-04"),
                ("ends_on", "2026-11-28"),
                ("note", "FOSDEM prep"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("The last day is before the first day."));
    assert!(r.body.contains("value=\"FOSDEM prep\""), "kept");
    let r = bo
        .submit(
            "/desk/team",
            "/desk/team/absences",
            &[
                ("kind", "out_of_office"),
                ("starts_on", "2026-11-28"),
                ("ends_on", "2026-12-04"),
                ("note", "FOSDEM prep"),
            ],
        )
        .await;
    done(&r, "/desk/team#absences");

    // cy works on Prosody; an ambiguous or unknown name is refused.
    let r = cy
        .submit(
            "/desk/team",
            "/desk/team/affiliations",
            &[("relation", "works_on"), ("product", "Swift")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("matches several products"), "{}", r.body);
    let r = cy
        .submit(
            "/desk/team",
            "/desk/team/affiliations",
            &[
                ("relation", "works_on"),
                ("product", "No Such Messenger 9000"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = cy
        .submit(
            "/desk/team",
            "/desk/team/affiliations",
            &[("relation", "works_on"), ("product", "Prosody")],
        )
        .await;
    done(&r, "/desk/team#affiliations");
    let roster = ada.get("/desk/team").await.body;
    assert!(
        roster.contains("works on Prosody IM"),
        "affiliations are visible to the team"
    );
    assert!(roster.contains("out of office until 2026-12-04"));
    assert!(roster.contains("America/New_York"));

    // Three Prosody cases: never bo (away) nor cy (recused); ada and dee take turns.
    let mut assignees = Vec::new();
    for n in 0..3 {
        let (_, rid) = api_report(
            &app,
            &format!("Carbons {n}"),
            "Message carbons from any sender are accepted by Prosody.",
        )
        .await;
        app.clock.advance(jiff::SignedDuration::from_mins(1));
        let case = accept_as_case(&app, &mut ada, rid, &format!("Carbons {n}")).await;
        let case = app.store.case(CaseId(case)).await.unwrap().unwrap();
        assignees.push(case.assignee);
        if n == 0 {
            assert_eq!(
                case.assignment_reason.as_deref(),
                Some("assigned automatically to ada: 0 of 3 open cases, the lowest load; skipped bo (out of office until 2026-12-04), cy (recused: works on Prosody IM)")
            );
            let page = ada.get(&format!("/desk/reports/{rid}")).await.body;
            assert!(
                page.contains("skipped bo (out of office until 2026-12-04)"),
                "the reason is visible"
            );
            assert!(
                page.contains("cy: works on Prosody IM (declared affiliation"),
                "who is recused and why"
            );
            // cy cannot take it, and cannot be given it.
            let r = cy
                .submit(
                    &format!("/desk/reports/{rid}"),
                    &format!("/desk/cases/{}/take", case.id.0),
                    &[],
                )
                .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            let r = ada
                .submit(
                    &format!("/desk/reports/{rid}"),
                    &format!("/desk/cases/{}/assign", case.id.0),
                    &[
                        ("assignee", &cy_id.0.to_string()),
                        ("reason", "she knows it best"),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(r.body.contains("recused"));
        }
    }
    assert_eq!(assignees, vec![Some(ada_id), Some(dee.id), Some(ada_id)]);
    let recusals = app.store.recusals(None).await.unwrap();
    assert_eq!(recusals.len(), 3);
    assert!(recusals.iter().all(|r| r.user == cy_id));

    // A member may recuse themself; the assignee who does is unassigned.
    let first = app
        .store
        .list_cases(Default::default())
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.assignee == Some(dee.id))
        .unwrap();
    let mut dee_b = app.sign_in("dee").await;
    let page = format!("/desk/reports/{}", first.report_id.0);
    let r = dee_b
        .submit(
            &page,
            &format!("/desk/cases/{}/recuse", first.id.0),
            &[("reason", "")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = dee_b
        .submit(
            &page,
            &format!("/desk/cases/{}/recuse", first.id.0),
            &[("reason", "I reported a related bug to them")],
        )
        .await;
    done(&r, "/desk/reports/");
    assert_eq!(
        app.store.case(first.id).await.unwrap().unwrap().assignee,
        None
    );
}

#[tokio::test]
async fn clocks_warn_then_hand_on_across_a_weekend_and_absent_members_cases_are_offered() {
    let app = TestApp::new().await;
    app.clock.set(at("2026-11-22T12:00:00Z")); // Sunday, before the rota begins
    let mut ada = app.signed_in("ada", Role::Admin).await;
    let bo = app.user("bo", Role::Member).await;
    let cy = app.user("cy", Role::Member).await;
    let r = ada
        .submit(
            "/desk/rota",
            "/desk/rota/plan",
            &[("start", "2026-11-20"), ("order", "ada"), ("count", "1")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("cannot change shifts that have begun"),
        "{}",
        r.body
    );
    // Weekly shifts from Monday 23 November: ada, bo, cy.
    let r = ada
        .submit(
            "/desk/rota",
            "/desk/rota/plan",
            &[
                ("start", "2026-11-23"),
                ("order", "ada bo cy"),
                ("count", "3"),
            ],
        )
        .await;
    done(&r, "/desk/rota");
    let r = ada
        .submit(
            "/desk/rota",
            "/desk/rota/plan",
            &[
                ("start", "2026-11-23"),
                ("order", "ada nobody"),
                ("count", "3"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("“nobody” is not an active member"));
    app.clock.set(at("2026-11-27T09:00:00Z")); // Friday

    // A report on Friday 09:00: acknowledge within 2 business days = Tuesday 09:00.
    let (_, rid) = api_report(
        &app,
        "Roster leak",
        "The roster is sent to any entity that asks for it.",
    )
    .await;
    let rid = ReportId(rid);
    app.clock.set(at("2026-11-30T12:00:00Z")); // Monday noon: 27 h of 48
    let _signed_in_again = app.sign_in("ada").await;
    assert_eq!(
        cnadesk_app::team::sweep(&app.state).await.unwrap(),
        cnadesk_app::team::Sweep::default()
    );
    app.clock.set(at("2026-11-30T22:00:00Z")); // 37 h: 77 %, past the 75 % warning
    let s = cnadesk_app::team::sweep(&app.state).await.unwrap();
    assert_eq!(
        (s.warnings, s.escalations, s.breaches),
        (1, 0, 0),
        "acknowledge only (triage has 5 business days): {s:?}"
    );
    let events = app.store.audit_events_for_report(rid).await.unwrap();
    let warned: Vec<_> = events
        .iter()
        .filter(|e| e.is(AuditAction::SlaWarned))
        .collect();
    assert_eq!(warned.len(), 1);
    assert_eq!(
        warned[0].payload["to"], bo.id.0,
        "the member on call this week is told"
    );
    app.clock.set(at("2026-12-01T05:00:00Z")); // Tuesday 05:00: 44 h, past 90 %
    let s = cnadesk_app::team::sweep(&app.state).await.unwrap();
    assert_eq!(s.escalations, 1, "{s:?}");
    let escalated = app
        .store
        .audit_events_for_report(rid)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.is(AuditAction::SlaEscalated))
        .unwrap();
    assert_eq!(
        escalated.payload["offered_to"], cy.id.0,
        "handed on to the next member on call"
    );
    let cy_dash = app.sign_in("cy").await.get("/desk/dashboard").await.body;
    assert!(
        cy_dash.contains("handed on to the next member on call"),
        "the member it is handed to sees it: {cy_dash}"
    );
    app.clock.set(at("2026-12-01T09:30:00Z"));
    let s = cnadesk_app::team::sweep(&app.state).await.unwrap();
    assert_eq!(s.breaches, 1);
    assert_eq!(
        cnadesk_app::team::sweep(&app.state).await.unwrap(),
        cnadesk_app::team::Sweep::default(),
        "each alert once"
    );

    // Pausing while waiting on the reporter (a fresh session: a day passed).
    let mut ada = app.sign_in("ada").await;
    let page = format!("/desk/reports/{}", rid.0);
    let r = ada
        .submit(
            &page,
            &format!("{page}/clock"),
            &[("action", "pause"), ("note", "asked for a PoC")],
        )
        .await;
    done(&r, "/desk/reports/");
    let r = ada
        .submit(
            &page,
            &format!("{page}/clock"),
            &[("action", "pause"), ("note", "")],
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "already paused: {:?}",
        app.store
            .audit_events_for_report(rid)
            .await
            .unwrap()
            .iter()
            .map(|e| (e.action.clone(), e.occurred_at_ms))
            .collect::<Vec<_>>()
    );
    assert!(ada
        .get(&page)
        .await
        .body
        .contains("paused (waiting on the reporter)"));

    // A case whose assignee goes away is offered to another member, who takes it.
    let case = accept_as_case(&app, &mut ada, rid.0, "Roster leak").await;
    let case = app.store.case(CaseId(case)).await.unwrap().unwrap();
    let holder = case.assignee.unwrap();
    let away = cnadesk_core::team::Absence {
        id: 0,
        user: holder,
        kind: cnadesk_core::team::AbsenceKind::OutOfOffice,
        starts_on: "2026-12-01".parse().unwrap(),
        ends_on: "2026-12-11".parse().unwrap(),
        note: String::new(),
    };
    let first = app
        .store
        .add_absence(away.clone(), &Actor::system("test"), 0)
        .await
        .unwrap();
    assert_eq!(
        cnadesk_app::team::sweep(&app.state).await.unwrap().offered,
        1
    );
    // The holder comes back early: the offer lapses.
    app.store
        .remove_absence(first.id, holder, &Actor::system("test"), 0)
        .await
        .unwrap();
    assert!(cnadesk_app::team::open_offers(&app.state, None)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        cnadesk_app::team::sweep(&app.state).await.unwrap().offered,
        0
    );
    // Away again: offered again.
    app.store
        .add_absence(
            cnadesk_core::team::Absence {
                id: 0,
                user: holder,
                kind: cnadesk_core::team::AbsenceKind::OutOfOffice,
                starts_on: "2026-12-01".parse().unwrap(),
                ends_on: "2026-12-11".parse().unwrap(),
                note: String::new(),
            },
            &Actor::system("test"),
            0,
        )
        .await
        .unwrap();
    // The earlier offer stands again; no second one is made.
    assert_eq!(
        cnadesk_app::team::sweep(&app.state).await.unwrap().offered,
        0
    );
    let offers = cnadesk_app::team::open_offers(&app.state, None)
        .await
        .unwrap();
    assert_eq!(offers.len(), 1);
    let to = offers[0].to;
    assert_ne!(to, holder);
    let name = app.store.user(to).await.unwrap().unwrap().username;
    let mut taker = app.sign_in(&name).await;
    let dash = taker.get("/desk/dashboard").await.body;
    assert!(dash.contains("Offered to you"), "{dash}");
    assert!(dash.contains("out of office until 2026-12-11"));
    let r = taker
        .submit(&page, &format!("/desk/cases/{}/take", case.id.0), &[])
        .await;
    done(&r, "/desk/reports/");
    let taken = app.store.case(case.id).await.unwrap().unwrap();
    assert_eq!(taken.assignee, Some(to));
    assert!(taken
        .assignment_reason
        .unwrap()
        .contains("took the case offered"));
    assert!(cnadesk_app::team::open_offers(&app.state, None)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn the_dashboard_and_the_public_statistics_show_real_figures() {
    let app = TestApp::new().await;
    app.clock.set(at("2026-11-23T08:00:00Z")); // Monday
    let mut mia = app.signed_in("mia", Role::Member).await;
    let (_, answered) = api_report_about(
        &app,
        "Prosody",
        "Answered",
        "A description that is long enough.",
    )
    .await;
    let (_, ignored) = api_report_about(
        &app,
        "Prosody",
        "Ignored",
        "A description that is long enough.",
    )
    .await;
    // One is acknowledged after 2 hours; the other never.
    app.clock.set(at("2026-11-23T10:00:00Z"));
    let page = format!("/desk/reports/{answered}");
    let r = mia
        .submit(
            &page,
            &format!("{page}/messages"),
            &[
                ("visibility", "reporter"),
                ("body", "Thank you, we are looking into it."),
            ],
        )
        .await;
    done(&r, "/desk/reports/");
    app.clock.set(at("2026-11-27T10:00:00Z")); // Friday: the other is 4 business days old
    cnadesk_app::team::sweep(&app.state).await.unwrap();
    // While the quarter runs, the public sees none of it.
    let running = app.browser().get("/stats").await.body;
    assert!(
        !running.contains("q-2026-Q4"),
        "a running quarter is not shown"
    );
    assert!(running.contains("No finished quarter yet."));

    app.clock.set(at("2027-01-04T10:00:00Z"));
    let mut mia = app.sign_in("mia").await;
    let stats = app.browser().get("/stats").await;
    assert_eq!(stats.status, StatusCode::OK);
    let row = stats
        .body
        .split("id=\"q-2026-Q4\"")
        .nth(1)
        .unwrap()
        .split("</tr>")
        .next()
        .unwrap()
        .to_owned();
    assert!(row.contains("<td class=\"reports\">2</td>"), "{row}");
    // Acknowledge: 1 of 2 on time, 1 missed; median 2 h = 0.1 business days.
    assert!(
        row.contains("50% <span class=\"muted\">of 2</span>"),
        "{row}"
    );
    assert!(row.contains("<td>0.1</td>"), "{row}");
    assert!(stats.body.contains("target 2 business days"));
    assert!(stats.body.contains("<svg"), "charts are inline SVG");

    let dash = mia.get("/desk/dashboard").await;
    assert_eq!(dash.status, StatusCode::OK);
    assert!(dash.body.contains("<svg"));
    assert!(
        dash.body.contains("Acknowledge a report"),
        "a clock at risk is listed"
    );
    assert!(dash.body.contains(&format!("REP-{ignored}")));

    // The forecast page: a pasted history, and a broken one kept with its error.
    let r = mia
        .submit(
            "/desk/forecast",
            "/desk/forecast",
            &[
                ("members", "3"),
                ("hours", "4"),
                (
                    "history",
                    "date,kind,cases\n2025-01-01,report,1\n2025-12-01,disclosure,12\n",
                ),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body.contains("2 events bringing 13 cases over 12 months"),
        "{}",
        r.body
    );
    let r = mia
        .submit(
            "/desk/forecast",
            "/desk/forecast",
            &[
                ("members", "3"),
                ("history", "date,kind,cases\n2025-01-01,gossip,1\n"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("line 2"), "{}", r.body);
    assert!(r.body.contains("2025-01-01,gossip,1"), "kept");
}
