//! `blogql seed-demo`: a small demo dataset, so that the playground shows something on the
//! first run. It writes like any other writer: values checked by `domain`, rows written by the
//! `db` functions the API uses, in one transaction through `db::write`. Idempotent: users that
//! already exist (by email) are left as they are, and existing follow edges too.

use sea_orm::DatabaseConnection;

use crate::db;
use crate::domain::follow::FollowEdge;
use crate::domain::user::NewUser;
use crate::error::AppResult;

struct DemoUser {
    name: &'static str,
    email: &'static str,
    posts: &'static [(&'static str, &'static str)],
}

const DEMO_USERS: &[DemoUser] = &[
    DemoUser {
        name: "admin",
        email: "admin@example.com",
        posts: &[(
            "The Life of Cactus",
            "Cacti store water in their stems and can go months without rain.",
        )],
    },
    DemoUser {
        name: "John",
        email: "john@example.com",
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
pub async fn seed_demo(db: &DatabaseConnection) -> AppResult<usize> {
    let demo = DEMO_USERS
        .iter()
        .map(|user| {
            let posts = user
                .posts
                .iter()
                .map(|(title, content)| (title.to_string(), content.to_string()))
                .collect();
            NewUser::parse(user.name.to_string(), user.email.to_string(), posts)
        })
        .collect::<AppResult<Vec<_>>>()?;
    db::write::transaction(db, |txn| {
        let demo = demo.clone();
        Box::pin(async move {
            let mut created = 0;
            let mut ids = Vec::with_capacity(demo.len());
            for user in demo {
                let id = match db::users::find_by_email(txn, &user.email).await? {
                    Some(existing) => existing.id,
                    None => {
                        created += 1;
                        db::users::create(txn, user).await?.id
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
