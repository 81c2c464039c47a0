//! SeaORM entities for blogql: `user` has many `post`, `post` belongs to `user`, and `follow`
//! links users to the users they follow; a `session` is an open bearer token of a user.
//!
//! This crate knows SeaORM and nothing else: no GraphQL derives live here. The API layer in the
//! server wraps these models, so a new column reaches clients only on purpose.

pub mod follow;
pub mod post;
pub mod session;
pub mod user;
