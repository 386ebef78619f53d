//! Every route of the application, as data: each registration records a
//! [`RouteSpec`] (method, path, who may use it, how it resists forged
//! cross-site requests) while adding the handler to the router, so the
//! table ([`routes`]) and the router ([`crate::router`]) cannot drift apart.
//!
//! A `POST` route is registered only for a handler whose last argument
//! checks the anti-forgery token ([`CsrfChecking`]): [`CsrfForm`] and the
//! other extractors of [`crate::extract`]. The JSON API is the one route
//! registered as exempt, by name.
//!
//! [`CsrfForm`]: crate::extract::CsrfForm

use std::sync::OnceLock;

use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::routing::{get, post, MethodRouter};
use axum::Router;

use crate::extract::{CsrfChecking, CsrfRule, RequestBody};
use crate::{account, admin, api, desk, public, vendor, AppState, FORM_BODY_LIMIT};

/// Who may use a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    /// Anyone.
    Public,
    /// Signed-in members and admins.
    Member,
    /// Admins only.
    Admin,
    /// Only a session whose second factor is pending.
    Pending,
    /// Only with the right private token in the URL.
    Token,
    /// Signed-in vendor contacts (the vendor portal; which cases and rows
    /// each reaches is the handlers' business).
    Vendor,
    /// The team API: a personal API token in `Authorization: Bearer`, never
    /// a session (what each token may do is its scopes').
    Bearer,
}

/// The HTTP method of a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RouteMethod {
    /// `GET` (and `HEAD`).
    Get,
    /// `POST`.
    Post,
}

impl RouteMethod {
    /// `GET` or `POST`.
    pub fn as_str(self) -> &'static str {
        match self {
            RouteMethod::Get => "GET",
            RouteMethod::Post => "POST",
        }
    }
}

/// One registered route.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RouteSpec {
    /// The method.
    pub method: RouteMethod,
    /// The path as registered (`/desk/cases/{id}`).
    pub path: &'static str,
    /// Who may use it.
    pub access: Access,
    /// How a forged cross-site request is refused ([`CsrfRule::Safe`] for
    /// every `GET`).
    pub csrf: CsrfRule,
    /// The request body it reads.
    pub body: RequestBody,
}

/// Every route of the application, in registration order.
pub fn routes() -> &'static [RouteSpec] {
    static ROUTES: OnceLock<Vec<RouteSpec>> = OnceLock::new();
    ROUTES.get_or_init(|| build(FORM_BODY_LIMIT).specs)
}

/// The last argument of a handler: axum's `Handler<T, S>` is implemented
/// for `T = (M, T1, …, Tn)`, the extractors in order after a marker.
pub trait LastArgument {
    /// The last extractor (the one that reads the body).
    type Last;
}

macro_rules! last_argument {
    ($($ty:ident),* ; $last:ident) => {
        impl<M, $($ty,)* $last> LastArgument for (M, $($ty,)* $last,) {
            type Last = $last;
        }
    };
}

last_argument!(; T1);
last_argument!(T1; T2);
last_argument!(T1, T2; T3);
last_argument!(T1, T2, T3; T4);
last_argument!(T1, T2, T3, T4; T5);
last_argument!(T1, T2, T3, T4, T5; T6);
last_argument!(T1, T2, T3, T4, T5, T6; T7);
last_argument!(T1, T2, T3, T4, T5, T6, T7; T8);
last_argument!(T1, T2, T3, T4, T5, T6, T7, T8; T9);
last_argument!(T1, T2, T3, T4, T5, T6, T7, T8, T9; T10);

/// Routes being registered, and their specs.
struct Table {
    router: Router<AppState>,
    specs: Vec<RouteSpec>,
}

impl Table {
    fn new() -> Self {
        Self {
            router: Router::new(),
            specs: Vec::new(),
        }
    }

    fn add(mut self, spec: RouteSpec, method_router: MethodRouter<AppState>) -> Self {
        self.router = self.router.route(spec.path, method_router);
        self.specs.push(spec);
        self
    }

    /// A `GET` route.
    fn get<H, T>(self, path: &'static str, access: Access, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let spec = RouteSpec {
            method: RouteMethod::Get,
            path,
            access,
            csrf: CsrfRule::Safe,
            body: RequestBody::Empty,
        };
        self.add(spec, get(handler))
    }

    /// A `POST` route whose handler reads its body through an extractor
    /// that checks the anti-forgery token (which also tells the rule).
    fn post<H, T>(self, path: &'static str, access: Access, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: LastArgument + 'static,
        T::Last: CsrfChecking,
    {
        self.add(post_spec::<T>(path, access), post(handler))
    }

    /// [`Table::post`] with a body limit of its own.
    fn post_with_limit<H, T>(
        self,
        path: &'static str,
        access: Access,
        limit: DefaultBodyLimit,
        handler: H,
    ) -> Self
    where
        H: Handler<T, AppState>,
        T: LastArgument + 'static,
        T::Last: CsrfChecking,
    {
        self.add(post_spec::<T>(path, access), post(handler).layer(limit))
    }

    /// A `POST` route that takes no form token ([`CsrfRule::Exempt`]).
    fn post_exempt<H, T>(
        self,
        path: &'static str,
        access: Access,
        body: RequestBody,
        limit: DefaultBodyLimit,
        handler: H,
    ) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let spec = RouteSpec {
            method: RouteMethod::Post,
            path,
            access,
            csrf: CsrfRule::Exempt,
            body,
        };
        self.add(spec, post(handler).layer(limit))
    }
}

fn post_spec<T>(path: &'static str, access: Access) -> RouteSpec
where
    T: LastArgument,
    T::Last: CsrfChecking,
{
    RouteSpec {
        method: RouteMethod::Post,
        path,
        access,
        csrf: <T::Last as CsrfChecking>::RULE,
        body: <T::Last as CsrfChecking>::BODY,
    }
}

/// The routes in their three groups, and the table of all.
pub(crate) struct Routes {
    /// The public site: no forms, no cookies, cacheable.
    pub public_site: Router<AppState>,
    /// The JSON API: no cookies, no form tokens.
    pub api: Router<AppState>,
    /// Everything else.
    pub desk: Router<AppState>,
    /// Every route of both.
    pub specs: Vec<RouteSpec>,
}

/// Registers every route; `api_body_limit` is the JSON API's body limit.
pub(crate) fn build(api_body_limit: usize) -> Routes {
    use Access::*;
    let public_site = Table::new()
        .get("/advisories", Public, public::advisories::index)
        .get("/advisories.atom", Public, public::advisories::feed)
        .get("/advisories/{name}", Public, public::advisories::advisory)
        .get("/policy", Public, public::advisories::policy)
        .get("/contact", Public, public::advisories::contact)
        .get(
            "/.well-known/security.txt",
            Public,
            public::advisories::security_txt_route,
        )
        .get("/transparency", Public, public::transparency::page)
        .get(
            "/transparency/log.jsonl",
            Public,
            public::transparency::log_route,
        )
        .get(
            "/transparency/head",
            Public,
            public::transparency::head_route,
        )
        .get("/scope", Public, public::scope_page)
        .get("/stats", Public, public::stats);
    // JSON in and out, with a personal API token or (to submit a report)
    // none; never a cookie, so no form token. Reports take attachments
    // inline (base64): the configured limit.
    let json = |limit: usize| DefaultBodyLimit::max(limit);
    let api = Table::new()
        .post_exempt(
            "/api/v1/reports",
            Public,
            RequestBody::Json,
            json(api_body_limit),
            api::create_report,
        )
        .get("/api/v1/me", Bearer, api::me)
        .get("/api/v1/reports", Bearer, api::list_reports)
        .get("/api/v1/reports/{id}", Bearer, api::get_report)
        .post_exempt(
            "/api/v1/reports/{id}/accept",
            Bearer,
            RequestBody::Json,
            json(FORM_BODY_LIMIT),
            api::accept_report,
        )
        .post_exempt(
            "/api/v1/reports/{id}/close",
            Bearer,
            RequestBody::Json,
            json(FORM_BODY_LIMIT),
            api::close_report,
        )
        .post_exempt(
            "/api/v1/reports/{id}/scope",
            Bearer,
            RequestBody::Json,
            json(FORM_BODY_LIMIT),
            api::decide_scope,
        )
        .get("/api/v1/cases", Bearer, api::list_cases)
        .get("/api/v1/cases/{id}", Bearer, api::get_case)
        .get(
            "/api/v1/cases/{id}/record/versions",
            Bearer,
            api::record_versions,
        )
        .post_exempt(
            "/api/v1/cases/{id}/record/versions",
            Bearer,
            RequestBody::Json,
            json(FORM_BODY_LIMIT),
            api::save_record,
        )
        .post_exempt(
            "/api/v1/cases/{id}/record/check",
            Bearer,
            RequestBody::Json,
            json(FORM_BODY_LIMIT),
            api::check_record,
        )
        .post_exempt(
            "/api/v1/cases/{id}/record/versions/{version}/approve",
            Bearer,
            RequestBody::Empty,
            json(FORM_BODY_LIMIT),
            api::approve_version,
        )
        .post_exempt(
            "/api/v1/cases/{id}/record/versions/{version}/publish",
            Bearer,
            RequestBody::Empty,
            json(FORM_BODY_LIMIT),
            api::publish_version,
        )
        .get("/api/v1/cases/{id}/cve", Bearer, api::case_cve)
        .post_exempt(
            "/api/v1/cases/{id}/cve/reserve",
            Bearer,
            RequestBody::Json,
            json(FORM_BODY_LIMIT),
            api::reserve_ids,
        )
        .get(
            "/api/v1/cases/{id}/coordination",
            Bearer,
            api::case_coordination,
        )
        .post_exempt(
            "/api/v1/cases/{id}/embargo",
            Bearer,
            RequestBody::Json,
            json(FORM_BODY_LIMIT),
            api::set_embargo,
        )
        .post_exempt(
            "/api/v1/cases/{id}/vendors",
            Bearer,
            RequestBody::Json,
            json(FORM_BODY_LIMIT),
            api::invite_vendor,
        );
    let desk = Table::new()
        .get("/", Public, public::home)
        .get("/healthz", Public, public::health::healthz)
        .get("/readyz", Public, public::health::readyz)
        .get("/static/style.css", Public, public::stylesheet)
        .get(
            "/static/record-editor.js",
            Public,
            public::record_editor_script,
        )
        .get("/report", Public, public::report_form)
        // The form enforces its limits while streaming (see forms.rs).
        .post_with_limit(
            "/report",
            Public,
            DefaultBodyLimit::disable(),
            public::submit_report,
        )
        .get("/track/{token}", Token, public::tracking_page)
        .post("/track/{token}/messages", Token, public::tracking_reply)
        .get("/api/openapi.json", Public, api::openapi_json)
        .get("/setup/{token}", Token, account::setup_form)
        .post("/setup/{token}", Token, account::setup_submit)
        .get("/login", Public, account::login_form)
        .post("/login", Public, account::login_submit)
        .get("/login/totp", Pending, account::totp_form)
        .post("/login/totp", Pending, account::totp_submit)
        .post("/logout", Public, account::logout)
        .get("/account/totp", Member, account::totp_enrol_form)
        .post("/account/totp", Member, account::totp_enrol_submit)
        .get("/account/recovery-codes", Member, account::recovery_codes)
        .post(
            "/account/recovery-codes",
            Member,
            account::regenerate_recovery_codes,
        )
        .get("/account/password", Member, account::password_form)
        .post("/account/password", Member, account::password_submit)
        .get("/invitation/{token}", Token, account::invitation_form)
        .post("/invitation/{token}", Token, account::invitation_submit)
        .get("/desk", Member, desk::queue)
        .get("/desk/reports/{id}", Member, desk::report_view)
        .post("/desk/reports/{id}/accept", Member, desk::accept_report)
        .post("/desk/reports/{id}/close", Member, desk::close_report)
        .post("/desk/reports/{id}/messages", Member, desk::post_message)
        .get(
            "/desk/reports/{id}/attachments/{attachment}",
            Member,
            desk::download_attachment,
        )
        .get("/desk/cases/{id}", Member, desk::case_redirect)
        .post("/desk/cases/{id}/transition", Member, desk::transition_case)
        .post("/desk/cases/{id}/assign", Member, desk::assign_case)
        .get("/desk/cases/{id}/record", Member, desk::record_editor)
        .post("/desk/cases/{id}/record", Member, desk::record_submit)
        .get("/desk/cases/{id}/record/json", Member, desk::record_json)
        .post(
            "/desk/cases/{id}/record/json",
            Member,
            desk::record_json_submit,
        )
        .get("/desk/cases/{id}/record/diff", Member, desk::record_diff)
        .get(
            "/desk/cases/{id}/record/versions/{version}",
            Member,
            desk::record_version,
        )
        .get(
            "/desk/cases/{id}/record/versions/{version}/{file}",
            Member,
            desk::record_export,
        )
        .get("/desk/cases/{id}/cve", Member, desk::case_cve)
        .post(
            "/desk/cases/{id}/cve/reserve",
            Member,
            desk::case_cve_reserve,
        )
        .post("/desk/cases/{id}/cve/link", Member, desk::case_cve_link)
        .post(
            "/desk/cases/{id}/cve/disclosed",
            Member,
            desk::case_cve_disclosed,
        )
        .post(
            "/desk/cases/{id}/cve/approve",
            Member,
            desk::case_cve_approve,
        )
        .post(
            "/desk/cases/{id}/cve/publish",
            Member,
            desk::case_cve_publish,
        )
        .post(
            "/desk/cases/{id}/cve/jobs/{job}/run",
            Member,
            desk::case_cve_run_job,
        )
        .get("/desk/cases/{id}/cve/drift", Member, desk::case_cve_drift)
        .get("/desk/cve", Member, desk::cve_ids)
        .post("/desk/cve/sync", Member, desk::cve_sync)
        .post("/desk/cve/reject", Member, desk::cve_reject)
        .get("/desk/ecosystem", Member, desk::ecosystem_index)
        .get("/desk/ecosystem/new", Member, desk::ecosystem_new_form)
        .post("/desk/ecosystem/products", Member, desk::ecosystem_add)
        .get(
            "/desk/ecosystem/products/{key}",
            Member,
            desk::ecosystem_product,
        )
        .post(
            "/desk/ecosystem/products/{key}",
            Member,
            desk::ecosystem_annotate,
        )
        .get("/desk/ecosystem/xeps/{number}", Member, desk::ecosystem_xep)
        .post("/desk/reports/{id}/scope", Member, desk::decide_scope)
        .get("/desk/dashboard", Member, desk::dashboard)
        .get("/desk/forecast", Member, desk::forecast)
        .post("/desk/forecast", Member, desk::forecast_submit)
        .get("/desk/team", Member, desk::team_index)
        .post("/desk/team/profile", Member, desk::team_profile)
        .post("/desk/team/absences", Member, desk::team_add_absence)
        .post(
            "/desk/team/absences/{id}/remove",
            Member,
            desk::team_remove_absence,
        )
        .post(
            "/desk/team/affiliations",
            Member,
            desk::team_declare_affiliation,
        )
        .post(
            "/desk/team/affiliations/{id}/withdraw",
            Member,
            desk::team_withdraw_affiliation,
        )
        .get("/desk/team/calendar", Member, desk::team_calendar)
        .get("/desk/rota", Member, desk::rota)
        .post("/desk/rota/plan", Admin, desk::rota_plan)
        .post("/desk/rota/{id}/handover", Member, desk::rota_handover)
        .post("/desk/cases/{id}/recuse", Member, desk::case_recuse)
        .post("/desk/cases/{id}/take", Member, desk::case_take)
        .post("/desk/reports/{id}/clock", Member, desk::report_clock)
        .get(
            "/desk/settings/notifications",
            Member,
            desk::notify_settings,
        )
        .post(
            "/desk/settings/notifications",
            Member,
            desk::notify_settings_save,
        )
        .get("/admin/outbox", Admin, admin::outbox)
        .post("/admin/outbox/{id}/retry", Admin, admin::outbox_retry)
        .get("/admin/mail/quarantine", Admin, admin::quarantine)
        .get(
            "/admin/mail/quarantine/{id}",
            Admin,
            admin::quarantined_mail,
        )
        .get(
            "/admin/mail/quarantine/{id}/raw",
            Admin,
            admin::quarantined_raw,
        )
        .post(
            "/admin/mail/quarantine/{id}/release",
            Admin,
            admin::quarantine_release,
        )
        .get(
            "/desk/cases/{id}/coordination",
            Member,
            desk::coordination::coordination,
        )
        .post(
            "/desk/cases/{id}/vulnerabilities",
            Member,
            desk::coordination::add_vulnerability,
        )
        .post(
            "/desk/cases/{id}/vulnerabilities/{v}/products",
            Member,
            desk::coordination::add_products,
        )
        .post(
            "/desk/cases/{id}/vulnerabilities/{v}/count",
            Member,
            desk::coordination::choose_count,
        )
        .post(
            "/desk/cases/{id}/products/{row}",
            Member,
            desk::coordination::update_product,
        )
        .post(
            "/desk/cases/{id}/vendors",
            Member,
            desk::coordination::invite_vendor,
        )
        .post(
            "/desk/cases/{id}/embargo",
            Member,
            desk::coordination::set_embargo,
        )
        .post(
            "/desk/cases/{id}/embargo/broken",
            Member,
            desk::coordination::embargo_broken,
        )
        .post(
            "/desk/cases/{id}/coordination/messages",
            Member,
            desk::coordination::post_message,
        )
        .get(
            "/desk/cases/{id}/coordination/files/{file}",
            Member,
            desk::coordination::download_file,
        )
        .get("/vendor", Vendor, vendor::home)
        .get("/vendor/login", Public, vendor::login_form)
        .post("/vendor/login", Public, vendor::login_submit)
        .post("/vendor/logout", Vendor, vendor::logout)
        .get("/vendor/invitations/{token}", Token, vendor::invitation)
        .post(
            "/vendor/invitations/{token}",
            Token,
            vendor::accept_invitation,
        )
        .get("/vendor/cases/{id}", Vendor, vendor::case_view)
        .post(
            "/vendor/cases/{id}/acknowledge",
            Vendor,
            vendor::acknowledge,
        )
        .post("/vendor/cases/{id}/consent", Vendor, vendor::consent)
        .post(
            "/vendor/cases/{id}/products/{row}",
            Vendor,
            vendor::update_product,
        )
        .post("/vendor/cases/{id}/messages", Vendor, vendor::post_message)
        .post_with_limit(
            "/vendor/cases/{id}/files",
            Vendor,
            DefaultBodyLimit::max(vendor::MAX_FILE_BYTES + 64 * 1024),
            vendor::upload,
        )
        .get("/vendor/cases/{id}/files/{file}", Vendor, vendor::download)
        .get("/pgp-key.asc", Public, public::cna_public_key)
        .get("/account/tokens", Member, account::api_tokens)
        .post("/account/tokens", Member, account::create_api_token)
        .post(
            "/account/tokens/{id}/revoke",
            Member,
            account::revoke_api_token,
        )
        .get("/admin/users", Admin, admin::users)
        .post("/admin/users", Admin, admin::invite_user)
        .post(
            "/admin/users/{id}/invitation",
            Admin,
            admin::renew_invitation,
        )
        .post("/admin/users/{id}/active", Admin, admin::set_user_active);
    let mut specs = public_site.specs;
    specs.extend(api.specs);
    specs.extend(desk.specs);
    Routes {
        public_site: public_site.router,
        api: api.router,
        desk: desk.router,
        specs,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn every_route_is_registered_once() {
        let all = routes();
        let distinct: HashSet<_> = all.iter().map(|r| (r.method, r.path)).collect();
        assert_eq!(distinct.len(), all.len());
        assert!(all.len() > 100, "{}", all.len());
    }

    #[test]
    fn only_the_api_is_exempt_and_every_get_is_safe() {
        for r in routes() {
            match r.method {
                RouteMethod::Get => {
                    assert_eq!(r.csrf, CsrfRule::Safe, "{}", r.path);
                    assert_eq!(r.body, RequestBody::Empty, "{}", r.path);
                }
                RouteMethod::Post => {
                    assert_ne!(r.csrf, CsrfRule::Safe, "{}", r.path);
                    if r.csrf == CsrfRule::Exempt {
                        assert!(r.path.starts_with("/api/"), "{}", r.path);
                    }
                }
            }
        }
    }
}
