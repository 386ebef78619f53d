//! The names of the cookies the desk sets (a leaf: every module that reads
//! or writes a cookie names it from here).

/// The team session cookie.
pub const SESSION_COOKIE: &str = "cnadesk_session";

/// The vendor session cookie (path `/vendor`).
pub const VENDOR_COOKIE: &str = "cnadesk_vendor";

/// The anti-forgery cookie.
pub const CSRF_COOKIE: &str = "cnadesk_csrf";
