//! The `users` table: the parent side of the one-to-many relation.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub name: String,
    /// `name` lower-cased by the application, for case-insensitive filters.
    pub name_folded: String,
    #[sea_orm(unique)]
    pub email: String,
    pub created_at: ChronoDateTimeUtc,
    /// argon2id hash (PHC string); `None` until a password is set.
    pub password_hash: Option<String>,
    /// `user` or `admin`.
    pub role: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The foreign key lives on the child: `posts.author_id`.
    #[sea_orm(has_many = "super::post::Entity")]
    Post,
}

impl Related<super::post::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Post.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
