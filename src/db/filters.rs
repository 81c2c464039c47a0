//! Filters of lists of posts and users, as SQL conditions: field predicates, `and`/`or`/`not`,
//! and relation filters (`EXISTS` subqueries: a user's posts, a post's author), so that a
//! filtered page is still one statement, however many parents share it.
//!
//! Text is matched case-insensitively (`contains`, `startsWith`) against the folded copies of
//! titles and names (see `domain::text::fold`), with `LIKE` patterns whose wildcards in the
//! client's value are escaped: `%` and `_` match themselves. Exact matches (`eq`, `in`) compare
//! the stored text. Values come validated from the API (`graphql::filter`).

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use entity::{follow, post, user};
use sea_orm::sea_query::{
    Alias, Asterisk, Condition, DynIden, Expr, ExprTrait, IntoIden, LikeExpr, Query,
    SelectStatement, SimpleExpr,
};

use crate::db::page::ListFilter;
use crate::domain::text::fold;

/// Text predicates; those given must all hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct TextMatch {
    pub eq: Option<String>,
    /// Case-insensitive substring.
    pub contains: Option<String>,
    /// Case-insensitive prefix.
    pub starts_with: Option<String>,
    pub any_of: Option<Vec<String>>,
}

/// Id predicates.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct IdMatch {
    pub eq: Option<i32>,
    pub any_of: Option<Vec<i32>>,
}

/// Bounds on an ordered value (a time in microseconds, or a count).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Range {
    pub gt: Option<i64>,
    pub gte: Option<i64>,
    pub lt: Option<i64>,
    pub lte: Option<i64>,
}

/// Which posts to keep.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PostFilter {
    pub title: Option<TextMatch>,
    pub author_id: Option<IdMatch>,
    /// Microseconds since the Unix epoch.
    pub created_at: Option<Range>,
    pub author: Option<Box<UserFilter>>,
    pub and: Vec<PostFilter>,
    pub or: Vec<PostFilter>,
    pub not: Option<Box<PostFilter>>,
}

/// Which users to keep.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct UserFilter {
    pub name: Option<TextMatch>,
    pub email: Option<TextMatch>,
    pub post_count: Option<Range>,
    pub follower_count: Option<Range>,
    pub posts: Option<PostsMatch>,
    pub and: Vec<UserFilter>,
    pub or: Vec<UserFilter>,
    pub not: Option<Box<UserFilter>>,
}

/// A relation filter on a user's posts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PostsMatch {
    /// At least one post matches.
    pub some: Option<Box<PostFilter>>,
    /// No post matches.
    pub none: Option<Box<PostFilter>>,
    /// Every post matches (true for a user without posts).
    pub every: Option<Box<PostFilter>>,
}

impl PostFilter {
    /// The filter of a list of posts (whose rows are the `posts` table).
    pub fn into_list_filter(self) -> ListFilter {
        let condition = self.condition(&Alias::new("posts").into_iden(), &mut Aliases::default());
        ListFilter::new(format!("{self:?}"), condition)
    }

    fn condition(&self, posts: &DynIden, aliases: &mut Aliases) -> Condition {
        let col = |column: post::Column| Expr::col((posts.clone(), column));
        let mut all = Condition::all();
        if let Some(title) = &self.title {
            all = all.add(text(
                title,
                col(post::Column::Title),
                col(post::Column::TitleFolded),
            ));
        }
        if let Some(author_id) = &self.author_id {
            all = all.add(ids(author_id, col(post::Column::AuthorId)));
        }
        if let Some(created_at) = &self.created_at {
            all = all.add(range(created_at, col(post::Column::CreatedAt), time));
        }
        if let Some(author) = &self.author {
            let users = aliases.next("filter_users");
            let mut exists = Query::select();
            exists
                .expr(Expr::val(1))
                .from_as(user::Entity, users.clone())
                .and_where(
                    Expr::col((users.clone(), user::Column::Id))
                        .equals((posts.clone(), post::Column::AuthorId)),
                )
                .cond_where(author.condition(&users, aliases));
            all = all.add(Expr::exists(exists));
        }
        all = combine(
            all,
            &self.and,
            &self.or,
            self.not.as_deref(),
            |filter, aliases| filter.condition(posts, aliases),
            aliases,
        );
        all
    }
}

impl UserFilter {
    /// The filter of a list of users (whose rows are the `users` table).
    pub fn into_list_filter(self) -> ListFilter {
        let condition = self.condition(&Alias::new("users").into_iden(), &mut Aliases::default());
        ListFilter::new(format!("{self:?}"), condition)
    }

    fn condition(&self, users: &DynIden, aliases: &mut Aliases) -> Condition {
        let col = |column: user::Column| Expr::col((users.clone(), column));
        let mut all = Condition::all();
        if let Some(name) = &self.name {
            all = all.add(text(
                name,
                col(user::Column::Name),
                col(user::Column::NameFolded),
            ));
        }
        if let Some(email) = &self.email {
            // Emails are stored folded: the same column serves both kinds of match.
            let folded = TextMatch {
                eq: email.eq.as_deref().map(fold),
                any_of: email
                    .any_of
                    .as_ref()
                    .map(|emails| emails.iter().map(|email| fold(email)).collect()),
                ..email.clone()
            };
            all = all.add(text(
                &folded,
                col(user::Column::Email),
                col(user::Column::Email),
            ));
        }
        if let Some(post_count) = &self.post_count {
            let count = count_pointing_at(users, post::Entity, post::Column::AuthorId, aliases);
            all = all.add(range(post_count, count, Expr::val));
        }
        if let Some(follower_count) = &self.follower_count {
            let count =
                count_pointing_at(users, follow::Entity, follow::Column::FolloweeId, aliases);
            all = all.add(range(follower_count, count, Expr::val));
        }
        if let Some(posts) = &self.posts {
            let of_user = |aliases: &mut Aliases| {
                let alias = aliases.next("filter_posts");
                let mut select = Query::select();
                select
                    .expr(Expr::val(1))
                    .from_as(post::Entity, alias.clone())
                    .and_where(
                        Expr::col((alias.clone(), post::Column::AuthorId))
                            .equals((users.clone(), user::Column::Id)),
                    );
                (select, alias)
            };
            if let Some(some) = &posts.some {
                let (mut select, alias) = of_user(aliases);
                select.cond_where(some.condition(&alias, aliases));
                all = all.add(Expr::exists(select));
            }
            if let Some(none) = &posts.none {
                let (mut select, alias) = of_user(aliases);
                select.cond_where(none.condition(&alias, aliases));
                all = all.add(Expr::exists(select).not());
            }
            if let Some(every) = &posts.every {
                let (mut select, alias) = of_user(aliases);
                select.cond_where(every.condition(&alias, aliases).not());
                all = all.add(Expr::exists(select).not());
            }
        }
        all = combine(
            all,
            &self.and,
            &self.or,
            self.not.as_deref(),
            |filter, aliases| filter.condition(users, aliases),
            aliases,
        );
        all
    }
}

/// Adds `and` (all of), `or` (any of) and `not` to `all`.
fn combine<F>(
    mut all: Condition,
    and: &[F],
    or: &[F],
    not: Option<&F>,
    condition: impl Fn(&F, &mut Aliases) -> Condition,
    aliases: &mut Aliases,
) -> Condition {
    for filter in and {
        all = all.add(condition(filter, aliases));
    }
    if !or.is_empty() {
        let mut any = Condition::any();
        for filter in or {
            any = any.add(condition(filter, aliases));
        }
        all = all.add(any);
    }
    if let Some(filter) = not {
        all = all.add(condition(filter, aliases).not());
    }
    all
}

/// Fresh table aliases for the subqueries of one filter, so nested ones never shadow each
/// other.
#[derive(Default)]
struct Aliases(usize);

impl Aliases {
    fn next(&mut self, prefix: &str) -> DynIden {
        self.0 += 1;
        Alias::new(format!("{prefix}_{}", self.0)).into_iden()
    }
}

/// `(SELECT COUNT(*) FROM <table> AS counted WHERE counted.<column> = users.id)`.
fn count_pointing_at(
    users: &DynIden,
    table: impl IntoIden,
    column: impl IntoIden,
    aliases: &mut Aliases,
) -> SimpleExpr {
    let counted = aliases.next("filter_counted");
    let count: SelectStatement = Query::select()
        .expr(Expr::col(Asterisk).count())
        .from_as(table, counted.clone())
        .and_where(Expr::col((counted, column)).equals((users.clone(), user::Column::Id)))
        .to_owned();
    SimpleExpr::SubQuery(None, Box::new(count.into()))
}

fn text(text: &TextMatch, exact: Expr, folded: Expr) -> Condition {
    let mut all = Condition::all();
    if let Some(eq) = &text.eq {
        all = all.add(exact.clone().eq(eq.as_str()));
    }
    if let Some(any_of) = &text.any_of {
        all = all.add(exact.is_in(any_of.iter().map(String::as_str)));
    }
    if let Some(contains) = &text.contains {
        let pattern = format!("%{}%", escape_like(&fold(contains)));
        all = all.add(
            folded
                .clone()
                .like(LikeExpr::new(pattern).escape(LIKE_ESCAPE)),
        );
    }
    if let Some(prefix) = &text.starts_with {
        let pattern = format!("{}%", escape_like(&fold(prefix)));
        all = all.add(folded.like(LikeExpr::new(pattern).escape(LIKE_ESCAPE)));
    }
    all
}

fn ids(ids: &IdMatch, column: Expr) -> Condition {
    let mut all = Condition::all();
    if let Some(eq) = ids.eq {
        all = all.add(column.clone().eq(eq));
    }
    if let Some(any_of) = &ids.any_of {
        all = all.add(column.is_in(any_of.iter().copied()));
    }
    all
}

fn range(range: &Range, expr: Expr, value: impl Fn(i64) -> Expr) -> Condition {
    let mut all = Condition::all();
    if let Some(gt) = range.gt {
        all = all.add(expr.clone().gt(value(gt)));
    }
    if let Some(gte) = range.gte {
        all = all.add(expr.clone().gte(value(gte)));
    }
    if let Some(lt) = range.lt {
        all = all.add(expr.clone().lt(value(lt)));
    }
    if let Some(lte) = range.lte {
        all = all.add(expr.lte(value(lte)));
    }
    all
}

/// A time bound as the databases store it.
fn time(micros: i64) -> Expr {
    Expr::val(DateTime::<Utc>::from_timestamp_micros(micros).unwrap_or(DateTime::<Utc>::MIN_UTC))
}

/// The escape character of `LIKE` patterns: not `\`, which MySQL also reads as a string
/// escape and PostgreSQL does not.
const LIKE_ESCAPE: char = '!';

/// `value` as a `LIKE` pattern that matches it literally: `%`, `_` and the escape character
/// itself are escaped.
fn escape_like(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '%' | '_' | LIKE_ESCAPE) {
            escaped.push(LIKE_ESCAPE);
        }
        let _ = escaped.write_char(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_in_values_match_literally() {
        assert_eq!(escape_like("100%_a!b"), "100!%!_a!!b");
        assert_eq!(escape_like("plain"), "plain");
    }

    #[test]
    fn equal_filters_name_the_same_list() {
        let filter = || PostFilter {
            title: Some(TextMatch {
                contains: Some("x".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(filter().into_list_filter(), filter().into_list_filter());
        assert_ne!(
            filter().into_list_filter(),
            PostFilter::default().into_list_filter()
        );
    }
}
