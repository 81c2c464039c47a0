//! Accounts in the API: `signUp`, `logIn`, `logOut`, and `viewer`, the user behind the
//! request's bearer token. The work is `accounts`'; these resolvers only parse and answer.

use async_graphql::{Context, InputObject, Object, ResultExt, SimpleObject};
use chrono::{DateTime, Utc};

use crate::accounts::{self, Session};
use crate::domain::account::Password;
use crate::domain::user::NewUser;
use crate::error::AppError;
use crate::events::Bus;
use crate::graphql::connection::Node;
use crate::graphql::context::{
    accounts, bearer_token, client_addr, database, forget_loaded, loaders, viewer,
};
use crate::graphql::objects::User;
use crate::graphql::resolve::Resolved;
use crate::graphql::user::CreateUserPostInput;

#[derive(Default)]
pub struct AccountQuery;

#[Object]
impl AccountQuery {
    /// The user behind the request's bearer token (`Authorization: Bearer <token>`), or null
    /// without one.
    async fn viewer(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Resolved<User>>> {
        let Some(viewer) = viewer(ctx) else {
            return Ok(None);
        };
        let user = loaders(ctx)
            .extend()?
            .user_by_id
            .load_one(viewer.user_id)
            .await;
        Ok(user
            .extend()?
            .map(|row| Resolved(<User as Node>::from_row(row))))
    }
}

/// A new account, optionally with posts: all of it is written, or none.
#[derive(InputObject)]
pub struct SignUpInput {
    /// Not empty, at most 1000 characters.
    pub name: String,
    /// Unique; at most 255 characters. Stored in lower case.
    pub email: String,
    /// At least 8 characters, at most 1024; passphrases welcome. Stored only as an argon2id
    /// hash, never returned, never logged.
    pub password: String,
    /// Posts written by the new user, created in the same transaction.
    #[graphql(default)]
    pub posts: Vec<CreateUserPostInput>,
}

/// An account's credentials.
#[derive(InputObject)]
pub struct LogInInput {
    pub email: String,
    pub password: String,
}

/// A log-in: the bearer token to send as `Authorization: Bearer <token>`, until it expires.
#[derive(SimpleObject)]
pub struct AuthPayload {
    /// Keep it secret: it acts as the user until it expires or `logOut` revokes it.
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: User,
}

/// What `logOut` did.
#[derive(SimpleObject)]
pub struct LogOutPayload {
    /// True when the token's session was open and is now closed.
    pub logged_out: bool,
}

fn auth_payload(user: entity::user::Model, session: Session) -> AuthPayload {
    AuthPayload {
        token: session.token,
        expires_at: session.expires_at,
        user: User::as_themselves(user),
    }
}

#[derive(Default)]
pub struct AccountMutation;

#[Object]
impl AccountMutation {
    /// Creates an account (and, with `posts`, its first posts) and logs it in. Needs no token.
    async fn sign_up(
        &self,
        ctx: &Context<'_>,
        input: SignUpInput,
    ) -> async_graphql::Result<AuthPayload> {
        let posts = input
            .posts
            .into_iter()
            .map(|post| (post.title, post.content))
            .collect();
        let new = NewUser::parse(input.name, input.email, posts).extend()?;
        let password = Password::parse(input.password).extend()?;
        let signed_up = accounts(ctx)
            .extend()?
            .sign_up(
                database(ctx).extend()?,
                new,
                password,
                ctx.data_opt::<Bus>(),
            )
            .await;
        forget_loaded(ctx);
        let (user, session) = signed_up.extend()?;
        Ok(auth_payload(user, session))
    }

    /// Logs in: a new bearer token for the account. An unknown email and a wrong password get
    /// the same answer (`UNAUTHENTICATED`); repeated failures for an email or from an address
    /// are `RATE_LIMITED` (with `extensions.retryAfter`, in seconds).
    async fn log_in(
        &self,
        ctx: &Context<'_>,
        input: LogInInput,
    ) -> async_graphql::Result<AuthPayload> {
        let logged_in = accounts(ctx)
            .extend()?
            .log_in(
                database(ctx).extend()?,
                input.email,
                input.password,
                client_addr(ctx),
            )
            .await;
        let (user, session) = logged_in.extend()?;
        Ok(auth_payload(user, session))
    }

    /// Revokes the bearer token the request was sent with.
    async fn log_out(&self, ctx: &Context<'_>) -> async_graphql::Result<LogOutPayload> {
        let token = bearer_token(ctx)
            .ok_or_else(|| AppError::unauthenticated("log out needs the bearer token to revoke"))
            .extend()?;
        let logged_out = accounts::log_out(database(ctx).extend()?, token)
            .await
            .extend()?;
        forget_loaded(ctx);
        Ok(LogOutPayload { logged_out })
    }
}
