//! Keys, tokens and CSRF protection.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};

use crate::AppState;

pub use crate::cookies::CSRF_COOKIE;

pub use cnadesk_app::keys::{random_token, sha256_hex, BadKey, ServerKey};

/// The anti-forgery token for the current browser, to put in forms.
#[derive(Clone, Debug)]
pub struct CsrfToken(pub String);

/// Gives every browser an anti-forgery cookie and puts the matching form
/// token into the request. Form handlers receive their form through an
/// extractor of [`crate::extract`] that checks it.
pub async fn csrf_cookie(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let jar = CookieJar::from_headers(req.headers());
    let (value, fresh) = match jar.get(CSRF_COOKIE) {
        Some(c) if c.value().len() >= 32 => (c.value().to_owned(), false),
        _ => (random_token(), true),
    };
    // The token binds the browser's cookie and its session (if any): a
    // cookie planted from a sibling host is useless without the victim's
    // session, and signing in changes every token.
    let session = jar
        .get(crate::cookies::SESSION_COOKIE)
        .map(|c| c.value().to_owned())
        .unwrap_or_default();
    let vendor = jar
        .get(crate::cookies::VENDOR_COOKIE)
        .map(|c| c.value().to_owned())
        .unwrap_or_default();
    let material = format!("{value}|{session}|{vendor}");
    let token = state.key.sign("csrf", material.as_bytes());
    req.extensions_mut().insert(CsrfToken(token));
    req.extensions_mut().insert(CsrfCookie(material));
    // Machine endpoints have no forms: no cookie for them.
    let path = req.uri().path();
    let wants_cookie = !(path.starts_with("/api/")
        || path.starts_with("/static/")
        || path == "/healthz"
        || path == "/readyz");
    let mut res = next.run(req).await;
    if fresh && wants_cookie {
        let cookie = Cookie::build((CSRF_COOKIE, value))
            .path("/")
            .http_only(true)
            // Lax, not Strict: with Strict, arriving from a link on another
            // site would replace the cookie and break forms open in other tabs.
            .same_site(SameSite::Lax)
            .secure(state.config.cookie_secure)
            .build();
        if let Ok(v) = cookie.to_string().parse() {
            res.headers_mut().append(axum::http::header::SET_COOKIE, v);
        }
    }
    res
}

/// What this request's form tokens are bound to (cookie and session).
#[derive(Clone, Debug)]
struct CsrfCookie(String);

/// The anti-forgery state of a request: the token to render into forms and
/// the means to check a submitted one.
#[derive(Clone, Debug)]
pub struct Csrf {
    /// Token for forms.
    pub token: String,
    cookie: String,
    key: std::sync::Arc<ServerKey>,
}

impl Csrf {
    /// Whether a submitted form token belongs to this browser. Handlers do
    /// not call this: they take their form through an extractor of
    /// [`crate::extract`] (or a multipart reader) that does.
    pub(crate) fn check(&self, submitted: &str) -> bool {
        // The cookie is new when the browser did not send one: then no
        // submitted token can match, which is the point.
        self.key
            .verify("csrf", self.cookie.as_bytes(), submitted.trim())
    }

    /// The anti-forgery state that [`csrf_cookie`] put into the request.
    pub(crate) fn from_parts(parts: &Parts, state: &AppState) -> Self {
        let cookie = parts
            .extensions
            .get::<CsrfCookie>()
            .map(|c| c.0.clone())
            .unwrap_or_default();
        let token = parts
            .extensions
            .get::<CsrfToken>()
            .map(|t| t.0.clone())
            .unwrap_or_default();
        Csrf {
            token,
            cookie,
            key: state.key.clone(),
        }
    }
}

impl FromRequestParts<AppState> for Csrf {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Csrf::from_parts(parts, state))
    }
}

/// The client's address: the TCP peer, or, when the peer is a configured
/// trusted proxy, the nearest untrusted address in `X-Forwarded-For`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl ClientIp {
    /// Determines the client from the peer and the forwarding header.
    pub fn resolve(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[IpAddr]) -> ClientIp {
        if !trusted.contains(&peer) {
            return ClientIp(peer);
        }
        // Walk from the nearest hop outwards; the first address that is not
        // one of our proxies is the client. Unparseable entries end the walk.
        let mut client = peer;
        for hop in forwarded_for.unwrap_or("").rsplit(',') {
            match hop.trim().parse::<IpAddr>() {
                Ok(ip) => {
                    client = ip;
                    if !trusted.contains(&ip) {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        ClientIp(client)
    }

    /// The key for per-address limits: the address for IPv4, the /64
    /// network for IPv6 (one subscriber usually holds a whole /64).
    pub fn limit_key(&self) -> String {
        match self.0 {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => v4.to_string(),
                None => {
                    let s = v6.segments();
                    format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
                }
            },
        }
    }
}

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(IpAddr::from([127, 0, 0, 1]));
        let forwarded = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok());
        Ok(ClientIp::resolve(
            peer,
            forwarded,
            &state.config.trusted_proxies,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_addresses_behind_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let client: IpAddr = "203.0.113.7".parse().unwrap();
        let trusted = [proxy];
        assert_eq!(
            ClientIp::resolve(client, Some("1.2.3.4"), &trusted).0,
            client,
            "untrusted peers cannot claim an address"
        );
        assert_eq!(
            ClientIp::resolve(proxy, Some("203.0.113.7"), &trusted).0,
            client
        );
        assert_eq!(
            ClientIp::resolve(proxy, Some("6.6.6.6, 203.0.113.7, 10.0.0.1"), &trusted).0,
            client,
            "the nearest untrusted hop, not the first (which the client can forge)"
        );
        assert_eq!(ClientIp::resolve(proxy, None, &trusted).0, proxy);
        assert_eq!(ClientIp::resolve(proxy, Some("garbage"), &trusted).0, proxy);
    }

    #[test]
    fn ipv6_clients_are_limited_per_64() {
        let a = ClientIp("2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = ClientIp("2001:db8:1:2:bbbb::9".parse().unwrap());
        assert_eq!(a.limit_key(), b.limit_key());
        assert_eq!(a.limit_key(), "2001:db8:1:2::/64");
        assert_eq!(
            ClientIp("::ffff:192.0.2.1".parse().unwrap()).limit_key(),
            "192.0.2.1"
        );
        assert_eq!(
            ClientIp("192.0.2.1".parse().unwrap()).limit_key(),
            "192.0.2.1"
        );
    }
}
