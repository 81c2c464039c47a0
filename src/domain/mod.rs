//! Validated values and the pure rules of the domain: what a user name, an email or a post
//! title may be, what a new user brings with it, who may follow whom. Everything that writes
//! (the API, `seed-demo`) goes through these, so a row that reaches the database has passed the
//! same checks whoever wrote it. This module uses no other module of blogql but `error`.

pub mod account;
pub mod follow;
pub mod post;
pub mod text;
pub mod user;
