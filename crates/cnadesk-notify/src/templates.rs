//! The messages cnadesk writes, as minijinja templates: a plain-text form
//! (which also sets the subject, and the one-line chat form for XMPP) and an
//! HTML form for each. Details of an unpublished vulnerability are always
//! under the context key `details`; the sender removes that key when the
//! message cannot be encrypted and the policy forbids plain details, and the
//! templates then say "sign in to read it" instead.

use minijinja::{Environment, Value};
use serde_json::Value as Json;

/// Every message template, by name.
pub const TEMPLATES: [&str; 12] = [
    "report_ack",
    "report_stage",
    "team_message",
    "cve_assigned",
    "advisory_published",
    "vendor_invitation",
    "vendor_reminder",
    "embargo_changed",
    "vendor_event",
    "sla_alert",
    "member_event",
    "member_invitation",
];

macro_rules! sources {
    ($($name:literal),* $(,)?) => {
        &[$(
            (concat!($name, ".txt"), include_str!(concat!("../templates/", $name, ".txt"))),
            (concat!($name, ".html"), include_str!(concat!("../templates/", $name, ".html"))),
        )*]
    };
}

const SOURCES: &[(&str, &str)] = sources!(
    "report_ack",
    "report_stage",
    "team_message",
    "cve_assigned",
    "advisory_published",
    "vendor_invitation",
    "vendor_reminder",
    "embargo_changed",
    "vendor_event",
    "sla_alert",
    "member_event",
    "member_invitation",
);

/// A rendered message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    /// One line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body.
    pub html: String,
    /// One line for chat (the subject when the template has no chat form).
    pub chat: String,
}

/// A template could not be rendered.
#[derive(Debug, thiserror::Error)]
#[error("template {name}: {message}")]
pub struct RenderError {
    /// Which.
    pub name: String,
    /// Why.
    pub message: String,
}

/// The compiled templates.
pub struct Templates {
    env: Environment<'static>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates").finish_non_exhaustive()
    }
}

impl Default for Templates {
    fn default() -> Self {
        Self::new()
    }
}

impl Templates {
    /// Compiles the built-in templates (they are checked by the tests, so
    /// this cannot fail at run time).
    pub fn new() -> Self {
        let mut env = Environment::new();
        // A missing value is a bug in the caller, not an empty string.
        env.set_undefined_behavior(minijinja::UndefinedBehavior::SemiStrict);
        env.add_template("layout.html", include_str!("../templates/layout.html"))
            .expect("layout compiles");
        for (name, source) in SOURCES {
            env.add_template(name, source).expect("template compiles");
        }
        Templates { env }
    }

    /// Renders template `name` with `context` (a JSON object).
    pub fn render(&self, name: &str, context: &Json) -> Result<Rendered, RenderError> {
        let err = |e: minijinja::Error| RenderError {
            name: name.to_owned(),
            message: format!("{e:#}"),
        };
        if !TEMPLATES.contains(&name) {
            return Err(RenderError {
                name: name.to_owned(),
                message: "no such template".into(),
            });
        }
        let ctx = Value::from(minijinja::value::Serde(context));
        let text = self.env.get_template(&format!("{name}.txt")).map_err(err)?;
        let captured = text.render_captured(ctx.clone()).map_err(err)?;
        let lookup = |key: &str| {
            captured
                .state()
                .lookup(key)
                .filter(|v| !v.is_undefined())
                .map(|v| one_line(&v.to_string()))
        };
        let subject = lookup("subject").ok_or_else(|| RenderError {
            name: name.to_owned(),
            message: "the template sets no subject".into(),
        })?;
        let chat = lookup("chat").unwrap_or_else(|| subject.clone());
        let text = tidy(captured.output());
        let mut with_subject = context.clone();
        if let Json::Object(map) = &mut with_subject {
            map.insert("subject".into(), Json::String(subject.clone()));
        }
        let html = self
            .env
            .get_template(&format!("{name}.html"))
            .map_err(err)?
            .render(Value::from(minijinja::value::Serde(&with_subject)))
            .map_err(err)?;
        Ok(Rendered {
            subject,
            text,
            html,
            chat,
        })
    }
}

/// Collapses whitespace (a subject or chat line is one line).
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Trailing spaces removed, at most one blank line in a row, one final newline.
fn tidy(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank = 0;
    for line in s.trim_start_matches('\n').lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> Json {
        json!({
            "cna_name": "XSF CNA",
            "desk_url": "https://cna.xmpp.example",
        })
    }

    fn with(extra: Json) -> Json {
        let mut ctx = base();
        ctx.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        ctx
    }

    fn samples() -> Vec<(&'static str, &'static str, Json)> {
        let details = json!({"title": "Carbons spoofing <script>", "product": "Prosody",
                              "author": "Ada (XSF CNA)", "body": "Can you confirm 0.12.4?\nThanks"});
        vec![
            (
                "report_ack",
                "with_link",
                with(json!({"report": 12, "reporter_name": "Mallory",
                "received": "2026-11-25 09:00 UTC", "tracking_link": "https://cna.xmpp.example/track/abc",
                "details": details.clone(), "targets": {"acknowledge": "2 business days",
                "triage": "5 business days", "cve_decision": "10 business days"}})),
            ),
            (
                "team_message",
                "encrypted",
                with(json!({"report": 12, "details": details.clone()})),
            ),
            ("team_message", "notice", with(json!({"report": 12}))),
            (
                "report_stage",
                "accepted",
                with(json!({"report": 12, "stage": "accepted",
                "text": "we confirmed the vulnerability you reported and opened a case for it."})),
            ),
            (
                "cve_assigned",
                "details",
                with(json!({"report": 12, "cve_id": "CVE-2026-0001", "details": details.clone()})),
            ),
            (
                "advisory_published",
                "credited",
                with(json!({"cve_id": "CVE-2026-0001",
                "advisory_url": "https://cna.xmpp.example/advisories/CVE-2026-0001",
                "cve_record_url": "https://www.cve.org/CVERecord?id=CVE-2026-0001", "credit": "Mallory"})),
            ),
            (
                "vendor_invitation",
                "details",
                with(
                    json!({"case": 4, "contact_name": "Kim", "product": "Prosody",
                "details": details.clone(), "embargo_end": "2026-12-31 12:00", "invitation_link": "https://cna.xmpp.example/invite/xyz",
                "expires": "2026-12-09"}),
                ),
            ),
            (
                "vendor_reminder",
                "plain",
                with(
                    json!({"case": 4, "product": "Prosody", "invited": "2026-11-20",
                "embargo_end": "2026-12-31 12:00", "case_link": "https://cna.xmpp.example/vendor/cases/4"}),
                ),
            ),
            (
                "embargo_changed",
                "plain",
                with(json!({"case": 4, "previous_end": "2026-12-31 12:00",
                "embargo_end": "2027-01-14 12:00", "reason": "Two vendors need a release", "case_link": "https://cna.xmpp.example/desk/cases/4"})),
            ),
            (
                "vendor_event",
                "plain",
                with(
                    json!({"case": 4, "contact_name": "Kim", "headline": "New message from the coordinator",
                "case_link": "https://cna.xmpp.example/vendor/cases/4"}),
                ),
            ),
            (
                "sla_alert",
                "warning",
                with(
                    json!({"member": "Ada", "level_title": "Warning", "level_text":
                "75 % of the time for this commitment has passed.", "target": "triage", "subject_ref": "report #12",
                "message": "Triage: 75% of the target used", "link": "https://cna.xmpp.example/desk/reports/12"}),
                ),
            ),
            (
                "member_invitation",
                "plain",
                with(
                    json!({"display_name": "Bob <b>", "username": "bob", "role": "member",
                "invited_by": "ada", "invitation_link": "https://cna.xmpp.example/invitation/xyz",
                "expires": "2026-12-09 10:00"}),
                ),
            ),
            (
                "member_event",
                "no_details",
                with(
                    json!({"member": "Ada", "headline": "Case #4 assigned to you",
                "link": "https://cna.xmpp.example/desk/cases/4", "settings_link": "https://cna.xmpp.example/desk/settings/notifications"}),
                ),
            ),
        ]
    }

    #[test]
    fn every_template_renders_and_matches_its_snapshot() {
        let templates = Templates::new();
        let mut seen = std::collections::BTreeSet::new();
        for (name, variant, ctx) in samples() {
            let r = templates.render(name, &ctx).unwrap();
            seen.insert(name);
            assert!(!r.subject.contains('\n'));
            assert!(!r.chat.contains('\n'));
            insta::assert_snapshot!(
                format!("{name}__{variant}"),
                format!(
                    "Subject: {}\nChat: {}\n\n{}\n---- html ----\n{}",
                    r.subject, r.chat, r.text, r.html
                )
            );
        }
        assert_eq!(seen.len(), TEMPLATES.len(), "a template has no sample");
    }

    #[test]
    fn html_is_escaped_and_text_is_not() {
        let ctx = with(json!({"report": 1, "details": {"author": "A", "body": "<b>hi</b> & bye"}}));
        let r = Templates::new().render("team_message", &ctx).unwrap();
        assert!(
            r.html.contains("&lt;b&gt;hi&lt;&#x2f;b&gt; &amp; bye")
                || r.html.contains("&lt;b&gt;hi&lt;/b&gt; &amp; bye"),
            "{}",
            r.html
        );
        assert!(r.text.contains("<b>hi</b> & bye"));
    }

    #[test]
    fn without_details_nothing_of_them_is_written() {
        let t = Templates::new();
        let secret = "Carbons spoofing in Prosody";
        for (name, _, mut ctx) in samples() {
            ctx.as_object_mut().unwrap().insert(
                "details".into(),
                json!({"title": secret, "product": secret, "author": secret, "body": secret}),
            );
            let with = t.render(name, &ctx).unwrap();
            let detailed = [
                "report_ack",
                "team_message",
                "cve_assigned",
                "vendor_invitation",
                "sla_alert",
                "member_event",
            ];
            assert_eq!(
                with.text.contains(secret),
                detailed.contains(&name),
                "{name}: details shown when given (and only where they belong)"
            );
            ctx.as_object_mut().unwrap().remove("details");
            let without = t.render(name, &ctx).unwrap();
            for part in [
                &without.subject,
                &without.text,
                &without.html,
                &without.chat,
            ] {
                assert!(!part.contains(secret), "{name} leaks details without them");
            }
        }
    }

    #[test]
    fn unknown_templates_and_missing_values_are_errors() {
        let t = Templates::new();
        assert!(t
            .render("nope", &base())
            .unwrap_err()
            .to_string()
            .contains("no such template"));
        let err = t.render("member_event", &base()).unwrap_err();
        assert!(err.to_string().contains("member_event"), "{err}");
    }
}
