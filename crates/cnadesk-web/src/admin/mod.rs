//! Admins only: team accounts, the outbox of messages, and the quarantine
//! of received mail.

mod mail;
mod users;

pub use mail::*;
pub use users::*;
