//! The ecosystem pages: the products the XSF lists or archived (with what
//! their DOAP files declare), lookups by name, URL or package, the
//! implementations of a XEP, and the team's annotations (aliases,
//! repositories, packages, forks, end of life, own CNA), including products
//! a member adds.
//!
//! Annotations are saved through the store, which audits every change with
//! the previous and the new annotation; the registry the scope engine reads
//! picks them up on the next request.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use cnadesk_app::scope::{save_annotation, AnnotationError};
use cnadesk_core::FieldError;
use cnadesk_ecosystem::{names, slug, Annotation, Listing, MatchKind, Product, Registry};
use serde::Deserialize;

use super::check_text;
use crate::auth::{encode_component, Member};
use crate::extract::CsrfForm;
use crate::security::Csrf;
use crate::views::error_for;
use crate::views::{render, Layout};
use crate::{AppError, AppState};

/// Longest entry of a list field (one line), and of a one-line field.
const MAX_LINE: usize = 300;
/// Most entries of a list field.
const MAX_LINES: usize = 50;
/// Longest note.
const MAX_NOTE: usize = 2000;
/// Longest name of an added product.
const MAX_NAME: usize = 120;
/// Longest search text.
const MAX_QUERY: usize = 300;

/// The xmpp.org categories, with the checkbox field of each on the
/// add-product form.
const CATEGORIES: [(&str, &str); 6] = [
    ("client", "cat_client"),
    ("server", "cat_server"),
    ("library", "cat_library"),
    ("component", "cat_component"),
    ("tool", "cat_tool"),
    ("integrated-platform", "cat_integrated_platform"),
];

/// An option of a select or a checkbox.
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

/// A URL shown on a page: a link only when it is a web address.
struct Link {
    href: String,
    text: String,
}

fn link(url: &str) -> Link {
    Link {
        href: if is_web_url(url) {
            url.to_owned()
        } else {
            String::new()
        },
        text: url.to_owned(),
    }
}

fn is_web_url(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://"))
        && !url.trim().chars().any(char::is_whitespace)
        && names::url_key(url).is_some()
}

/// The start of a text, for messages.
fn excerpt(text: &str) -> String {
    let mut out: String = text.chars().take(60).collect();
    if text.chars().count() > 60 {
        out.push('…');
    }
    out
}

fn product_path(key: &str) -> String {
    format!("/desk/ecosystem/products/{}", encode_component(key))
}

/// What the team's annotation says, as short labels.
fn badges(p: &Product) -> Vec<String> {
    let a = &p.annotation;
    let mut out = Vec::new();
    if let Some(f) = &a.fork_of {
        out.push(format!("fork of {f}"));
    }
    if let Some(c) = &a.own_cna {
        out.push(format!("own CNA: {c}"));
    }
    if let Some(d) = &a.end_of_life {
        out.push(format!("end of life {d}"));
    }
    out
}

fn category_list(p: &Product) -> String {
    if p.categories.is_empty() {
        "—".into()
    } else {
        p.categories.join(", ")
    }
}

// ---- index and search --------------------------------------------------------------

/// Query of the ecosystem index: a search, filters, or a XEP to look up.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EcosystemQuery {
    q: String,
    listing: String,
    category: String,
    xep: String,
}

struct ProductRow {
    key: String,
    name: String,
    categories: String,
    listing: &'static str,
    xeps: String,
    badges: Vec<String>,
    how: String,
}

fn product_row(p: &Product, how: String) -> ProductRow {
    ProductRow {
        key: p.key.clone(),
        name: p.name.clone(),
        categories: category_list(p),
        listing: p.listing.label(),
        xeps: match &p.doap {
            Some(d) if d.xeps.len() == 1 => "1 XEP".into(),
            Some(d) => format!("{} XEPs", d.xeps.len()),
            None => "no DOAP".into(),
        },
        badges: badges(p),
        how,
    }
}

#[derive(Template)]
#[template(path = "ecosystem_index.html")]
struct IndexPage {
    layout: Layout,
    q: String,
    xep: String,
    xep_error: String,
    listings: Vec<Choice>,
    categories: Vec<Choice>,
    searched: bool,
    matches: Vec<ProductRow>,
    rows: Vec<ProductRow>,
    total: usize,
    origin: String,
    warnings: Vec<String>,
}

fn keep(p: &Product, listing: Option<Listing>, category: Option<&str>) -> bool {
    listing.is_none_or(|l| p.listing == l)
        && category.is_none_or(|c| p.categories.iter().any(|x| x == c))
}

/// `GET /desk/ecosystem`: every product, or those a search finds (first
/// what the registry's lookup finds, then names containing the text), with
/// filters by listing and category. `?xep=NNNN` goes to that XEP's page.
pub async fn ecosystem_index(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
    Query(query): Query<EcosystemQuery>,
) -> Result<Response, AppError> {
    let registry = state.scope.registry(&*state.store).await?;
    let xep_text = query.xep.trim();
    let mut xep_error = String::new();
    let mut status = StatusCode::OK;
    if !xep_text.is_empty() {
        match cnadesk_ecosystem::names::xep_number(xep_text) {
            Some(n) if registry.xep(n).is_some() => {
                return Ok(Redirect::to(&format!("/desk/ecosystem/xeps/{n}")).into_response());
            }
            Some(n) => {
                xep_error = format!("XEP-{n:04} is not on the XEP list.");
                status = StatusCode::NOT_FOUND;
            }
            None => {
                xep_error = format!(
                    "“{}” is not a XEP number (for example 280 or 0280).",
                    excerpt(xep_text)
                );
                status = StatusCode::UNPROCESSABLE_ENTITY;
            }
        }
    }

    let listing = Listing::parse(query.listing.trim());
    let category = CATEGORIES
        .iter()
        .map(|(c, _)| *c)
        .find(|c| *c == query.category.trim());
    let q: String = query.q.trim().chars().take(MAX_QUERY).collect();
    let mut matches = Vec::new();
    let mut rows = Vec::new();
    if q.is_empty() {
        rows = registry
            .products()
            .iter()
            .filter(|p| keep(p, listing, category))
            .map(|p| product_row(p, String::new()))
            .collect();
    } else {
        let found = registry.lookup(&q);
        for m in &found {
            if let Some(p) = registry.product(&m.key) {
                if keep(p, listing, category) {
                    let how = match m.kind {
                        MatchKind::Url | MatchKind::Package => {
                            format!("by {} {}", m.kind.label(), m.matched)
                        }
                        kind => format!("by {}", kind.label()),
                    };
                    matches.push(product_row(p, how));
                }
            }
        }
        let needle = q.to_lowercase();
        for p in registry.products() {
            if keep(p, listing, category)
                && !found.iter().any(|m| m.key == p.key)
                && p.name.to_lowercase().contains(&needle)
            {
                rows.push(product_row(p, String::new()));
            }
        }
    }

    let listing_value = listing.map_or("", Listing::as_str);
    let listings = [
        ("", "any listing"),
        ("listed", Listing::Listed.label()),
        ("archived", Listing::Archived.label()),
        ("local", Listing::Local.label()),
    ]
    .into_iter()
    .map(|(value, label)| Choice {
        value: value.into(),
        label: label.into(),
        selected: value == listing_value,
    })
    .collect();
    let categories = std::iter::once("")
        .chain(CATEGORIES.iter().map(|(c, _)| *c))
        .map(|c| Choice {
            value: c.into(),
            label: if c.is_empty() {
                "any category".into()
            } else {
                c.replace('-', " ")
            },
            selected: c == category.unwrap_or(""),
        })
        .collect();
    let page = IndexPage {
        layout: member.layout(&state, "Ecosystem", &csrf.token),
        searched: !q.is_empty(),
        q,
        xep: query.xep.clone(),
        xep_error,
        listings,
        categories,
        matches,
        rows,
        total: registry.products().len(),
        origin: state.scope.origin().to_owned(),
        warnings: registry.warnings().to_vec(),
    };
    Ok(render(status, &page))
}

// ---- the annotation form -----------------------------------------------------------

/// The annotation form, and the add-product form (which also carries the
/// name, home page and one checkbox per category). Every field defaults,
/// so the anti-forgery check runs before anything else is looked at.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EcosystemForm {
    name: String,
    homepage: String,
    cat_client: String,
    cat_server: String,
    cat_library: String,
    cat_component: String,
    cat_tool: String,
    cat_integrated_platform: String,
    aliases: String,
    repositories: String,
    packages: String,
    vendor_contacts: String,
    fork_of: String,
    end_of_life: String,
    own_cna: String,
    note: String,
}

impl EcosystemForm {
    /// The form showing an annotation.
    fn from_annotation(a: &Annotation) -> Self {
        EcosystemForm {
            aliases: a.aliases.join("\n"),
            repositories: a.repositories.join("\n"),
            packages: a.packages.join("\n"),
            vendor_contacts: a.vendor_contacts.join("\n"),
            fork_of: a.fork_of.clone().unwrap_or_default(),
            end_of_life: a.end_of_life.clone().unwrap_or_default(),
            own_cna: a.own_cna.clone().unwrap_or_default(),
            note: a.note.clone().unwrap_or_default(),
            ..EcosystemForm::default()
        }
    }

    /// The value of a category checkbox (empty when unchecked).
    fn category_field(&self, field: &str) -> &str {
        match field {
            "cat_client" => &self.cat_client,
            "cat_server" => &self.cat_server,
            "cat_library" => &self.cat_library,
            "cat_component" => &self.cat_component,
            "cat_tool" => &self.cat_tool,
            "cat_integrated_platform" => &self.cat_integrated_platform,
            _ => "",
        }
    }

    /// The checked categories.
    fn categories(&self) -> Vec<String> {
        CATEGORIES
            .iter()
            .filter(|(_, field)| !self.category_field(field).is_empty())
            .map(|(c, _)| (*c).to_owned())
            .collect()
    }

    /// The category checkboxes as the form shows them.
    fn category_choices(&self) -> Vec<Choice> {
        CATEGORIES
            .iter()
            .map(|(c, field)| Choice {
                value: (*field).to_owned(),
                label: c.replace('-', " "),
                selected: !self.category_field(field).is_empty(),
            })
            .collect()
    }
}

/// The non-empty lines of a text, trimmed, without repeats.
fn lines(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if !out.iter().any(|o| o == line) {
            out.push(line.to_owned());
        }
    }
    out
}

/// Checks a one-per-line field: the number of entries, each entry's length,
/// and `valid` on each entry. Returns the entries.
fn check_lines(
    field: &str,
    what: &str,
    text: &str,
    errors: &mut Vec<FieldError>,
    valid: impl Fn(&str) -> Result<(), String>,
) -> Vec<String> {
    let items = lines(text);
    if items.len() > MAX_LINES {
        errors.push(FieldError::new(
            field,
            format!(
                "At most {MAX_LINES} {what}, one per line ({} given).",
                items.len()
            ),
        ));
    }
    for item in &items {
        let n = item.chars().count();
        if n > MAX_LINE {
            errors.push(FieldError::new(
                field,
                format!(
                    "“{}” is too long ({n} characters; at most {MAX_LINE}).",
                    excerpt(item)
                ),
            ));
        } else if item.chars().any(char::is_control) {
            errors.push(FieldError::new(
                field,
                format!("“{}” contains control characters.", excerpt(item)),
            ));
        } else if let Err(m) = valid(item) {
            errors.push(FieldError::new(field, m));
        }
    }
    items
}

/// Checks a one-line field; `None` when it is empty or refused.
fn single(field: &str, label: &str, text: &str, errors: &mut Vec<FieldError>) -> Option<String> {
    let t = text.trim();
    if let Err(m) = check_text(label, t, MAX_LINE, false, false) {
        errors.push(FieldError::new(field, m));
        return None;
    }
    (!t.is_empty()).then(|| t.to_owned())
}

fn check_web_url(url: &str) -> Result<(), String> {
    if is_web_url(url) {
        Ok(())
    } else {
        Err(format!(
            "“{}” is not a web address: it must start with https:// or http://.",
            excerpt(url)
        ))
    }
}

fn check_purl(text: &str) -> Result<(), String> {
    if text.starts_with("pkg:")
        && !text.chars().any(char::is_whitespace)
        && names::purl(text).is_some()
    {
        Ok(())
    } else {
        Err(format!(
            "“{}” is not a package URL: write pkg:type/name, for example pkg:hex/xmpp.",
            excerpt(text)
        ))
    }
}

/// Checks the annotation fields against the registry. `this` is the key of
/// the product being annotated (a product is not a fork of itself). The
/// annotation has the team's fields only; the caller sets `name`, `added`,
/// `categories` and `homepage`.
fn check_annotation(
    form: &EcosystemForm,
    registry: &Registry,
    this: Option<&str>,
) -> (Annotation, Vec<FieldError>) {
    let mut errors = Vec::new();
    let aliases = check_lines("aliases", "aliases", &form.aliases, &mut errors, |_| Ok(()));
    let repositories = check_lines(
        "repositories",
        "repositories",
        &form.repositories,
        &mut errors,
        check_web_url,
    );
    let packages = check_lines(
        "packages",
        "package URLs",
        &form.packages,
        &mut errors,
        check_purl,
    );
    let vendor_contacts = check_lines(
        "vendor_contacts",
        "contacts",
        &form.vendor_contacts,
        &mut errors,
        |_| Ok(()),
    );
    let fork_of = match single(
        "fork_of",
        "The original product",
        &form.fork_of,
        &mut errors,
    ) {
        None => None,
        Some(name) => match registry.product_named(&name) {
            Some(p) if Some(p.key.as_str()) == this => {
                errors.push(FieldError::new(
                    "fork_of",
                    "A product cannot be a fork of itself.",
                ));
                None
            }
            Some(p) => Some(p.name.clone()),
            None => {
                errors.push(FieldError::new(
                    "fork_of",
                    format!(
                        "“{}” is not a product in the registry: use its name as listed here.",
                        excerpt(&name)
                    ),
                ));
                None
            }
        },
    };
    let end_of_life = match single(
        "end_of_life",
        "The end of life",
        &form.end_of_life,
        &mut errors,
    ) {
        None => None,
        Some(text) => match text.parse::<jiff::civil::Date>() {
            Ok(date) => Some(date.to_string()),
            Err(_) => {
                errors.push(FieldError::new(
                    "end_of_life",
                    format!("“{}” is not a date: use YYYY-MM-DD.", excerpt(&text)),
                ));
                None
            }
        },
    };
    let own_cna = match single("own_cna", "The CNA", &form.own_cna, &mut errors) {
        None => None,
        Some(name) => match registry.cna(&name) {
            Some(cna) => Some(cna.short_name.clone()),
            None => {
                errors.push(FieldError::new(
                    "own_cna",
                    format!(
                        "“{}” is not on the CVE Program's list of CNAs: use the CNA's short name (for example mozilla).",
                        excerpt(&name)
                    ),
                ));
                None
            }
        },
    };
    let note = match check_text("The note", &form.note, MAX_NOTE, false, true) {
        Ok(()) => Some(form.note.trim().to_owned()).filter(|n| !n.is_empty()),
        Err(m) => {
            errors.push(FieldError::new("note", m));
            None
        }
    };
    let annotation = Annotation {
        aliases,
        repositories,
        packages,
        vendor_contacts,
        fork_of,
        end_of_life,
        own_cna,
        note,
        ..Annotation::default()
    };
    (annotation, errors)
}

// ---- product page ------------------------------------------------------------------

/// A notice after a redirect.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EcosystemNotice {
    done: String,
}

struct DoapXepRow {
    number: u16,
    padded: String,
    title: String,
    status: String,
    version: String,
    since: String,
    note: String,
}

struct DoapView {
    shortdesc: String,
    homepage: Option<Link>,
    repositories: Vec<Link>,
    languages: String,
    os: String,
    rfcs: String,
    releases: Vec<String>,
    xeps: Vec<DoapXepRow>,
}

#[derive(Template)]
#[template(path = "ecosystem_product.html")]
struct ProductPage {
    layout: Layout,
    key: String,
    name: String,
    categories: String,
    platforms: String,
    homepage: Option<Link>,
    doap_url: Option<Link>,
    listing: &'static str,
    local: bool,
    first_seen: String,
    last_change: String,
    archived_on: String,
    last_renewed: String,
    badges: Vec<String>,
    own_cna_organization: String,
    /// Its Package URLs (the team's, then those its repositories give).
    purls: Vec<String>,
    doap: Option<DoapView>,
    form: EcosystemForm,
    errors: Vec<FieldError>,
    notice: String,
}

impl ProductPage {
    fn error_for(&self, field: &str) -> String {
        error_for(&self.errors, field)
    }
}

/// What the annotation form shows: the values and the problems with them.
struct Edit {
    form: EcosystemForm,
    errors: Vec<FieldError>,
    notice: String,
}

fn doap_view(registry: &Registry, p: &Product) -> Option<DoapView> {
    let d = p.doap.as_ref()?;
    let mut xeps: Vec<DoapXepRow> = d
        .xeps
        .iter()
        .map(|x| DoapXepRow {
            number: x.number,
            padded: format!("{:04}", x.number),
            title: registry
                .xep(x.number)
                .map(|e| e.title.clone())
                .unwrap_or_else(|| "(not on the XEP list)".into()),
            status: x.status.clone().unwrap_or_default(),
            version: x.version.clone().unwrap_or_default(),
            since: x.since.clone().unwrap_or_default(),
            note: x.note.clone().unwrap_or_default(),
        })
        .collect();
    xeps.sort_by_key(|x| x.number);
    Some(DoapView {
        shortdesc: d.shortdesc.clone().unwrap_or_default(),
        homepage: d.homepage.as_deref().map(link),
        repositories: d.repositories.iter().map(|r| link(r)).collect(),
        languages: d.languages.join(", "),
        os: d.os.join(", "),
        rfcs: d
            .rfcs
            .iter()
            .map(|r| format!("RFC {r}"))
            .collect::<Vec<_>>()
            .join(", "),
        releases: d
            .releases
            .iter()
            .map(|r| match &r.created {
                Some(c) => format!("{} ({c})", r.revision),
                None => r.revision.clone(),
            })
            .collect(),
        xeps,
    })
}

fn product_page(
    state: &AppState,
    member: &Member,
    csrf: &Csrf,
    registry: &Registry,
    p: &Product,
    edit: Edit,
    status: StatusCode,
) -> Response {
    let history = p.history.as_ref();
    let page = ProductPage {
        purls: p.purls(),
        layout: member.layout(state, &p.name, &csrf.token),
        key: p.key.clone(),
        name: p.name.clone(),
        categories: category_list(p),
        platforms: p.platforms.join(", "),
        homepage: p.homepage.as_deref().map(link),
        doap_url: p.doap_url.as_deref().map(link),
        listing: p.listing.label(),
        local: p.listing == Listing::Local,
        first_seen: history
            .and_then(|h| h.first_seen_in_list.clone())
            .unwrap_or_default(),
        last_change: history
            .and_then(|h| h.last_entry_change.clone())
            .unwrap_or_default(),
        archived_on: history
            .and_then(|h| h.archived_on.clone())
            .unwrap_or_default(),
        last_renewed: history
            .and_then(|h| h.last_renewed_2023_snapshot.clone())
            .unwrap_or_default(),
        badges: badges(p),
        own_cna_organization: p
            .annotation
            .own_cna
            .as_deref()
            .and_then(|c| registry.cna(c))
            .map(|c| c.organization.clone())
            .unwrap_or_default(),
        doap: doap_view(registry, p),
        form: edit.form,
        errors: edit.errors,
        notice: edit.notice,
    };
    render(status, &page)
}

/// `GET /desk/ecosystem/products/{key}`: what xmpp.org and the DOAP file
/// say about a product, and the team's annotation.
pub async fn ecosystem_product(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
    Path(key): Path<String>,
    Query(q): Query<EcosystemNotice>,
) -> Result<Response, AppError> {
    let registry = state.scope.registry(&*state.store).await?;
    let product = registry.product(&key).ok_or(AppError::NotFound)?;
    let notice = match q.done.as_str() {
        "saved" => "The annotation is saved.",
        "added" => "The product is added to the registry.",
        _ => "",
    };
    let edit = Edit {
        form: EcosystemForm::from_annotation(&product.annotation),
        errors: Vec::new(),
        notice: notice.to_owned(),
    };
    Ok(product_page(
        &state,
        &member,
        &csrf,
        &registry,
        product,
        edit,
        StatusCode::OK,
    ))
}

/// `POST /desk/ecosystem/products/{key}`: saves the team's annotation of a
/// product (audited). A product a member added keeps its name, categories
/// and home page: its annotation is its whole definition.
pub async fn ecosystem_annotate(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
    Path(key): Path<String>,
    CsrfForm(form): CsrfForm<EcosystemForm>,
) -> Result<Response, AppError> {
    let registry = state.scope.registry(&*state.store).await?;
    let product = registry.product(&key).ok_or(AppError::NotFound)?;
    let (mut annotation, mut errors) =
        check_annotation(&form, &registry, Some(product.key.as_str()));
    if product.annotation.added {
        annotation.added = true;
        annotation.name = product.annotation.name.clone();
        annotation.categories = product.annotation.categories.clone();
        annotation.homepage = product.annotation.homepage.clone();
    } else {
        annotation.name = product.name.clone();
    }
    if errors.is_empty() {
        match save_annotation(&state, &product.key, &annotation, &member.actor()).await {
            Ok(()) => {
                return Ok(
                    Redirect::to(&format!("{}?done=saved", product_path(&product.key)))
                        .into_response(),
                )
            }
            Err(AnnotationError::Refused(m)) => errors.push(FieldError::new("form", m)),
            Err(AnnotationError::Store(e)) => return Err(e.into()),
        }
    }
    let edit = Edit {
        form,
        errors,
        notice: String::new(),
    };
    Ok(product_page(
        &state,
        &member,
        &csrf,
        &registry,
        product,
        edit,
        StatusCode::UNPROCESSABLE_ENTITY,
    ))
}

// ---- adding a product --------------------------------------------------------------

#[derive(Template)]
#[template(path = "ecosystem_new.html")]
struct NewPage {
    layout: Layout,
    categories: Vec<Choice>,
    form: EcosystemForm,
    errors: Vec<FieldError>,
    duplicate_key: String,
    duplicate_name: String,
}

impl NewPage {
    fn error_for(&self, field: &str) -> String {
        error_for(&self.errors, field)
    }
}

fn new_page(
    state: &AppState,
    member: &Member,
    csrf: &Csrf,
    form: EcosystemForm,
    errors: Vec<FieldError>,
    duplicate: Option<(String, String)>,
    status: StatusCode,
) -> Response {
    let (duplicate_key, duplicate_name) = duplicate.unwrap_or_default();
    let page = NewPage {
        layout: member.layout(state, "Add a product", &csrf.token),
        categories: form.category_choices(),
        form,
        errors,
        duplicate_key,
        duplicate_name,
    };
    render(status, &page)
}

/// `GET /desk/ecosystem/new`: the form to add a product that is not on the
/// xmpp.org lists.
pub async fn ecosystem_new_form(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
) -> Result<Response, AppError> {
    Ok(new_page(
        &state,
        &member,
        &csrf,
        EcosystemForm::default(),
        Vec::new(),
        None,
        StatusCode::OK,
    ))
}

/// The product already in the registry under this name: the same key, the
/// same name (case and punctuation aside), or a name or alias the lookup
/// finds.
fn existing<'a>(registry: &'a Registry, name: &str, key: &str) -> Option<&'a Product> {
    registry
        .product(key)
        .or_else(|| registry.product_named(name))
        .or_else(|| {
            registry
                .lookup(name)
                .into_iter()
                .find(|m| matches!(m.kind, MatchKind::Name | MatchKind::Alias))
                .and_then(|m| registry.product(&m.key))
        })
}

/// `POST /desk/ecosystem/products`: adds a product (audited). Its key is
/// made from its name; a name already in the registry is refused.
pub async fn ecosystem_add(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
    CsrfForm(form): CsrfForm<EcosystemForm>,
) -> Result<Response, AppError> {
    let registry = state.scope.registry(&*state.store).await?;
    let name = form.name.trim().to_owned();
    let key = slug(&name);
    let (mut annotation, mut errors) = check_annotation(&form, &registry, Some(key.as_str()));
    let mut duplicate = None;
    if let Err(m) = check_text("The name", &name, MAX_NAME, true, false) {
        errors.push(FieldError::new("name", m));
    } else if key.is_empty() {
        errors.push(FieldError::new(
            "name",
            "The name needs at least one letter or digit.",
        ));
    } else if let Some(p) = existing(&registry, &name, &key) {
        errors.push(FieldError::new(
            "name",
            format!("“{}” is already in the registry:", excerpt(&name)),
        ));
        duplicate = Some((p.key.clone(), p.name.clone()));
    }
    let homepage = single("homepage", "The home page", &form.homepage, &mut errors);
    if let Some(h) = &homepage {
        if let Err(m) = check_web_url(h) {
            errors.push(FieldError::new("homepage", m));
        }
    }
    annotation.added = true;
    annotation.name = name;
    annotation.categories = form.categories();
    annotation.homepage = homepage;
    if errors.is_empty() {
        match save_annotation(&state, &key, &annotation, &member.actor()).await {
            Ok(()) => {
                return Ok(
                    Redirect::to(&format!("{}?done=added", product_path(&key))).into_response()
                )
            }
            Err(AnnotationError::Refused(m)) => errors.push(FieldError::new("form", m)),
            Err(AnnotationError::Store(e)) => return Err(e.into()),
        }
    }
    Ok(new_page(
        &state,
        &member,
        &csrf,
        form,
        errors,
        duplicate,
        StatusCode::UNPROCESSABLE_ENTITY,
    ))
}

// ---- XEP page ----------------------------------------------------------------------

struct ImplementationRow {
    key: String,
    name: String,
    categories: String,
    listing: &'static str,
    archived: bool,
    status: String,
    version: String,
    since: String,
    note: String,
}

struct UnknownRow {
    key: String,
    name: String,
    categories: String,
}

#[derive(Template)]
#[template(path = "ecosystem_xep.html")]
struct XepPage {
    layout: Layout,
    number: u16,
    padded: String,
    title: String,
    status: String,
    kind: String,
    last_revision: String,
    declared: Vec<ImplementationRow>,
    unknown: Vec<UnknownRow>,
}

/// `GET /desk/ecosystem/xeps/{number}`: a XEP, the products whose DOAP
/// declares it, and the maintained ones whose support is unknown.
pub async fn ecosystem_xep(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
    Path(number): Path<String>,
) -> Result<Response, AppError> {
    let n = cnadesk_ecosystem::names::xep_number(&number).ok_or(AppError::NotFound)?;
    let registry = state.scope.registry(&*state.store).await?;
    let imp = registry.implementations(n);
    let xep = imp.xep.ok_or(AppError::NotFound)?;
    let mut declared: Vec<ImplementationRow> = imp
        .declared
        .iter()
        .map(|(p, s)| ImplementationRow {
            key: p.key.clone(),
            name: p.name.clone(),
            categories: category_list(p),
            listing: p.listing.label(),
            archived: p.listing == Listing::Archived,
            status: s.status.clone().unwrap_or_default(),
            version: s.version.clone().unwrap_or_default(),
            since: s.since.clone().unwrap_or_default(),
            note: s.note.clone().unwrap_or_default(),
        })
        .collect();
    declared.sort_by_key(|r| (r.archived, r.name.to_lowercase()));
    let mut unknown: Vec<UnknownRow> = imp
        .unknown
        .iter()
        .map(|p| UnknownRow {
            key: p.key.clone(),
            name: p.name.clone(),
            categories: category_list(p),
        })
        .collect();
    unknown.sort_by_key(|r| r.name.to_lowercase());
    let last_revision = match (&xep.last_revision_version, &xep.last_revision_date) {
        (Some(v), Some(d)) => format!("{v} ({d})"),
        (Some(v), None) => v.clone(),
        (None, Some(d)) => d.clone(),
        (None, None) => String::new(),
    };
    let padded = format!("{n:04}");
    let page = XepPage {
        layout: member.layout(&state, &format!("XEP-{padded}: {}", xep.title), &csrf.token),
        number: n,
        padded,
        title: xep.title.clone(),
        status: xep.status.clone(),
        kind: xep.kind.clone().unwrap_or_default(),
        last_revision,
        declared,
        unknown,
    };
    Ok(render(StatusCode::OK, &page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_trimmed_and_deduplicated() {
        assert_eq!(
            lines(" a \r\n\nb\na\n"),
            vec!["a".to_owned(), "b".to_owned()]
        );
    }

    #[test]
    fn urls_and_package_urls_are_checked() {
        assert!(check_web_url("https://github.com/dino/dino").is_ok());
        assert!(check_web_url("javascript:alert(1)").is_err());
        assert!(check_web_url("ftp://example.org/x").is_err());
        assert!(check_purl("pkg:hex/xmpp").is_ok());
        assert!(check_purl("hex/xmpp").is_err());
        assert!(check_purl("pkg:hex").is_err());
    }

    #[test]
    fn categories_come_from_one_checkbox_each() {
        let form = EcosystemForm {
            cat_server: "on".into(),
            cat_integrated_platform: "on".into(),
            ..EcosystemForm::default()
        };
        assert_eq!(form.categories(), ["server", "integrated-platform"]);
    }
}
