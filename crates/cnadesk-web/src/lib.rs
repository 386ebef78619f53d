//! cnadesk over HTTP.
//!
//! - `public`: what anyone may use without an account: the report form, the
//!   private tracking page, health checks.
//! - `ui`: the team's pages (sign-in, setup, triage queue, report and case
//!   view, accounts).
//! - `api`: the JSON API and its OpenAPI document.
//!
//! The web layer holds the store as `Arc<dyn Store>` and never sees SQL.
#![warn(clippy::unwrap_used)]

pub mod api;
pub mod auth;
pub mod charts;
mod cookies;
mod error;
mod forms;
mod health;
pub mod public;
pub mod public_site;
mod ratelimit;
mod scope_view;
pub mod security;
pub mod transparency_desk;
pub mod ui;
pub mod vendor;
mod views;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderName, HeaderValue, Request};
use axum::routing::{get, post};
use axum::Router;
use cnadesk_core::Clock;
use cnadesk_store::Store;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

pub use cnadesk_app::{App, RecordSettings, ServerKey, Settings, PLACEHOLDER_ORG_ID};
pub use error::{ApiError, AppError};
pub use ratelimit::{LoginThrottle, RateLimiter};

/// Settings of the web layer (a part of the binary's configuration).
#[derive(Clone, Debug)]
pub struct WebConfig {
    /// What the use cases read (public URL, CNA name, records, coordination,
    /// public pages).
    pub settings: Settings,
    /// Mark cookies `Secure` (served over TLS).
    pub cookie_secure: bool,
    /// Admins must enrol a TOTP second factor before using the desk.
    pub require_totp_for_admins: bool,
    /// Session lifetime.
    pub session_ttl: Duration,
    /// Wrong passwords allowed per account from one address in 15 minutes
    /// (per address, whatever the account: five times this many attempts;
    /// past this many per account from all addresses, each failing address
    /// is slowed down). 0: no limit.
    pub login_attempts_per_15min: u32,
    /// Reports accepted per address per hour.
    pub reports_per_ip_per_hour: u32,
    /// Largest attachment.
    pub max_attachment_bytes: usize,
    /// Most attachments per report.
    pub max_attachments: usize,
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Reverse proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            settings: Settings::default(),
            cookie_secure: false,
            require_totp_for_admins: false,
            session_ttl: Duration::from_secs(12 * 3600),
            login_attempts_per_15min: 10,
            reports_per_ip_per_hour: 20,
            max_attachment_bytes: 10 * 1024 * 1024,
            max_attachments: 5,
            max_body_bytes: 32 * 1024 * 1024,
            trusted_proxies: Vec::new(),
        }
    }
}

/// Everything a handler needs: the application (use cases reach it through
/// `Deref`, so `state.store` is `state.app.store`) and what only HTTP needs.
#[derive(Clone)]
pub struct AppState {
    /// The application.
    pub app: App,
    /// Settings of the web layer.
    pub config: Arc<WebConfig>,
    /// Second-factor attempts per account (the password was right).
    pub login_limiter: Arc<RateLimiter>,
    /// Password attempts: per address, per account and address, and a
    /// slow-down per account that never refuses an address that has not
    /// failed itself (see [`LoginThrottle`]).
    pub login_throttle: Arc<LoginThrottle>,
    /// Report intake per address.
    pub intake_limiter: Arc<RateLimiter>,
    /// The public pages, rendered once per change.
    pub public_site: Arc<public_site::PublicSite>,
}

impl std::ops::Deref for AppState {
    type Target = App;

    fn deref(&self) -> &App {
        &self.app
    }
}

impl AppState {
    /// A state with the default policies.
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        config: WebConfig,
        key: ServerKey,
    ) -> Self {
        Self::with_app(App::new(store, clock, config.settings.clone(), key), config)
    }

    /// A state around an application built by the caller.
    pub fn with_app(app: App, config: WebConfig) -> Self {
        let login_limiter = Arc::new(RateLimiter::new(
            config.login_attempts_per_15min,
            Duration::from_secs(15 * 60),
        ));
        let login_throttle = Arc::new(LoginThrottle::new(
            config.login_attempts_per_15min,
            Duration::from_secs(15 * 60),
        ));
        let intake_limiter = Arc::new(RateLimiter::new(
            config.reports_per_ip_per_hour,
            Duration::from_secs(3600),
        ));
        Self {
            app,
            config: Arc::new(config),
            login_limiter,
            login_throttle,
            intake_limiter,
            public_site: Arc::new(public_site::PublicSite::default()),
        }
    }

    /// The same state talking to CVE Services through `desk`.
    pub fn with_cve(mut self, desk: cnadesk_cve_workflow::CveDesk) -> Self {
        self.app = self.app.with_cve(desk);
        self
    }

    /// Uses this scope policy and ecosystem data instead of the shipped ones.
    pub fn with_scope(mut self, desk: cnadesk_app::scope::ScopeDesk) -> Self {
        self.app = self.app.with_scope(desk);
        self
    }

    /// Uses this SLA policy instead of the shipped one.
    pub fn with_team(mut self, desk: cnadesk_app::team::TeamDesk) -> Self {
        self.app = self.app.with_team(desk);
        self
    }

    /// Reaches people with these channels.
    pub fn with_notify(mut self, desk: cnadesk_app::notify::NotifyDesk) -> Self {
        self.app = self.app.with_notify(desk);
        self
    }
}

/// The body limit of every route but report intake.
pub const FORM_BODY_LIMIT: usize = 1024 * 1024;

/// The path as logged: private tokens in URLs are never written to logs.
fn loggable_path(path: &str) -> String {
    for prefix in ["/track/", "/setup/", "/vendor/invitations/"] {
        if let Some(rest) = path.strip_prefix(prefix) {
            let tail = rest
                .split_once('/')
                .map(|(_, t)| format!("/{t}"))
                .unwrap_or_default();
            return format!("{prefix}[token]{tail}");
        }
    }
    path.to_owned()
}

/// Every route of the application with its middleware.
pub fn router(state: AppState) -> Router {
    let body_limit = state.config.max_body_bytes;
    let x_request_id = HeaderName::from_static("x-request-id");
    // The public site: no forms, no cookies, cacheable and compressed.
    let public_site = Router::new()
        .route("/advisories", get(public_site::index))
        .route("/advisories.atom", get(public_site::feed))
        .route("/advisories/{name}", get(public_site::advisory))
        .route("/policy", get(public_site::policy))
        .route("/contact", get(public_site::contact))
        .route(
            "/.well-known/security.txt",
            get(public_site::security_txt_route),
        )
        .route("/transparency", get(transparency_desk::page))
        .route("/transparency/log.jsonl", get(transparency_desk::log_route))
        .route("/transparency/head", get(transparency_desk::head_route))
        .route("/scope", get(public::scope_page))
        .route("/stats", get(ui::stats))
        .layer(axum::middleware::from_fn(public_site::validators))
        .layer(CompressionLayer::new());
    // The team's JSON API: personal API tokens, never cookies (so no
    // anti-forgery token), JSON in and out.
    let team_api = Router::new()
        .route("/api/v1/me", get(api::me))
        .route(
            "/api/v1/reports",
            // Reports take attachments inline (base64): the configured limit.
            post(api::create_report)
                .layer(DefaultBodyLimit::max(body_limit))
                .get(api::list_reports),
        )
        .route("/api/v1/reports/{id}", get(api::get_report))
        .route("/api/v1/reports/{id}/accept", post(api::accept_report))
        .route("/api/v1/reports/{id}/close", post(api::close_report))
        .route("/api/v1/reports/{id}/scope", post(api::decide_scope))
        .route("/api/v1/cases", get(api::list_cases))
        .route("/api/v1/cases/{id}", get(api::get_case))
        .route(
            "/api/v1/cases/{id}/record/versions",
            get(api::record_versions).post(api::save_record),
        )
        .route("/api/v1/cases/{id}/record/check", post(api::check_record))
        .route(
            "/api/v1/cases/{id}/record/versions/{version}/approve",
            post(api::approve_version),
        )
        .route(
            "/api/v1/cases/{id}/record/versions/{version}/publish",
            post(api::publish_version),
        )
        .route("/api/v1/cases/{id}/cve", get(api::case_cve))
        .route("/api/v1/cases/{id}/cve/reserve", post(api::reserve_ids))
        .route(
            "/api/v1/cases/{id}/coordination",
            get(api::case_coordination),
        )
        .route("/api/v1/cases/{id}/embargo", post(api::set_embargo))
        .route("/api/v1/cases/{id}/vendors", post(api::invite_vendor));
    let desk = Router::new()
        .route("/", get(public::home))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/static/style.css", get(public::stylesheet))
        .route(
            "/static/record-editor.js",
            get(public::record_editor_script),
        )
        .route(
            "/report",
            get(public::report_form)
                .post(public::submit_report)
                // The form enforces its limits while streaming (see forms.rs).
                .layer(DefaultBodyLimit::disable()),
        )
        .route("/track/{token}", get(public::tracking_page))
        .route("/track/{token}/messages", post(public::tracking_reply))
        .route("/api/openapi.json", get(api::openapi_json))
        .route("/setup/{token}", get(ui::setup_form).post(ui::setup_submit))
        .route("/login", get(ui::login_form).post(ui::login_submit))
        .route("/login/totp", get(ui::totp_form).post(ui::totp_submit))
        .route("/logout", post(ui::logout))
        .route(
            "/account/totp",
            get(ui::totp_enrol_form).post(ui::totp_enrol_submit),
        )
        .route("/desk", get(ui::queue))
        .route("/desk/reports/{id}", get(ui::report_view))
        .route("/desk/reports/{id}/accept", post(ui::accept_report))
        .route("/desk/reports/{id}/close", post(ui::close_report))
        .route("/desk/reports/{id}/messages", post(ui::post_message))
        .route(
            "/desk/reports/{id}/attachments/{attachment}",
            get(ui::download_attachment),
        )
        .route("/desk/cases/{id}", get(ui::case_redirect))
        .route("/desk/cases/{id}/transition", post(ui::transition_case))
        .route("/desk/cases/{id}/assign", post(ui::assign_case))
        .route(
            "/desk/cases/{id}/record",
            get(ui::record_editor).post(ui::record_submit),
        )
        .route(
            "/desk/cases/{id}/record/json",
            get(ui::record_json).post(ui::record_json_submit),
        )
        .route("/desk/cases/{id}/record/diff", get(ui::record_diff))
        .route(
            "/desk/cases/{id}/record/versions/{version}",
            get(ui::record_version),
        )
        .route(
            "/desk/cases/{id}/record/versions/{version}/{file}",
            get(ui::record_export),
        )
        .route("/desk/cases/{id}/cve", get(ui::case_cve))
        .route("/desk/cases/{id}/cve/reserve", post(ui::case_cve_reserve))
        .route("/desk/cases/{id}/cve/link", post(ui::case_cve_link))
        .route(
            "/desk/cases/{id}/cve/disclosed",
            post(ui::case_cve_disclosed),
        )
        .route("/desk/cases/{id}/cve/approve", post(ui::case_cve_approve))
        .route("/desk/cases/{id}/cve/publish", post(ui::case_cve_publish))
        .route(
            "/desk/cases/{id}/cve/jobs/{job}/run",
            post(ui::case_cve_run_job),
        )
        .route("/desk/cases/{id}/cve/drift", get(ui::case_cve_drift))
        .route("/desk/cve", get(ui::cve_ids))
        .route("/desk/cve/sync", post(ui::cve_sync))
        .route("/desk/cve/reject", post(ui::cve_reject))
        .route("/desk/ecosystem", get(ui::ecosystem_index))
        .route("/desk/ecosystem/new", get(ui::ecosystem_new_form))
        .route("/desk/ecosystem/products", post(ui::ecosystem_add))
        .route(
            "/desk/ecosystem/products/{key}",
            get(ui::ecosystem_product).post(ui::ecosystem_annotate),
        )
        .route("/desk/ecosystem/xeps/{number}", get(ui::ecosystem_xep))
        .route("/desk/reports/{id}/scope", post(ui::decide_scope))
        .route("/desk/dashboard", get(ui::dashboard))
        .route(
            "/desk/forecast",
            get(ui::forecast).post(ui::forecast_submit),
        )
        .route("/desk/team", get(ui::team_index))
        .route("/desk/team/profile", post(ui::team_profile))
        .route("/desk/team/absences", post(ui::team_add_absence))
        .route(
            "/desk/team/absences/{id}/remove",
            post(ui::team_remove_absence),
        )
        .route(
            "/desk/team/affiliations",
            post(ui::team_declare_affiliation),
        )
        .route(
            "/desk/team/affiliations/{id}/withdraw",
            post(ui::team_withdraw_affiliation),
        )
        .route("/desk/team/calendar", get(ui::team_calendar))
        .route("/desk/rota", get(ui::rota))
        .route("/desk/rota/plan", post(ui::rota_plan))
        .route("/desk/rota/{id}/handover", post(ui::rota_handover))
        .route("/desk/cases/{id}/recuse", post(ui::case_recuse))
        .route("/desk/cases/{id}/take", post(ui::case_take))
        .route("/desk/reports/{id}/clock", post(ui::report_clock))
        .route(
            "/desk/settings/notifications",
            get(ui::notify_settings).post(ui::notify_settings_save),
        )
        .route("/admin/outbox", get(ui::outbox))
        .route("/admin/outbox/{id}/retry", post(ui::outbox_retry))
        .route("/admin/mail/quarantine", get(ui::quarantine))
        .route("/admin/mail/quarantine/{id}", get(ui::quarantined_mail))
        .route("/admin/mail/quarantine/{id}/raw", get(ui::quarantined_raw))
        .route(
            "/admin/mail/quarantine/{id}/release",
            post(ui::quarantine_release),
        )
        .route(
            "/desk/cases/{id}/coordination",
            get(ui::coordination::coordination),
        )
        .route(
            "/desk/cases/{id}/vulnerabilities",
            post(ui::coordination::add_vulnerability),
        )
        .route(
            "/desk/cases/{id}/vulnerabilities/{v}/products",
            post(ui::coordination::add_products),
        )
        .route(
            "/desk/cases/{id}/vulnerabilities/{v}/count",
            post(ui::coordination::choose_count),
        )
        .route(
            "/desk/cases/{id}/products/{row}",
            post(ui::coordination::update_product),
        )
        .route(
            "/desk/cases/{id}/vendors",
            post(ui::coordination::invite_vendor),
        )
        .route(
            "/desk/cases/{id}/embargo",
            post(ui::coordination::set_embargo),
        )
        .route(
            "/desk/cases/{id}/embargo/broken",
            post(ui::coordination::embargo_broken),
        )
        .route(
            "/desk/cases/{id}/coordination/messages",
            post(ui::coordination::post_message),
        )
        .route(
            "/desk/cases/{id}/coordination/files/{file}",
            get(ui::coordination::download_file),
        )
        .route("/vendor", get(vendor::home))
        .route(
            "/vendor/login",
            get(vendor::login_form).post(vendor::login_submit),
        )
        .route("/vendor/logout", post(vendor::logout))
        .route(
            "/vendor/invitations/{token}",
            get(vendor::invitation).post(vendor::accept_invitation),
        )
        .route("/vendor/cases/{id}", get(vendor::case_view))
        .route("/vendor/cases/{id}/acknowledge", post(vendor::acknowledge))
        .route("/vendor/cases/{id}/consent", post(vendor::consent))
        .route(
            "/vendor/cases/{id}/products/{row}",
            post(vendor::update_product),
        )
        .route("/vendor/cases/{id}/messages", post(vendor::post_message))
        .route(
            "/vendor/cases/{id}/files",
            post(vendor::upload).layer(DefaultBodyLimit::max(vendor::MAX_FILE_BYTES + 64 * 1024)),
        )
        .route("/vendor/cases/{id}/files/{file}", get(vendor::download))
        .route("/pgp-key.asc", get(ui::cna_public_key))
        .route(
            "/account/tokens",
            get(ui::api_tokens).post(ui::create_api_token),
        )
        .route("/account/tokens/{id}/revoke", post(ui::revoke_api_token))
        .route("/admin/users", get(ui::users).post(ui::create_user))
        .route("/admin/users/{id}/active", post(ui::set_user_active))
        .fallback(public::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            security::csrf_cookie,
        ));
    public_site
        .merge(team_api)
        .merge(desk)
        // Every other form is text: 1 MiB is far above the longest field.
        .layer(DefaultBodyLimit::max(FORM_BODY_LIMIT))
        // No page runs a script: even a payload that slipped past escaping
        // could not execute.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            ),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                let id = req
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!("request", request_id = %id, method = %req.method(), path = %loggable_path(req.uri().path()))
            }),
        )
        .layer(SetRequestIdLayer::new(x_request_id, MakeRequestUuid))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_in_paths_are_not_logged() {
        assert_eq!(super::loggable_path("/track/abc123"), "/track/[token]");
        assert_eq!(
            super::loggable_path("/track/abc123/messages"),
            "/track/[token]/messages"
        );
        assert_eq!(super::loggable_path("/setup/xyz"), "/setup/[token]");
        assert_eq!(super::loggable_path("/desk/reports/1"), "/desk/reports/1");
    }
}
