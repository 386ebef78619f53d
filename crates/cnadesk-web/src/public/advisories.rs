//! The public face of the CNA: published advisories (index, pages, CVE
//! JSON / OSV / CSAF downloads, Atom feeds), the disclosure policy, the
//! contact page and `security.txt`.
//!
//! What is public is read from the store in one place ([`load`]): a case
//! whose advisory was published at the end of its embargo, or whose CVE
//! record was published. A case whose embargo still runs is never listed,
//! whatever else is true of it. Pages are rendered once per change of the
//! audit log (every change the public could see writes an audit event) and
//! served from memory with an ETag and Last-Modified.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use cnadesk_store::StoreResult;
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::views::{fmt_time, rfc3339, PageMeta};
use crate::{AppError, AppState};

use cnadesk_app::advisories::*;

// ---- the cache --------------------------------------------------------------------

/// A rendered public response.
#[derive(Clone, Debug)]
pub struct Cached {
    body: Bytes,
    content_type: &'static str,
    etag: String,
    last_modified_ms: i64,
    disposition: Option<String>,
    /// Seconds a client may reuse it without asking (0: always ask, and
    /// get a 304 while the ETag matches).
    max_age: u32,
}

impl Cached {
    fn new(body: impl Into<Bytes>, content_type: &'static str, last_modified_ms: i64) -> Self {
        let body = body.into();
        // Weak: the same page compressed is another representation of it.
        let etag = format!("W/\"{}\"", &hex::encode(Sha256::digest(&body))[..32]);
        Self {
            body,
            content_type,
            etag,
            last_modified_ms,
            disposition: None,
            max_age: 0,
        }
    }

    /// One advisory's page or download: changes rarely (a correction, a
    /// rejection), so a client may reuse it for a minute.
    fn stable(mut self) -> Self {
        self.max_age = 60;
        self
    }

    fn download(mut self, filename: &str) -> Self {
        self.disposition = Some(format!("inline; filename=\"{filename}\""));
        self.stable()
    }
}

#[derive(Clone)]
struct Snapshot {
    head: i64,
    checked: Instant,
    advisories: Arc<Vec<Advisory>>,
}

/// Rendered pages of one snapshot (the audit head they were built at).
#[derive(Default)]
struct Rendered {
    head: i64,
    pages: HashMap<String, Arc<Cached>>,
}

/// The public pages, rendered once per change.
#[derive(Default)]
pub struct PublicSite {
    /// The fast path reads this without waiting.
    current: std::sync::RwLock<Option<Snapshot>>,
    /// One request at a time looks for changes and rebuilds.
    refreshing: tokio::sync::Mutex<()>,
    /// Never held across an await.
    rendered: Mutex<Rendered>,
}

impl std::fmt::Debug for PublicSite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicSite").finish_non_exhaustive()
    }
}

/// At most this many rendered pages are kept (query strings are free-form:
/// when full, the cache starts again).
const MAX_CACHED: usize = 512;

fn fresh(s: &Snapshot, refresh: Duration) -> bool {
    !refresh.is_zero() && s.checked.elapsed() < refresh
}

impl PublicSite {
    fn current(&self) -> Option<Snapshot> {
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn set_current(&self, s: Snapshot) {
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(s);
    }

    /// The public advisories as of the latest change, and the audit head
    /// they were read at.
    async fn snapshot(&self, state: &AppState) -> StoreResult<Snapshot> {
        let refresh = state.settings.public.refresh;
        if let Some(s) = self.current().filter(|s| fresh(s, refresh)) {
            return Ok(s);
        }
        let _one = self.refreshing.lock().await;
        let current = self.current();
        if let Some(s) = current.as_ref().filter(|s| fresh(s, refresh)) {
            return Ok(s.clone());
        }
        let head = state.store.audit_head().await?;
        let snapshot = match current {
            Some(s) if s.head == head => Snapshot {
                checked: Instant::now(),
                ..s
            },
            _ => Snapshot {
                head,
                checked: Instant::now(),
                advisories: Arc::new(load(state).await?),
            },
        };
        self.set_current(snapshot.clone());
        Ok(snapshot)
    }

    async fn page(
        &self,
        state: &AppState,
        key: &str,
        build: impl FnOnce(&[Advisory]) -> Result<Cached, AppError>,
    ) -> Result<Arc<Cached>, AppError> {
        let mut snapshot = self.snapshot(state).await?;
        let newer = self
            .rendered
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .head
            > snapshot.head;
        if newer {
            // Another request saw a newer state meanwhile: never serve an
            // older one after it.
            if let Some(current) = self.current().filter(|c| c.head > snapshot.head) {
                snapshot = current;
            }
        }
        {
            let mut rendered = self
                .rendered
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if rendered.head != snapshot.head {
                // Pages of an older state are never served again.
                if rendered.head < snapshot.head {
                    *rendered = Rendered {
                        head: snapshot.head,
                        pages: HashMap::new(),
                    };
                }
            } else if let Some(hit) = rendered.pages.get(key) {
                return Ok(hit.clone());
            }
        }
        let page = Arc::new(build(&snapshot.advisories)?);
        let mut rendered = self
            .rendered
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Kept only if it was built from the state the cache is at.
        if rendered.head == snapshot.head {
            if rendered.pages.len() >= MAX_CACHED {
                rendered.pages.clear();
            }
            rendered.pages.insert(key.to_owned(), page.clone());
        }
        Ok(page)
    }
}

fn http_date(ms: i64) -> String {
    let secs = u64::try_from(ms / 1000).unwrap_or(0);
    httpdate::fmt_http_date(std::time::UNIX_EPOCH + Duration::from_secs(secs))
}

/// Serves a cached page with validators; answers 304 when the client has it.
fn respond(page: &Cached, headers: &HeaderMap) -> Response {
    // Only the ETag decides (RFC 9110 13.1.2, weak comparison): pages
    // combine many advisories, so a date cannot tell whether one left.
    let not_modified = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| {
            tags.split(',').map(str::trim).any(|t| {
                t == "*" || t.trim_start_matches("W/") == page.etag.trim_start_matches("W/")
            })
        });
    let mut res = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        page.body.clone().into_response()
    };
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(page.content_type),
    );
    if let Ok(v) = HeaderValue::from_str(&page.etag) {
        h.insert(header::ETAG, v);
    }
    if page.last_modified_ms > 0 {
        if let Ok(v) = HeaderValue::from_str(&http_date(page.last_modified_ms)) {
            h.insert(header::LAST_MODIFIED, v);
        }
    }
    // Lists, feeds and the log change whenever something is published:
    // revalidated on every use (a 304 while unchanged).
    h.insert(
        header::CACHE_CONTROL,
        if page.max_age == 0 {
            HeaderValue::from_static("public, no-cache")
        } else {
            HeaderValue::from_static("public, max-age=60")
        },
    );
    if let Some(d) = page
        .disposition
        .as_deref()
        .and_then(|d| HeaderValue::from_str(d).ok())
    {
        h.insert(header::CONTENT_DISPOSITION, d);
    }
    res
}

/// The largest page [`validators`] will hash.
const MAX_VALIDATED: usize = 8 * 1024 * 1024;

/// For public pages rendered per request (`/scope`, `/stats`,
/// `/transparency`…): a weak ETag from the body and a 304 when the client
/// has it, and a short public `Cache-Control` unless the page set its own.
/// Pages from the render cache already carry theirs.
pub async fn validators(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let if_none_match = req.headers().get(header::IF_NONE_MATCH).cloned();
    let res = next.run(req).await;
    let is_html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html"));
    if res.status() != StatusCode::OK || !is_html || res.headers().contains_key(header::ETAG) {
        return res;
    }
    let (parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_VALIDATED).await else {
        tracing::error!("a public page was larger than {MAX_VALIDATED} bytes");
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let page = Cached::new(bytes, "text/html; charset=utf-8", 0);
    let mut headers = HeaderMap::new();
    if let Some(v) = if_none_match {
        headers.insert(header::IF_NONE_MATCH, v);
    }
    let mut out = respond(&page, &headers);
    // The handler's own headers (its cache policy, say) win over respond's.
    for (name, value) in &parts.headers {
        if name != header::CONTENT_LENGTH {
            out.headers_mut().insert(name, value.clone());
        }
    }
    out
}

fn html<T: Template>(page: &T, last_modified_ms: i64) -> Result<Cached, AppError> {
    let body = page.render().map_err(|e| {
        tracing::error!(error = %e, "template rendering failed");
        AppError::Internal(e.to_string())
    })?;
    Ok(Cached::new(
        body,
        "text/html; charset=utf-8",
        last_modified_ms,
    ))
}

fn newest(advisories: &[Advisory]) -> i64 {
    advisories
        .iter()
        .map(|a| a.updated_at_ms)
        .max()
        .unwrap_or(0)
}

fn layout(
    state: &AppState,
    title: &str,
    path: &str,
    description: &str,
    feed: Option<String>,
) -> crate::views::Layout {
    let mut layout = crate::views::Layout::public(state, title, "");
    layout.meta = Some(PageMeta {
        url: state.url(path),
        description: description.chars().take(300).collect(),
        kind: if path.starts_with("/advisories/") {
            "article"
        } else {
            "website"
        },
        feed,
    });
    layout
}

// ---- the advisory index -----------------------------------------------------------

/// Filters of the advisory index and feed.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct IndexQuery {
    /// Words to find in the title, summary, CVE IDs or products.
    #[serde(default)]
    pub q: String,
    /// A product name (or registry key).
    #[serde(default)]
    pub product: String,
    /// A year of publication.
    #[serde(default)]
    pub year: String,
    /// `critical`, `high`, `medium`, `low`, `none`, `unscored`.
    #[serde(default)]
    pub severity: String,
}

impl IndexQuery {
    /// The cache key: the values as typed (the page shows them back).
    fn key(&self) -> String {
        format!(
            "q={}&product={}&year={}&severity={}",
            self.q.trim(),
            self.product.trim(),
            self.year.trim(),
            self.severity.trim()
        )
    }

    fn is_filtered(&self) -> bool {
        [&self.q, &self.product, &self.year, &self.severity]
            .iter()
            .any(|v| !v.trim().is_empty())
    }

    fn matches(&self, a: &Advisory) -> bool {
        let product = self.product.trim().to_lowercase();
        if !product.is_empty()
            && !a.product_keys.contains(&product)
            && !a
                .product_names()
                .iter()
                .any(|p| p.to_lowercase() == product)
        {
            return false;
        }
        let year = self.year.trim();
        if !year.is_empty() && year != a.year().to_string() {
            return false;
        }
        let severity = self.severity.trim().to_lowercase();
        if !severity.is_empty() && severity != a.severity() {
            return false;
        }
        let q = self.q.trim().to_lowercase();
        q.is_empty()
            || q.split_whitespace().all(|word| {
                a.title.to_lowercase().contains(word)
                    || a.summary.to_lowercase().contains(word)
                    || a.name.to_lowercase().contains(word)
                    || a.records
                        .iter()
                        .any(|r| r.cve_id.as_str().to_lowercase() == word)
                    || a.product_names()
                        .iter()
                        .any(|p| p.to_lowercase().contains(word))
            })
    }
}

struct IndexRow {
    path: String,
    name: String,
    title: String,
    published: String,
    severity: String,
    score: String,
    products: String,
}

#[derive(Template)]
#[template(path = "advisories.html")]
struct IndexPage {
    layout: crate::views::Layout,
    rows: Vec<IndexRow>,
    total: usize,
    query: IndexQuery,
    products: Vec<String>,
    years: Vec<String>,
    severities: Vec<(&'static str, &'static str)>,
    feed: String,
    filtered: bool,
}

const SEVERITIES: [(&str, &str); 6] = [
    ("critical", "Critical"),
    ("high", "High"),
    ("medium", "Medium"),
    ("low", "Low"),
    ("none", "None"),
    ("unscored", "Not scored"),
];

/// `GET /advisories`: every published advisory, searchable.
pub async fn index(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<IndexQuery>,
) -> Result<Response, AppError> {
    let key = format!("index?{}", query.key());
    let page = state
        .public_site
        .page(&state, &key, |all| {
            let rows: Vec<IndexRow> = all
                .iter()
                .filter(|a| query.matches(a))
                .map(|a| IndexRow {
                    path: a.path(),
                    name: a.name.clone(),
                    title: a.title.clone(),
                    published: fmt_time(a.published_at_ms),
                    severity: a
                        .score
                        .as_ref()
                        .map_or_else(|| "Not scored".into(), |s| title_case(&s.severity)),
                    score: a.score.as_ref().map(|s| format!("{:.1}", s.score)).unwrap_or_default(),
                    products: a.product_names().into_iter().collect::<Vec<_>>().join(", "),
                })
                .collect();
            let products: BTreeSet<String> = all.iter().flat_map(Advisory::product_names).collect();
            let years: BTreeSet<String> = all.iter().map(|a| a.year().to_string()).collect();
            let filtered = query.is_filtered();
            let feed = if query.product.trim().is_empty() {
                state.url("/advisories.atom")
            } else {
                state.url(&format!(
                    "/advisories.atom?product={}",
                    url_encode(query.product.trim())
                ))
            };
            html(
                &IndexPage {
                    layout: layout(
                        &state,
                        "Security advisories",
                        "/advisories",
                        &format!(
                            "Security advisories of the {} CVE Numbering Authority for XMPP software.",
                            state.settings.cna_name
                        ),
                        Some(feed.clone()),
                    ),
                    total: all.len(),
                    rows,
                    query: query.clone(),
                    products: products.into_iter().collect(),
                    years: years.into_iter().rev().collect(),
                    severities: SEVERITIES.to_vec(),
                    feed,
                    filtered,
                },
                newest(all),
            )
        })
        .await?;
    Ok(respond(&page, &headers))
}

fn title_case(s: &str) -> String {
    let lower = s.to_lowercase();
    let mut chars = lower.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

// ---- one advisory -----------------------------------------------------------------

struct Download {
    href: String,
    label: String,
}

#[derive(Template)]
#[template(path = "advisory.html")]
struct AdvisoryPage<'a> {
    layout: crate::views::Layout,
    a: &'a Advisory,
    published: String,
    updated: String,
    downloads: Vec<Download>,
    cve_ids: Vec<String>,
}

/// Which representation of an advisory a path asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Html,
    CveJson,
    Osv,
    Csaf,
}

fn split_format(name: &str) -> (&str, Format) {
    for (suffix, f) in [
        (".osv.json", Format::Osv),
        (".csaf.json", Format::Csaf),
        (".json", Format::CveJson),
    ] {
        if let Some(base) = name.strip_suffix(suffix) {
            return (base, f);
        }
    }
    (name, Format::Html)
}

/// `GET /advisories/{name}` with `name` a CVE ID (or `CASE-n` for an
/// advisory without one), and the `.json` (CVE record), `.osv.json` and
/// `.csaf.json` downloads beside it. 404 for anything not public.
pub async fn advisory(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Response, AppError> {
    let (base, format) = split_format(&name);
    let base = base.to_uppercase();
    let page = state
        .public_site
        .page(&state, &format!("advisory/{base}/{format:?}"), |all| {
            let a = all
                .iter()
                .find(|a| a.name == base || a.record(&base).is_some())
                .ok_or(AppError::NotFound)?;
            let record = a.record(&base).or_else(|| a.records.first());
            let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default();
            let export_error = |what: &str, e: &dyn std::fmt::Display| {
                tracing::error!(advisory = %a.name, error = %e, "{what} export failed");
                AppError::NotFound
            };
            match format {
                Format::Html => {
                    let downloads = a
                        .records
                        .iter()
                        .flat_map(|r| {
                            let id = r.cve_id.as_str();
                            [
                                Download {
                                    href: format!("/advisories/{id}.json"),
                                    label: format!("{id} CVE record (JSON 5)"),
                                },
                                Download {
                                    href: format!("/advisories/{id}.osv.json"),
                                    label: format!("{id} OSV"),
                                },
                                Download {
                                    href: format!("/advisories/{id}.csaf.json"),
                                    label: format!("{id} CSAF 2.0"),
                                },
                            ]
                        })
                        .collect();
                    let title = format!("{}: {}", a.name, a.title);
                    html(
                        &AdvisoryPage {
                            layout: layout(
                                &state,
                                &title,
                                &a.path(),
                                &a.summary,
                                Some(state.url("/advisories.atom")),
                            ),
                            a,
                            published: fmt_time(a.published_at_ms),
                            updated: fmt_time(a.updated_at_ms),
                            downloads,
                            cve_ids: a.records.iter().map(|r| r.cve_id.to_string()).collect(),
                        },
                        a.updated_at_ms,
                    )
                    .map(Cached::stable)
                }
                Format::CveJson => {
                    let r = record.ok_or(AppError::NotFound)?;
                    Ok(
                        Cached::new(pretty(&r.record), "application/json", r.updated_at_ms)
                            .download(&format!("{}.json", r.cve_id)),
                    )
                }
                Format::Osv => {
                    let r = record.ok_or(AppError::NotFound)?;
                    let typed = r.typed.as_ref().ok_or(AppError::NotFound)?;
                    let doc =
                        cnadesk_cve::osv::to_osv(typed).map_err(|e| export_error("OSV", &e))?;
                    Ok(
                        Cached::new(pretty(&doc), "application/json", r.updated_at_ms)
                            .download(&format!("{}.osv.json", r.cve_id)),
                    )
                }
                Format::Csaf => {
                    let r = record.ok_or(AppError::NotFound)?;
                    let typed = r.typed.as_ref().ok_or(AppError::NotFound)?;
                    let doc = cnadesk_cve::csaf::to_csaf(
                        typed,
                        &cnadesk_cve::csaf::CsafPublisher {
                            name: state.settings.cna_name.clone(),
                            namespace: state.settings.records.advisory_namespace.clone(),
                            canonical_url: Some(
                                state.url(&format!("/advisories/{}.csaf.json", r.cve_id)),
                            ),
                        },
                    )
                    .map_err(|e| export_error("CSAF", &e))?;
                    Ok(
                        Cached::new(pretty(&doc), "application/json", r.updated_at_ms)
                            .download(&format!("{}.csaf.json", r.cve_id)),
                    )
                }
            }
        })
        .await?;
    Ok(respond(&page, &headers))
}

// ---- the Atom feed ----------------------------------------------------------------

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            '\u{FFFE}' | '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// The Atom 1.0 document of `advisories` (newest first, at most 50).
pub fn atom(state: &AppState, advisories: &[&Advisory], self_path: &str, title: &str) -> String {
    use std::fmt::Write as _;
    let updated = advisories
        .iter()
        .map(|a| a.updated_at_ms)
        .max()
        .unwrap_or(0);
    let mut x = String::new();
    x.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    x.push_str("<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
    let _ = writeln!(x, "  <id>{}</id>", xml_escape(&state.url(self_path)));
    let _ = writeln!(x, "  <title>{}</title>", xml_escape(title));
    let _ = writeln!(x, "  <updated>{}</updated>", rfc3339(updated));
    let _ = writeln!(
        x,
        "  <link rel=\"self\" type=\"application/atom+xml\" href=\"{}\"/>",
        xml_escape(&state.url(self_path))
    );
    let _ = writeln!(
        x,
        "  <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>",
        xml_escape(&state.url("/advisories"))
    );
    let _ = writeln!(
        x,
        "  <author><name>{} CNA</name><uri>{}</uri></author>",
        xml_escape(&state.settings.cna_name),
        xml_escape(&state.url("/"))
    );
    x.push_str("  <generator>cnadesk</generator>\n");
    for a in advisories.iter().take(50) {
        let url = state.url(&a.path());
        x.push_str("  <entry>\n");
        let _ = writeln!(x, "    <id>{}</id>", xml_escape(&url));
        let _ = writeln!(
            x,
            "    <title>{}</title>",
            xml_escape(&format!("{}: {}", a.name, a.title))
        );
        let _ = writeln!(
            x,
            "    <published>{}</published>",
            rfc3339(a.published_at_ms)
        );
        let _ = writeln!(x, "    <updated>{}</updated>", rfc3339(a.updated_at_ms));
        let _ = writeln!(
            x,
            "    <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>",
            xml_escape(&url)
        );
        for r in &a.records {
            let _ = writeln!(
                x,
                "    <link rel=\"related\" type=\"application/json\" title=\"{} CVE record\" href=\"{}\"/>",
                r.cve_id,
                xml_escape(&state.url(&format!("/advisories/{}.json", r.cve_id)))
            );
        }
        let _ = writeln!(
            x,
            "    <category term=\"{}\" label=\"Severity\"/>",
            xml_escape(&a.severity())
        );
        for p in a.product_names() {
            let _ = writeln!(
                x,
                "    <category term=\"{}\" label=\"Product\"/>",
                xml_escape(&p)
            );
        }
        let _ = writeln!(
            x,
            "    <summary type=\"text\">{}</summary>",
            xml_escape(&a.summary)
        );
        x.push_str("  </entry>\n");
    }
    x.push_str("</feed>\n");
    x
}

/// `GET /advisories.atom` (`?product=` for one product's advisories).
pub async fn feed(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<IndexQuery>,
) -> Result<Response, AppError> {
    let product = query.product.trim().to_owned();
    let key = format!("feed?{product}");
    let page = state
        .public_site
        .page(&state, &key, |all| {
            let only = IndexQuery {
                product: product.clone(),
                ..IndexQuery::default()
            };
            let chosen: Vec<&Advisory> = all.iter().filter(|a| only.matches(a)).collect();
            let (path, title) = if product.is_empty() {
                (
                    "/advisories.atom".to_owned(),
                    format!("{} security advisories", state.settings.cna_name),
                )
            } else {
                (
                    format!("/advisories.atom?product={}", url_encode(&product)),
                    format!("{} security advisories: {product}", state.settings.cna_name),
                )
            };
            let body = atom(&state, &chosen, &path, &title);
            Ok(Cached::new(
                body,
                "application/atom+xml; charset=utf-8",
                newest(all),
            ))
        })
        .await?;
    Ok(respond(&page, &headers))
}

// ---- policy, contact, security.txt ------------------------------------------------

struct TargetRow {
    commitment: String,
    targets: String,
}

#[derive(Template)]
#[template(path = "policy.html")]
struct PolicyPage {
    layout: crate::views::Layout,
    cna_name: String,
    consent: bool,
    reminder_days: i64,
    reminders: i64,
    invitation_days: i64,
    targets: Vec<TargetRow>,
    sla_version: String,
}

/// `GET /policy`: how the CNA handles reports, embargoes and publication,
/// from the configuration and the response-time policy in force.
pub async fn policy(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let page = state
        .public_site
        .page(&state, "policy", |_| {
            let c = &state.settings.coordination;
            let sla = state.team.policy();
            let targets = sla
                .targets
                .iter()
                .map(|t| {
                    let mut targets = format!("{}, from {} until {}", t.within, t.starts, t.stops);
                    for (severity, within) in &t.by_severity {
                        targets.push_str(&format!("; {severity}: {within}"));
                    }
                    TargetRow {
                        commitment: t.label.clone(),
                        targets,
                    }
                })
                .collect();
            html(
                &PolicyPage {
                    layout: layout(
                        &state,
                        "Disclosure and embargo policy",
                        "/policy",
                        "How the CNA handles vulnerability reports, embargoes and publication.",
                        None,
                    ),
                    cna_name: state.settings.cna_name.clone(),
                    consent: c.embargo_change_needs_consent,
                    reminder_days: c.reminders.every_ms / 86_400_000,
                    reminders: c.reminders.at_most,
                    invitation_days: c.invitation_ttl_ms / 86_400_000,
                    targets,
                    sla_version: sla.version.clone(),
                },
                0,
            )
        })
        .await?;
    Ok(respond(&page, &headers))
}

/// The `Contact:` URIs: configured, or the security address and the form.
fn contacts(state: &AppState) -> Vec<String> {
    if !state.settings.public.contacts.is_empty() {
        return state.settings.public.contacts.clone();
    }
    let mut out = Vec::new();
    if let Some(address) = state.notify.security_email() {
        out.push(format!("mailto:{address}"));
    }
    out.push(state.url("/report"));
    out
}

#[derive(Template)]
#[template(path = "contact.html")]
struct ContactPage {
    layout: crate::views::Layout,
    email: Option<String>,
    has_key: bool,
    contacts: Vec<String>,
}

/// `GET /contact`
pub async fn contact(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let page = state
        .public_site
        .page(&state, "contact", |_| {
            html(
                &ContactPage {
                    layout: layout(
                        &state,
                        "Contact",
                        "/contact",
                        "How to reach the CNA's security team.",
                        None,
                    ),
                    email: state.notify.security_email(),
                    has_key: state.notify.public_key().is_some(),
                    contacts: contacts(&state),
                },
                0,
            )
        })
        .await?;
    Ok(respond(&page, &headers))
}

/// The RFC 9116 `security.txt` of the desk, valid for `days` from `now_ms`.
pub fn security_txt(state: &AppState, now_ms: i64) -> String {
    use std::fmt::Write as _;
    let mut t = String::new();
    for c in contacts(state) {
        let _ = writeln!(t, "Contact: {c}");
    }
    let expires = now_ms.saturating_add(state.settings.public.security_txt_days * 86_400_000);
    let _ = writeln!(t, "Expires: {}", rfc3339(expires));
    if state.notify.public_key().is_some() {
        let _ = writeln!(t, "Encryption: {}", state.url("/pgp-key.asc"));
    }
    let _ = writeln!(t, "Acknowledgments: {}", state.url("/advisories"));
    let _ = writeln!(t, "Preferred-Languages: en");
    let _ = writeln!(t, "Canonical: {}", state.url("/.well-known/security.txt"));
    let _ = writeln!(t, "Policy: {}", state.url("/policy"));
    t
}

/// `GET /.well-known/security.txt`
pub async fn security_txt_route(State(state): State<AppState>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        security_txt(&state, state.now_ms()),
    )
        .into_response()
}
