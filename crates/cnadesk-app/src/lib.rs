//! cnadesk's use cases, with no HTTP and no SQL.
//!
//! [`App`] holds what every use case needs: the store (its ports), the
//! clock, the server key, the policies (assignment, scope, response times),
//! the notifier and CVE Services. The web crate calls these functions from
//! its handlers and its JSON API alike; the binary runs the periodic ones
//! (`team::sweep`, `coordination::sweep`, `notify::fan_out`,
//! `notify::deliver_due`, `transparency::sweep`) as jobs.
//!
//! - `accounts`: rules for new accounts and passwords, password hashing,
//!   an admin inviting (or creating), activating and deactivating accounts,
//!   invitation links, a member changing their password, the second-factor
//!   policy.
//! - `advisories`: what is public, assembled from the store.
//! - `casework`: the team's coordination work on a case (vulnerabilities,
//!   products, CVE count, invitations, a broken embargo, messages, files).
//! - `conversation`: the messages of a report, and reading its files.
//! - `coordination`: vendors invited under an embargo, reminders, lifts.
//! - `keys`: the server key and the tokens made with it.
//! - `mail_admin`: an admin retrying outbox mail, releasing quarantined mail.
//! - `inbound`: received mail filed as reports or replies, or quarantined.
//! - `intake`: one path for a report from the form, the API or e-mail.
//! - `notify`: who is told what (rules, fan-out, delivery).
//! - `recovery`: one-time recovery codes for the second factor.
//! - `roster`: profile, absences, affiliations, rota and handover, stepping
//!   aside from or taking a case, clock actions.
//! - `scope`: the scope policy and the ecosystem registry.
//! - `team`: assignment, recusal, response-time clocks, offers, sweeps.
//! - `text`: checks of free text.
//! - `transparency`: the public log projected from the audit log.
//! - `vendor_portal`: what an invited vendor contact may do (invitations,
//!   sessions, the embargo terms, their product rows, messages, files).
//! - `workload`: figures and the forecast of the team's load.
#![warn(clippy::unwrap_used)]

pub mod accounts;
pub mod advisories;
pub mod casework;
pub mod conversation;
pub mod coordination;
pub mod cve;
pub mod inbound;
pub mod intake;
pub mod keys;
pub mod lifecycle;
pub mod mail_admin;
pub mod notify;
pub mod records;
pub mod recovery;
pub mod roster;
pub mod scope;
pub mod team;
pub mod text;
pub mod tokens;
pub mod transparency;
pub mod triage;
pub mod vendor_portal;
pub mod workload;

use std::sync::Arc;

use cnadesk_core::assignment::{AssignmentPolicy, BalancedAssignment};
use cnadesk_core::Clock;
use cnadesk_store::Store;

pub use keys::ServerKey;

/// The settings use cases read (a part of the binary's configuration).
#[derive(Clone, Debug)]
pub struct Settings {
    /// The URL under which people reach the desk (used in links).
    pub public_url: String,
    /// The name of the CNA, on pages and in messages.
    pub cna_name: String,
    /// CVE record settings.
    pub records: RecordSettings,
    /// Coordination rules (embargo consent, reminders, invitations).
    pub coordination: coordination::CoordinationSettings,
    /// The public pages (security.txt contacts, refresh).
    pub public: advisories::PublicSettings,
    /// What the desk does by itself as a case goes on.
    pub lifecycle: lifecycle::LifecycleSettings,
    /// Team accounts: the second-factor policy, invitation links.
    pub accounts: accounts::AccountSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            public_url: "http://127.0.0.1:8080".into(),
            cna_name: "XMPP Standards Foundation".into(),
            records: RecordSettings::default(),
            coordination: coordination::CoordinationSettings::default(),
            public: advisories::PublicSettings::default(),
            lifecycle: lifecycle::LifecycleSettings::default(),
            accounts: accounts::AccountSettings::default(),
        }
    }
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

/// Everything a use case needs. Cheap to clone (shared parts).
#[derive(Clone)]
pub struct App {
    /// The store.
    pub store: Arc<dyn Store>,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// Settings.
    pub settings: Arc<Settings>,
    /// The server key (tokens, sealed secrets).
    pub key: Arc<ServerKey>,
    /// How cases are assigned.
    pub assignment: Arc<dyn AssignmentPolicy>,
    /// The CVE JSON schema records are validated against.
    pub schemas: &'static cnadesk_cve::SchemaSet,
    /// CVE Services, when configured (`None`: the CVE pages say how to set it up).
    pub cve: Option<Arc<cnadesk_cve_workflow::CveDesk>>,
    /// The scope policy and the ecosystem registry.
    pub scope: Arc<scope::ScopeDesk>,
    /// The response-time commitments (SLA policy).
    pub team: Arc<team::TeamDesk>,
    /// The public response-time figures, reused for a minute.
    pub figures: Arc<workload::FiguresCache>,
    /// E-mail and XMPP (nothing configured: nothing sent).
    pub notify: Arc<notify::NotifyDesk>,
    /// The key that signs the transparency log's head.
    pub log_key: Arc<cnadesk_transparency::LogKey>,
}

impl App {
    /// An application with the shipped policies and nothing configured to
    /// send or to reach CVE Services.
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        settings: Settings,
        key: ServerKey,
    ) -> Self {
        let schemas = match settings.records.schema_version.as_deref() {
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
            settings: Arc::new(settings),
            assignment: Arc::new(BalancedAssignment),
            cve: None,
            scope: Arc::new(scope::ScopeDesk::bundled()),
            team: Arc::new(team::TeamDesk::bundled()),
            figures: Arc::default(),
            notify: Arc::new(notify::NotifyDesk::new()),
            log_key: Arc::new(transparency::log_key(&key)),
            key: Arc::new(key),
        }
    }

    /// Whether this is a demo desk: CVE Services is the in-memory double
    /// (`cnadesk serve --demo`), so no ID or record of it is real and none
    /// is linked to cve.org.
    pub fn is_demo(&self) -> bool {
        self.cve
            .as_ref()
            .is_some_and(|d| *d.environment() == cnadesk_cve_workflow::Environment::Demo)
    }

    /// The same application talking to CVE Services through `desk`.
    pub fn with_cve(mut self, desk: cnadesk_cve_workflow::CveDesk) -> Self {
        self.cve = Some(Arc::new(desk));
        self
    }

    /// Uses this scope policy and ecosystem data instead of the shipped ones.
    pub fn with_scope(mut self, desk: scope::ScopeDesk) -> Self {
        self.scope = Arc::new(desk);
        self
    }

    /// Uses this SLA policy instead of the shipped one.
    pub fn with_team(mut self, desk: team::TeamDesk) -> Self {
        self.team = Arc::new(desk);
        self.figures = Arc::default();
        self
    }

    /// Reaches people with these channels.
    pub fn with_notify(mut self, desk: notify::NotifyDesk) -> Self {
        self.notify = Arc::new(desk);
        self
    }

    /// Now, in milliseconds since the epoch.
    pub fn now_ms(&self) -> i64 {
        self.clock.now().as_millisecond()
    }

    /// An absolute URL for a path.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.settings.public_url.trim_end_matches('/'), path)
    }
}
