//! Extractors that make the checks every handler needs part of its
//! signature, so that no handler can forget them.
//!
//! - [`CsrfForm`]: a urlencoded form whose anti-forgery token was verified
//!   before the handler runs; a bad or missing token is refused with the
//!   403 page of [`AppError::Csrf`].
//! - [`ReshownForm`]: a urlencoded form that shows itself again, with what
//!   was typed, when its token is bad (sign-in, setup, second factor): the
//!   handler gets the form and a [`CsrfVerdict`] it has to act on.
//! - [`IdPath`]: path parameters parsed into typed ids; a parameter that is
//!   not an id of that kind is the 404 page, as an unknown id would be.
//!
//! The route table ([`crate::routes`]) registers a `POST` route only for a
//! handler whose last argument implements [`CsrfChecking`], which only these
//! extractors (and the two multipart readers: the report form and the vendor
//! upload) do; the JSON API is registered as explicitly exempt.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Path, RawForm, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::Form;
use cnadesk_core::{AttachmentId, CaseId, MessageId, ReportId, UserId, VendorId};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::security::Csrf;
use crate::{AppError, AppState};

/// How a `POST` route protects itself against forged cross-site requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CsrfRule {
    /// Not a `POST`: changes nothing, takes no token.
    Safe,
    /// The token is checked before the handler runs; without a valid one
    /// the request is refused with the 403 page and nothing is done.
    Checked,
    /// The token is checked before anything is changed; without a valid
    /// one the form is shown again, with what was typed and a word about the
    /// expired form (403 or 422), and nothing is done.
    Reshown,
    /// No cookie-bound token: the JSON API, which takes no cookies (a
    /// browser cannot send it a cross-site JSON request without CORS).
    Exempt,
}

/// What a route's request body is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RequestBody {
    /// None (a `GET`).
    Empty,
    /// `application/x-www-form-urlencoded`.
    Form,
    /// `multipart/form-data`.
    Multipart,
    /// `application/json`.
    Json,
}

/// An extractor that checks the anti-forgery token of the body it reads.
/// Only types that really check it implement this; the route table takes
/// the rule and body of a `POST` route from its handler's last argument.
pub trait CsrfChecking {
    /// How the token is enforced.
    const RULE: CsrfRule;
    /// The body the extractor reads.
    const BODY: RequestBody;
}

/// Whether the token sent with a form belongs to this browser and session.
#[must_use = "a form whose token is invalid must be refused"]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CsrfVerdict {
    /// The token is this browser's: the form may change things.
    Valid,
    /// Missing, expired or forged: nothing may be done.
    Invalid,
}

impl CsrfVerdict {
    /// The verdict on `submitted` for this request.
    pub(crate) fn of(csrf: &Csrf, submitted: &str) -> Self {
        if csrf.check(submitted) {
            CsrfVerdict::Valid
        } else {
            CsrfVerdict::Invalid
        }
    }

    /// `Ok` for a valid token, else the 403 page.
    pub(crate) fn require(self) -> Result<(), AppError> {
        match self {
            CsrfVerdict::Valid => Ok(()),
            CsrfVerdict::Invalid => Err(AppError::Csrf),
        }
    }
}

/// A form with no field but the token (buttons: log out, retry, take…).
#[derive(Debug, Default, Deserialize)]
pub struct TokenOnly {}

/// A urlencoded form of `T` whose `csrf` field was checked against the
/// browser's cookie and session.
///
/// Reads the body as [`axum::Form`] does (same content type check, same body
/// limit, same rejections), refuses a bad or missing token with the 403 page
/// of [`AppError::Csrf`] before `T` is even parsed, then parses `T` as
/// [`axum::Form`] would (a `T` that does not fit is its 422). The token is
/// read on its own: `T` needs no `csrf` field.
#[derive(Debug)]
pub struct CsrfForm<T>(pub T);

impl<T> FromRequest<AppState> for CsrfForm<T>
where
    T: DeserializeOwned + Send,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let csrf = Csrf::from_parts(&parts, state);
        let bytes = raw_form(parts.clone(), body, state).await?;
        let token = submitted_token(parts.clone(), bytes.clone(), state).await;
        CsrfVerdict::of(&csrf, &token)
            .require()
            .map_err(IntoResponse::into_response)?;
        parse_form(parts, bytes, state).await.map(CsrfForm)
    }
}

impl<T> CsrfChecking for CsrfForm<T> {
    const RULE: CsrfRule = CsrfRule::Checked;
    const BODY: RequestBody = RequestBody::Form;
}

/// A urlencoded form of `T` with the verdict on its token, for forms that
/// are shown again (with what was typed) when the token is bad.
///
/// Parsed as [`axum::Form`] would (same rejections); the handler must not
/// change anything unless [`ReshownForm::verdict`] is [`CsrfVerdict::Valid`].
#[derive(Debug)]
pub struct ReshownForm<T> {
    /// The form.
    pub form: T,
    /// Whether its token belongs to this browser.
    pub verdict: CsrfVerdict,
}

impl<T> FromRequest<AppState> for ReshownForm<T>
where
    T: DeserializeOwned + Send,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let csrf = Csrf::from_parts(&parts, state);
        let bytes = raw_form(parts.clone(), body, state).await?;
        let token = submitted_token(parts.clone(), bytes.clone(), state).await;
        let verdict = CsrfVerdict::of(&csrf, &token);
        let form = parse_form(parts, bytes, state).await?;
        Ok(ReshownForm { form, verdict })
    }
}

impl<T> CsrfChecking for ReshownForm<T> {
    const RULE: CsrfRule = CsrfRule::Reshown;
    const BODY: RequestBody = RequestBody::Form;
}

/// The body of a urlencoded form, with [`RawForm`]'s checks and rejections.
async fn raw_form(parts: Parts, body: Body, state: &AppState) -> Result<Bytes, Response> {
    RawForm::from_request(Request::from_parts(parts, body), state)
        .await
        .map(|RawForm(bytes)| bytes)
        .map_err(IntoResponse::into_response)
}

/// `bytes` parsed as [`axum::Form`] parses a request, with its rejections.
async fn parse_form<T: DeserializeOwned>(
    parts: Parts,
    bytes: Bytes,
    state: &AppState,
) -> Result<T, Response> {
    Form::<T>::from_request(Request::from_parts(parts, Body::from(bytes)), state)
        .await
        .map(|Form(value)| value)
        .map_err(IntoResponse::into_response)
}

/// The `csrf` field of a form, whatever else it has.
#[derive(Debug, Default, Deserialize)]
struct TokenField {
    #[serde(default)]
    csrf: String,
}

/// The `csrf` field of a urlencoded body, read as [`axum::Form`] reads
/// fields; empty when there is none, or more than one.
async fn submitted_token(parts: Parts, bytes: Bytes, state: &AppState) -> String {
    parse_form::<TokenField>(parts, bytes, state)
        .await
        .map(|t| t.csrf)
        .unwrap_or_default()
}

/// One path parameter parsed into a typed value.
pub trait PathSegment: Sized {
    /// The value, or `None` when `segment` is not one.
    fn parse_segment(segment: &str) -> Option<Self>;
}

impl PathSegment for String {
    fn parse_segment(segment: &str) -> Option<Self> {
        Some(segment.to_owned())
    }
}

impl PathSegment for i64 {
    fn parse_segment(segment: &str) -> Option<Self> {
        segment.parse().ok()
    }
}

macro_rules! id_segments {
    ($($id:ty),*) => {
        $(
            /// `12` or the prefixed form (`CASE-12`); ids are positive.
            impl PathSegment for $id {
                fn parse_segment(segment: &str) -> Option<Self> {
                    segment.parse().ok()
                }
            }
        )*
    };
}

id_segments!(AttachmentId, CaseId, MessageId, ReportId, UserId, VendorId);

/// All of a route's path parameters, in order: one [`PathSegment`] or a
/// tuple of them.
pub trait PathSegments: Sized {
    /// The values, or `None` when a parameter does not parse or the count
    /// differs.
    fn from_segments(segments: &[String]) -> Option<Self>;
}

impl<A: PathSegment> PathSegments for A {
    fn from_segments(segments: &[String]) -> Option<Self> {
        match segments {
            [a] => A::parse_segment(a),
            _ => None,
        }
    }
}

impl<A: PathSegment, B: PathSegment> PathSegments for (A, B) {
    fn from_segments(segments: &[String]) -> Option<Self> {
        match segments {
            [a, b] => Some((A::parse_segment(a)?, B::parse_segment(b)?)),
            _ => None,
        }
    }
}

impl<A: PathSegment, B: PathSegment, C: PathSegment> PathSegments for (A, B, C) {
    fn from_segments(segments: &[String]) -> Option<Self> {
        match segments {
            [a, b, c] => Some((
                A::parse_segment(a)?,
                B::parse_segment(b)?,
                C::parse_segment(c)?,
            )),
            _ => None,
        }
    }
}

/// Typed path parameters (`IdPath(id): IdPath<CaseId>`,
/// `IdPath((case, row)): IdPath<(CaseId, i64)>`).
///
/// A parameter that is not a value of its type is the 404 page
/// ([`AppError::NotFound`]), like an id that names nothing; a path that
/// cannot be decoded at all (invalid UTF-8) keeps [`Path`]'s own rejection.
#[derive(Debug)]
pub struct IdPath<T>(pub T);

impl<S, T> FromRequestParts<S> for IdPath<T>
where
    S: Send + Sync,
    T: PathSegments + Send,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(segments) = Path::<Vec<String>>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        T::from_segments(&segments)
            .map(IdPath)
            .ok_or_else(|| AppError::NotFound.into_response())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_parse_into_typed_ids() {
        let segs = |s: &[&str]| s.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(CaseId::from_segments(&segs(&["12"])), Some(CaseId(12)));
        assert_eq!(
            ReportId::from_segments(&segs(&["REP-3"])),
            Some(ReportId(3))
        );
        assert_eq!(CaseId::from_segments(&segs(&["0"])), None);
        assert_eq!(CaseId::from_segments(&segs(&["x"])), None);
        assert_eq!(CaseId::from_segments(&segs(&["1", "2"])), None);
        assert_eq!(
            <(CaseId, i64)>::from_segments(&segs(&["1", "-2"])),
            Some((CaseId(1), -2))
        );
        assert_eq!(<(CaseId, i64)>::from_segments(&segs(&["1", "b"])), None);
        assert_eq!(
            <(CaseId, String, String)>::from_segments(&segs(&["1", "2", "osv.json"])),
            Some((CaseId(1), "2".to_owned(), "osv.json".to_owned()))
        );
    }
}
