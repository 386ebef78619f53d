//! The vendor portal (`/vendor`): vendor contacts invited to a case sign
//! in, acknowledge the embargo, answer for their products and talk with the
//! team.

mod portal;

pub use portal::*;
