//! A team member's own account: first-run setup, an invitation link (the
//! first password), sign-in with a second factor, sign-out, TOTP enrolment
//! and recovery codes, their password, and personal API tokens.

mod invitation;
mod password;
mod recovery;
mod sign_in;
mod tokens;

pub use invitation::*;
pub use password::*;
pub use recovery::*;
pub use sign_in::*;
pub use tokens::*;
