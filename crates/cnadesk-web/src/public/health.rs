//! Liveness and readiness.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::json;

use crate::AppState;

/// `GET /healthz`: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, description = "The process is alive")))]
pub async fn healthz() -> impl IntoResponse {
    (StatusCode::OK, Json(json!({"status": "ok"})))
}

/// `GET /readyz`: the database answers and takes writes (a probe row is
/// committed), so a node that cannot store a report is taken out of
/// rotation; the reason is in the body.
#[utoipa::path(get, path = "/readyz", tag = "health", responses(
    (status = 200, description = "Ready to serve"),
    (status = 503, description = "The database does not answer or cannot take writes; `reason` says why")))]
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    // `write_probe` commits a probe row only when no write committed in the
    // last seconds (and none failed since), and waits for it at most 5 s.
    let checked = match state.store.ping().await {
        Ok(()) => state.store.write_probe(state.now_ms()).await,
        Err(e) => Err(e),
    };
    match checked {
        Ok(()) => (
            StatusCode::OK,
            [(axum::http::header::CACHE_CONTROL, "no-store")],
            Json(json!({"status": "ready", "database": state.store.backend()})),
        )
            .into_response(),
        Err(e) => {
            let reason = match &e {
                cnadesk_store::StoreError::Unavailable(reason) => reason.clone(),
                _ => "the database failed a check (see the log)".to_owned(),
            };
            tracing::warn!(error = %e, "readiness check failed");
            crate::error::unavailable(
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [(axum::http::header::CACHE_CONTROL, "no-store")],
                    Json(json!({
                        "status": "unavailable",
                        "database": state.store.backend(),
                        "reason": reason,
                    })),
                )
                    .into_response(),
            )
        }
    }
}
