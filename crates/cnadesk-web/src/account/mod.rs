//! A team member's own account: first-run setup, sign-in with a second
//! factor, sign-out, TOTP enrolment, and personal API tokens.

mod sign_in;
mod tokens;

pub use sign_in::*;
pub use tokens::*;
