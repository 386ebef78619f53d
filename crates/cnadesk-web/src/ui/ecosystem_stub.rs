//! Temporary stub.
use crate::AppError;
use axum::response::Response;
/// stub
pub async fn ecosystem_index() -> Result<Response, AppError> {
    Err(AppError::NotFound)
}
/// stub
pub async fn ecosystem_new_form() -> Result<Response, AppError> {
    Err(AppError::NotFound)
}
/// stub
pub async fn ecosystem_add() -> Result<Response, AppError> {
    Err(AppError::NotFound)
}
/// stub
pub async fn ecosystem_product() -> Result<Response, AppError> {
    Err(AppError::NotFound)
}
/// stub
pub async fn ecosystem_annotate() -> Result<Response, AppError> {
    Err(AppError::NotFound)
}
/// stub
pub async fn ecosystem_xep() -> Result<Response, AppError> {
    Err(AppError::NotFound)
}
