//! Rows by id: the one query behind every by-id loader.

use sea_orm::sea_query::Values;
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryTrait};
use sea_orm::{Statement, Value};

use crate::db::page::{Columns, FromColumns};
use crate::db::statements::{built_once, Shape};
use crate::error::AppResult;

/// A table whose rows have an integer id.
pub trait HasId: EntityTrait {
    fn id_column() -> Self::Column;
    fn id_of(row: &Self::Model) -> i32;
}

/// The rows with these ids; ids without a row are simply absent.
pub async fn find_by_ids<E>(db: &impl ConnectionTrait, ids: &[i32]) -> AppResult<Vec<E::Model>>
where
    E: HasId,
    E::Model: FromColumns,
{
    let statement = by_ids_statement::<E>(db.get_database_backend(), ids);
    // The statement selects E's columns in their declared order: read by position, as pages
    // are (`page::columns`), rather than by name through SeaORM (a sixth of `user(id:)`).
    let rows = db.query_all_raw(statement).await?;
    let models = rows
        .iter()
        .map(|row| E::Model::from_columns(&mut Columns::new(row)))
        .collect::<Result<_, _>>()?;
    Ok(models)
}

/// `SELECT <E's columns> FROM <E> WHERE id IN (<ids>)`, its text built once per table,
/// database and number of ids.
fn by_ids_statement<E: HasId>(backend: DbBackend, ids: &[i32]) -> Statement {
    let shape = Shape::new::<E>(backend, vec![ids.len() as u32]);
    let values = Values(ids.iter().map(|&id| Value::Int(Some(id))).collect());
    let built: Result<_, std::convert::Infallible> = built_once(shape, backend, values, || {
        Ok(E::find()
            .filter(E::id_column().is_in(ids.iter().copied()))
            .build(backend))
    });
    match built {
        Ok(statement) => statement,
    }
}

#[cfg(test)]
mod tests {
    use entity::{post, user};
    use sea_orm::{ColumnTrait, DbBackend, EntityTrait, QueryFilter, QueryTrait};

    use super::by_ids_statement;
    use crate::db::statements::{is_kept, Shape};

    /// A kept statement is the one SeaORM builds for the same table, database and number of
    /// ids, with the new ids as its values.
    #[test]
    fn a_kept_statement_is_the_one_built_for_its_ids() {
        for backend in [DbBackend::Postgres, DbBackend::MySql, DbBackend::Sqlite] {
            for ids in [vec![7], vec![3, 1, 2], (1..=64).collect::<Vec<i32>>()] {
                let first = by_ids_statement::<user::Entity>(backend, &ids);
                let others: Vec<i32> = ids.iter().map(|id| id + 100).collect();
                let kept = by_ids_statement::<user::Entity>(backend, &others);
                let fresh = user::Entity::find()
                    .filter(user::Column::Id.is_in(others.iter().copied()))
                    .build(backend);
                assert_eq!(kept.sql, fresh.sql);
                assert_eq!(kept.values, fresh.values);
                assert_eq!(first.sql, fresh.sql);
                let shape = Shape::new::<user::Entity>(backend, vec![ids.len() as u32]);
                assert!(shape.is_some_and(|shape| is_kept(&shape)));
            }
        }
    }

    /// Tables do not share statements.
    #[test]
    fn each_table_has_its_own_statements() {
        let users = by_ids_statement::<user::Entity>(DbBackend::Postgres, &[1]);
        let posts = by_ids_statement::<post::Entity>(DbBackend::Postgres, &[1]);
        assert!(users.sql.contains(r#"FROM "users""#), "{}", users.sql);
        assert!(posts.sql.contains(r#"FROM "posts""#), "{}", posts.sql);
    }
}
