//! Published advisories: the public side of a case once its embargo is
//! lifted. Before that, the page does not exist (404), whoever asks.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use cnadesk_core::{CaseId, CveId};

use crate::security::Csrf;
use crate::views::{fmt_time, render, Layout};
use crate::{AppError, AppState};

struct Row {
    product: String,
    status: String,
    affected_versions: String,
    fixed_versions: String,
    statement: String,
}

struct Vuln {
    title: String,
    summary: String,
    references: String,
    rows: Vec<Row>,
}

#[derive(Template)]
#[template(path = "advisory.html")]
struct AdvisoryPage {
    layout: Layout,
    name: String,
    title: String,
    published: String,
    cve_id: String,
    vulnerabilities: Vec<Vuln>,
}

/// The case an advisory name (`CVE-2026-1234` or `CASE-7`) stands for.
async fn case_of(state: &AppState, name: &str) -> Result<CaseId, AppError> {
    if let Ok(cve) = name.parse::<CveId>() {
        return state
            .store
            .cve_id_entry(&cve)
            .await?
            .and_then(|e| e.case_id)
            .ok_or(AppError::NotFound);
    }
    if name.starts_with(CaseId::PREFIX) {
        return name.parse().map_err(|_| AppError::NotFound);
    }
    Err(AppError::NotFound)
}

/// `GET /advisories/{name}`: a published advisory; 404 while embargoed.
pub async fn advisory(
    State(state): State<AppState>,
    csrf: Csrf,
    Path(name): Path<String>,
) -> Result<Response, AppError> {
    let id = case_of(&state, &name).await?;
    let published = state.store.advisory(id).await?.ok_or(AppError::NotFound)?;
    let case = state.store.case(id).await?.ok_or(AppError::NotFound)?;
    let products = state.store.affected_products(id).await?;
    let vulnerabilities = state
        .store
        .vulnerabilities(id)
        .await?
        .into_iter()
        .map(|v| {
            let mut refs: Vec<String> = v.xeps.iter().map(ToString::to_string).collect();
            refs.extend(v.rfcs.iter().cloned());
            Vuln {
                rows: products
                    .iter()
                    .filter(|p| p.vulnerability_id == v.id)
                    .map(|p| Row {
                        product: p.product_name.clone(),
                        status: p.status.label().to_owned(),
                        affected_versions: p.affected_versions.clone(),
                        fixed_versions: p.fixed_versions.clone(),
                        statement: p.statement.clone(),
                    })
                    .collect(),
                title: v.title,
                summary: v.summary,
                references: refs.join(", "),
            }
        })
        .collect();
    let cve_id = case.cve_id.map(|c| c.to_string()).unwrap_or_default();
    Ok(render(
        StatusCode::OK,
        &AdvisoryPage {
            layout: Layout::anonymous(&state.config.cna_name, &case.title, &csrf.token),
            name: if cve_id.is_empty() {
                id.to_string()
            } else {
                cve_id.clone()
            },
            title: case.title,
            published: fmt_time(published.published_at_ms),
            cve_id,
            vulnerabilities,
        },
    ))
}
