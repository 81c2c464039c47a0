//! SeaORM entities for blogql: `user` has many `post`, `post` belongs to `user`, and `follow`
//! links users to the users they follow.
//!
//! This crate knows SeaORM and nothing else: no GraphQL derives live here. The API layer in the
//! server wraps these models, so a new column reaches clients only on purpose.

pub mod follow;
pub mod post;
pub mod user;
