//! `blogql seed-demo`: a small demo dataset, so that the playground shows something on the
//! first run. It writes like any other writer: values checked by `domain`, rows written by the
//! `db` functions the API uses, in one transaction through `db::write`. Idempotent: users that
//! already exist (by email) are left as they are, and existing follow edges too.
//!
//! The demo accounts have passwords (`DEMO_USERS`, printed by the command) and `admin` is an
//! admin: they are for a local playground only, never for a server anyone else can reach.

use sea_orm::DatabaseConnection;

use crate::accounts::Accounts;
use crate::db;
use crate::domain::account::{Password, Role};
use crate::domain::follow::FollowEdge;
use crate::domain::user::NewUser;
use crate::error::AppResult;

pub struct DemoUser {
    pub name: &'static str,
    pub email: &'static str,
    /// Published in the README and printed by `seed-demo`: local use only.
    pub password: &'static str,
    pub role: Role,
    posts: &'static [(&'static str, &'static str)],
}

pub const DEMO_USERS: &[DemoUser] = &[
    DemoUser {
        name: "admin",
        email: "admin@example.com",
        password: "admin-demo-password",
        role: Role::Admin,
        posts: &[(
            "The Life of Cactus",
            "Cacti store water in their stems and can go months without rain.",
        )],
    },
    DemoUser {
        name: "John",
        email: "john@example.com",
        password: "john-demo-password",
        role: Role::User,
        posts: &[
            ("First Post", "Hello, world! This is my first post."),
            (
                "Second Post",
                "A second post, to show a user with many posts.",
            ),
        ],
    },
];

/// Who follows whom in the demo, by index in `DEMO_USERS`: John follows admin, so John's feed
/// shows "The Life of Cactus".
const DEMO_FOLLOWS: &[(usize, usize)] = &[(1, 0)];

/// Returns how many users were created.
pub async fn seed_demo(db: &DatabaseConnection, accounts: &Accounts) -> AppResult<usize> {
    let mut demo = Vec::with_capacity(DEMO_USERS.len());
    for user in DEMO_USERS {
        let posts = user
            .posts
            .iter()
            .map(|(title, content)| (title.to_string(), content.to_string()))
            .collect();
        let new = NewUser::parse(user.name.to_string(), user.email.to_string(), posts)?;
        let hash = accounts
            .hash_password(&Password::parse(user.password.to_string())?)
            .await?;
        demo.push((new, hash, user.role));
    }
    db::write::transaction(db, |txn| {
        let demo = demo.clone();
        Box::pin(async move {
            let mut created = 0;
            let mut ids = Vec::with_capacity(demo.len());
            for (user, hash, role) in demo {
                let email = user.email.clone();
                let id = match db::users::find_by_email(txn, &email).await? {
                    Some(existing) => existing.id,
                    None => {
                        created += 1;
                        let id = db::users::create(txn, user, Some(hash)).await?.id;
                        db::users::set_role(txn, &email, role).await?;
                        id
                    }
                };
                ids.push(id);
            }
            for (follower, followee) in DEMO_FOLLOWS {
                db::follows::follow(txn, FollowEdge::new(ids[*follower], ids[*followee])?).await?;
            }
            Ok(created)
        })
    })
    .await
}
