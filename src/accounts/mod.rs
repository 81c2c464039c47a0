//! Accounts: sign-up, log-in, log-out, and who a bearer token stands for. Passwords are hashed
//! with argon2id off the async workers (`password`); tokens are opaque random strings, kept by
//! the server only as their SHA-256 in a sessions table with an expiry (`token`), so a token is
//! revoked by deleting its row: log-out does, and so does deleting the user. Failed log-ins are
//! rate-limited per email and per client address (`limiter`).
//!
//! Why opaque tokens and not signed ones (JWT): blogql has a database on every request anyway,
//! so looking a session up costs one indexed read, and in exchange log-out and account deletion
//! take effect at once, with no revocation list and no signing key to keep secret or rotate.

mod limiter;
mod password;
pub mod token;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::user;
use sea_orm::{ConnectionTrait, DatabaseConnection};

use crate::db;
use crate::domain::account::{Password, Role, Viewer};
use crate::domain::user::{Email, NewUser};
use crate::error::{AppError, AppResult};
use crate::events::{Bus, Event};
pub use limiter::LoginLimiter;
pub use password::Hasher;

/// The one answer to a failed log-in, whatever failed: no account tells which emails exist.
const WRONG_CREDENTIALS: &str = "the email or the password is wrong";

/// A session just opened: the token, which only its client will ever hold.
#[derive(Debug, Clone)]
pub struct Session {
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// The accounts service of a running server.
pub struct Accounts {
    hasher: Arc<Hasher>,
    limiter: LoginLimiter,
    session_ttl: Duration,
}

impl Accounts {
    pub fn new(session_ttl: Duration) -> AppResult<Self> {
        Ok(Accounts {
            hasher: Hasher::new()?,
            limiter: LoginLimiter::default(),
            session_ttl,
        })
    }

    /// Password hash computations so far (for `/metrics` and the timing tests).
    pub fn hash_computations(&self) -> u64 {
        self.hasher.computations()
    }

    /// Creates a user with a password, and their first posts, and logs them in: one
    /// transaction, which announces the posts on `bus` like any other new post.
    pub async fn sign_up(
        &self,
        db: &DatabaseConnection,
        new: NewUser,
        password: Password,
        bus: Option<&Bus>,
    ) -> AppResult<(user::Model, Session)> {
        let hash = self.hasher.hash(&password).await?;
        let ttl = self.session_ttl;
        let bus = bus.cloned();
        let (user, session, events) = db::write::transaction(db, |txn| {
            let (new, hash, bus) = (new.clone(), hash.clone(), bus.clone());
            Box::pin(async move {
                let with_posts = !new.posts.is_empty();
                let user = db::users::create(txn, new, Some(hash)).await?;
                let session = open_session(txn, user.id, ttl).await?;
                let mut events = Vec::new();
                if let (true, Some(bus)) = (with_posts, &bus) {
                    events = db::posts::ids_by_author(txn, user.id)
                        .await?
                        .into_iter()
                        .map(|post_id| Event::PostCreated {
                            post_id,
                            author_id: user.id,
                        })
                        .collect();
                    bus.announce_in(txn, &events).await?;
                }
                Ok((user, session, events))
            })
        })
        .await?;
        if let Some(bus) = &bus {
            bus.committed(&events);
        }
        Ok((user, session))
    }

    /// Logs in the user with `email` if `password` is theirs. Every failure is the same
    /// `UNAUTHENTICATED` answer, after the same work (one hash computation); repeated failures
    /// are `RATE_LIMITED`.
    pub async fn log_in(
        &self,
        db: &DatabaseConnection,
        email: String,
        password: String,
        client: Option<IpAddr>,
    ) -> AppResult<(user::Model, Session)> {
        let email = Email::parse(email).ok();
        let email_key = email.as_ref().map_or("", Email::as_str).to_string();
        self.limiter.check(&email_key, client)?;
        let password = Password::offered(password)?;
        let user = match &email {
            Some(email) => db::users::find_by_email(db, email).await?,
            None => None,
        };
        let hash = user.as_ref().and_then(|user| user.password_hash.as_deref());
        if !self.hasher.verify(hash, &password).await? {
            self.limiter.record_failure(&email_key, client);
            return Err(AppError::unauthenticated(WRONG_CREDENTIALS));
        }
        let Some(user) = user else {
            return Err(AppError::unauthenticated(WRONG_CREDENTIALS));
        };
        let ttl = self.session_ttl;
        let user_id = user.id;
        let session = db::write::transaction(db, |txn| {
            Box::pin(async move { open_session(txn, user_id, ttl).await })
        })
        .await?;
        Ok((user, session))
    }

    /// The argon2id hash of `password` (for writers other than sign-up, e.g. `seed-demo`).
    pub async fn hash_password(&self, password: &Password) -> AppResult<String> {
        self.hasher.hash(password).await
    }

    /// Sets the password of the user with `email` (for `blogql set-password`).
    pub async fn set_password(
        &self,
        db: &DatabaseConnection,
        email: &Email,
        password: Password,
    ) -> AppResult<user::Model> {
        let hash = self.hasher.hash(&password).await?;
        db::users::set_password_hash(db, email, hash).await
    }
}

/// Who the bearer token `token` stands for. A token that is malformed, unknown (never issued,
/// logged out, its user deleted) or expired is `UNAUTHENTICATED`.
pub async fn authenticate(db: &impl ConnectionTrait, token: &str) -> AppResult<Viewer> {
    if !token::well_formed(token) {
        return Err(AppError::unauthenticated("the bearer token is malformed"));
    }
    let Some((session, user)) = db::sessions::find(db, &token::fingerprint(token)).await? else {
        return Err(AppError::unauthenticated("the bearer token is not valid"));
    };
    if session.expires_at <= Utc::now() {
        return Err(AppError::unauthenticated(
            "the bearer token has expired: log in again",
        ));
    }
    Ok(Viewer {
        user_id: user.id,
        role: Role::parse(&user.role),
    })
}

/// Closes the session of `token`; whether it was open.
pub async fn log_out(db: &DatabaseConnection, token: &str) -> AppResult<bool> {
    let fingerprint = token::fingerprint(token);
    db::write::transaction(db, |txn| {
        let fingerprint = fingerprint.clone();
        Box::pin(async move { db::sessions::delete(txn, &fingerprint).await })
    })
    .await
}

/// Makes the user with `email` an admin (for `blogql grant-admin`; never through the API).
pub async fn grant_admin(db: &DatabaseConnection, email: &Email) -> AppResult<user::Model> {
    db::users::set_role(db, email, Role::Admin).await
}

/// Opens a session for the user `user_id`, valid for `ttl`: how sign-up and log-in hand out
/// tokens (and how tests act as a user without hashing a password).
pub async fn open_session(
    db: &impl ConnectionTrait,
    user_id: i32,
    ttl: Duration,
) -> AppResult<Session> {
    let token = token::generate();
    let ttl = chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::days(30));
    let expires_at = db::now() + ttl;
    db::sessions::create(db, user_id, token::fingerprint(&token), expires_at).await?;
    Ok(Session { token, expires_at })
}
