//! `blogql seed-demo`: a small demo dataset, so that the playground shows something on the
//! first run. Idempotent: users that already exist (by email) are left as they are.

use entity::{post, user};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set,
    TransactionTrait,
};

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

/// Returns how many users were created.
pub async fn seed_demo(db: &DatabaseConnection) -> anyhow::Result<usize> {
    let txn = db.begin().await?;
    let mut created = 0;
    for demo in DEMO_USERS {
        let exists = user::Entity::find()
            .filter(user::Column::Email.eq(demo.email))
            .one(&txn)
            .await?
            .is_some();
        if exists {
            continue;
        }
        let now = crate::db::now();
        let author = user::ActiveModel {
            name: Set(demo.name.to_string()),
            email: Set(demo.email.to_string()),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        for (title, content) in demo.posts {
            post::ActiveModel {
                title: Set(title.to_string()),
                content: Set(content.to_string()),
                author_id: Set(author.id),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
        }
        created += 1;
    }
    txn.commit().await?;
    Ok(created)
}
