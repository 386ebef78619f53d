//! cnadesk over HTTP.
//!
//! - `public`: what anyone may use without an account: the report form, the
//!   private tracking page, health checks.
//! - `ui`: the team's pages (sign-in, setup, triage queue, report and case
//!   view, accounts).
//! - `api`: the JSON API and its OpenAPI document.
//! - `routes`: every route as data (method, path, access, anti-forgery
//!   rule), from which the router is built.
//! - `extract`: the extractors that check every form's anti-forgery token
//!   and parse typed ids from paths.
//!
//! The web layer holds the store as `Arc<dyn Store>` and never sees SQL.
#![warn(clippy::unwrap_used)]

pub mod api;
pub mod auth;
pub mod charts;
pub mod coordination_desk;
mod error;
pub mod extract;
mod forms;
mod health;
pub mod notify_desk;
pub mod public;
pub mod public_site;
mod ratelimit;
pub mod routes;
pub mod scope_desk;
mod scope_view;
pub mod security;
pub mod team_desk;
pub mod transparency_desk;
pub mod ui;
pub mod vendor;
mod views;
pub mod workload;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderName, HeaderValue, Request};
use axum::Router;
use cnadesk_core::assignment::{AssignmentPolicy, BalancedAssignment};
use cnadesk_core::Clock;
use cnadesk_store::Store;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

pub use error::{ApiError, AppError};
pub use extract::{CsrfRule, RequestBody};
pub use ratelimit::{LoginThrottle, RateLimiter};
pub use routes::{routes, Access, RouteMethod, RouteSpec};
pub use security::ServerKey;

/// Settings of the web layer (a part of the binary's configuration).
#[derive(Clone, Debug)]
pub struct WebConfig {
    /// The URL under which people reach the desk (used in links).
    pub public_url: String,
    /// The name of the CNA shown on pages.
    pub cna_name: String,
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
    /// CVE record settings.
    pub records: RecordSettings,
    /// Coordination rules (embargo consent, reminders, invitations).
    pub coordination: coordination_desk::CoordinationSettings,
    /// The public pages (security.txt contacts, refresh).
    pub public: public_site::PublicSettings,
}

/// Who the CNA is in CVE records, and how records are checked.
#[derive(Clone, Debug)]
pub struct RecordSettings {
    /// The CNA's organization UUID at the CVE Program; `None` until the CNA
    /// is onboarded (records then carry a placeholder and the editor says so).
    pub org_id: Option<String>,
    /// The CNA's short name.
    pub short_name: Option<String>,
    /// Namespace URL of the CSAF publisher (the CNA's web site).
    pub advisory_namespace: String,
    /// CVE JSON schema version to validate against; `None`: the default.
    pub schema_version: Option<String>,
}

/// The organization UUID used while none is configured. Schema-valid, and
/// obviously not a real one.
pub const PLACEHOLDER_ORG_ID: &str = "00000000-0000-4000-8000-000000000000";

impl Default for RecordSettings {
    fn default() -> Self {
        Self {
            org_id: None,
            short_name: Some("XSF".into()),
            advisory_namespace: "https://xmpp.org".into(),
            schema_version: None,
        }
    }
}

impl RecordSettings {
    /// The provider metadata of records.
    pub fn provider(&self) -> cnadesk_cve::editor::Provider {
        cnadesk_cve::editor::Provider {
            org_id: self
                .org_id
                .clone()
                .unwrap_or_else(|| PLACEHOLDER_ORG_ID.to_owned()),
            short_name: self.short_name.clone(),
        }
    }
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            public_url: "http://127.0.0.1:8080".into(),
            cna_name: "XMPP Standards Foundation".into(),
            cookie_secure: false,
            require_totp_for_admins: false,
            session_ttl: Duration::from_secs(12 * 3600),
            login_attempts_per_15min: 10,
            reports_per_ip_per_hour: 20,
            max_attachment_bytes: 10 * 1024 * 1024,
            max_attachments: 5,
            max_body_bytes: 32 * 1024 * 1024,
            trusted_proxies: Vec::new(),
            records: RecordSettings::default(),
            coordination: coordination_desk::CoordinationSettings::default(),
            public: public_site::PublicSettings::default(),
        }
    }
}

/// Everything a handler needs.
#[derive(Clone)]
pub struct AppState {
    /// The store.
    pub store: Arc<dyn Store>,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// Settings.
    pub config: Arc<WebConfig>,
    /// The server key (CSRF tokens, TOTP secret encryption).
    pub key: Arc<ServerKey>,
    /// How cases are assigned.
    pub assignment: Arc<dyn AssignmentPolicy>,
    /// Second-factor attempts per account (the password was right).
    pub login_limiter: Arc<RateLimiter>,
    /// Password attempts: per address, per account and address, and a
    /// slow-down per account that never refuses an address that has not
    /// failed itself (see [`LoginThrottle`]).
    pub login_throttle: Arc<LoginThrottle>,
    /// Report intake per address.
    pub intake_limiter: Arc<RateLimiter>,
    /// The CVE JSON schema records are validated against.
    pub schemas: &'static cnadesk_cve::SchemaSet,
    /// CVE Services, when configured (`None`: the CVE pages say how to set it up).
    pub cve: Option<Arc<cnadesk_cve_workflow::CveDesk>>,
    /// The scope policy and the ecosystem registry.
    pub scope: Arc<scope_desk::ScopeDesk>,
    /// The response-time commitments (SLA policy).
    pub team: Arc<team_desk::TeamDesk>,
    /// E-mail and XMPP (nothing configured: nothing sent).
    pub notify: Arc<notify_desk::NotifyDesk>,
    /// The public pages, rendered once per change.
    pub public_site: Arc<public_site::PublicSite>,
    /// The key that signs the transparency log's head.
    pub log_key: Arc<cnadesk_transparency::LogKey>,
}

impl AppState {
    /// A state with the default policies.
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        config: WebConfig,
        key: ServerKey,
    ) -> Self {
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
        let schemas = match config.records.schema_version.as_deref() {
            None => cnadesk_cve::SchemaSet::default_set(),
            // Loaded once per server; the configuration check has already
            // confirmed that the version exists.
            Some(v) => match cnadesk_cve::SchemaSet::load(Some(v)) {
                Ok(set) => Box::leak(Box::new(set)),
                Err(e) => {
                    tracing::error!(error = %e, "unknown CVE schema version; using the default");
                    cnadesk_cve::SchemaSet::default_set()
                }
            },
        };
        Self {
            schemas,
            store,
            clock,
            config: Arc::new(config),
            assignment: Arc::new(BalancedAssignment),
            login_limiter,
            login_throttle,
            intake_limiter,
            cve: None,
            scope: Arc::new(scope_desk::ScopeDesk::bundled()),
            team: Arc::new(team_desk::TeamDesk::bundled()),
            notify: Arc::new(notify_desk::NotifyDesk::new()),
            public_site: Arc::new(public_site::PublicSite::default()),
            log_key: Arc::new(transparency_desk::log_key(&key)),
            key: Arc::new(key),
        }
    }

    /// The same state talking to CVE Services through `desk`.
    pub fn with_cve(mut self, desk: cnadesk_cve_workflow::CveDesk) -> Self {
        self.cve = Some(Arc::new(desk));
        self
    }

    /// Uses this scope policy and ecosystem data instead of the shipped ones.
    pub fn with_scope(mut self, desk: scope_desk::ScopeDesk) -> Self {
        self.scope = Arc::new(desk);
        self
    }

    /// Uses this SLA policy instead of the shipped one.
    pub fn with_team(mut self, desk: team_desk::TeamDesk) -> Self {
        self.team = Arc::new(desk);
        self
    }

    /// Reaches people with these channels.
    pub fn with_notify(mut self, desk: notify_desk::NotifyDesk) -> Self {
        self.notify = Arc::new(desk);
        self
    }

    /// Now, in milliseconds since the epoch.
    pub fn now_ms(&self) -> i64 {
        self.clock.now().as_millisecond()
    }

    /// An absolute URL for a path.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.config.public_url.trim_end_matches('/'), path)
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

/// Every route of the application ([`routes()`]) with its middleware.
pub fn router(state: AppState) -> Router {
    let body_limit = state.config.max_body_bytes;
    let x_request_id = HeaderName::from_static("x-request-id");
    let routes = routes::build(body_limit);
    // The public site: no forms, no cookies, cacheable and compressed.
    let public_site = routes
        .public_site
        .layer(axum::middleware::from_fn(public_site::validators))
        .layer(CompressionLayer::new());
    let desk = routes
        .desk
        .fallback(public::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            security::csrf_cookie,
        ));
    public_site
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
