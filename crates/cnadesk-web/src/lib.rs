//! cnadesk over HTTP: server-rendered pages and the JSON API. Handlers
//! read the request, call a use case of `cnadesk_app`, and render; none of
//! them holds domain rules or SQL. Folders are by audience:
//!
//! - `public`: anyone, without an account: the report form and the private
//!   tracking page, the published advisories and feeds, the transparency
//!   log, `/stats`, `/scope`, the CNA's key, health checks.
//! - `account`: a member's own account: setup, an invitation link,
//!   sign-in, second factor and recovery codes, password, sign-out,
//!   personal API tokens.
//! - `desk`: the team's pages (`/desk`): triage queue, report and case,
//!   record and CVE IDs, coordination, team, workload, ecosystem,
//!   notification settings.
//! - `admin`: admins only: accounts, outbox, mail quarantine.
//! - `vendor`: the vendor portal (`/vendor`).
//! - `api`: the JSON API (`api::v1`) and its OpenAPI document.
//!
//! Around them: `routes` (every route as data, from which the router is
//! built), `extract` (the extractors that check every form's anti-forgery
//! token and parse typed ids from paths), `auth` (sessions and roles),
//! `security` (the anti-forgery cookie, client addresses), `views` and
//! `charts` (rendering helpers), `forms` (the streamed report form),
//! `ratelimit`, `error`.
#![warn(clippy::unwrap_used)]

pub mod account;
pub mod admin;
pub mod api;
pub mod auth;
pub mod charts;
mod cookies;
pub mod desk;
mod error;
pub mod extract;
mod forms;
pub mod public;
mod ratelimit;
pub mod routes;
mod scope_view;
pub mod security;
pub mod vendor;
mod views;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderName, HeaderValue, Request};
use axum::Router;
use cnadesk_core::Clock;
use cnadesk_store::Store;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

pub use cnadesk_app::{App, RecordSettings, ServerKey, Settings, PLACEHOLDER_ORG_ID};
pub use error::{ApiError, AppError};
pub use extract::{CsrfRule, RequestBody};
pub use ratelimit::{LoginThrottle, RateLimiter};
pub use routes::{routes, Access, RouteMethod, RouteSpec};

/// Settings of the web layer (a part of the binary's configuration).
#[derive(Clone, Debug)]
pub struct WebConfig {
    /// What the use cases read (public URL, CNA name, records, coordination,
    /// public pages).
    pub settings: Settings,
    /// Mark cookies `Secure` (served over TLS).
    pub cookie_secure: bool,
    /// Session lifetime.
    pub session_ttl: Duration,
    /// Wrong passwords allowed per account from one address in 15 minutes
    /// (per address, whatever the account: five times this many attempts;
    /// past this many per account from all addresses, each failing address
    /// is slowed down). 0: no limit.
    pub login_attempts_per_15min: u32,
    /// Reports accepted per address per hour.
    pub reports_per_ip_per_hour: u32,
    /// Reporter messages accepted per hour, per report and per address.
    pub replies_per_hour: u32,
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
            session_ttl: Duration::from_secs(12 * 3600),
            login_attempts_per_15min: 10,
            reports_per_ip_per_hour: 20,
            replies_per_hour: 30,
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
    /// Reporter messages, per report and per address.
    pub reply_limiter: Arc<RateLimiter>,
    /// The public pages, rendered once per change.
    pub public_site: Arc<public::advisories::PublicSite>,
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
        let reply_limiter = Arc::new(RateLimiter::new(
            config.replies_per_hour,
            Duration::from_secs(3600),
        ));
        Self {
            app,
            config: Arc::new(config),
            login_limiter,
            login_throttle,
            intake_limiter,
            reply_limiter,
            public_site: Arc::new(public::advisories::PublicSite::default()),
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
    for prefix in ["/track/", "/setup/", "/invitation/", "/vendor/invitations/"] {
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

/// Every route of the application ([`routes()`]) with its middleware.
pub fn router(state: AppState) -> Router {
    let body_limit = state.config.max_body_bytes;
    let x_request_id = HeaderName::from_static("x-request-id");
    let routes = routes::build(body_limit);
    // The public site: no forms, no cookies, cacheable and compressed.
    let public_site = routes
        .public_site
        .layer(axum::middleware::from_fn(public::advisories::validators))
        .layer(CompressionLayer::new());
    let desk = routes
        .desk
        .fallback(public::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            security::csrf_cookie,
        ));
    // The JSON API: JSON in and out, the team's endpoints under a personal
    // API token (never a cookie, so no form token and no cookie is set).
    let api = routes.api;
    public_site
        .merge(api)
        .merge(desk)
        // Error pages in the desk's layout: the CNA's name, the demo banner.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            error::error_pages,
        ))
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
        assert_eq!(
            super::loggable_path("/invitation/xyz"),
            "/invitation/[token]"
        );
        assert_eq!(super::loggable_path("/desk/reports/1"), "/desk/reports/1");
    }
}
