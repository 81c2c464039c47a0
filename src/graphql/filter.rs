//! The `filter` arguments of lists, as the API takes them, checked and turned into
//! `db::filters`: posts by title, author and creation time, users by name, email, counts and
//! their posts, combined with `and`, `or`, `not`. A filter nested deeper than
//! `MAX_FILTER_DEPTH` or holding more than `MAX_FILTER_PREDICATES` predicates is refused
//! (`BAD_USER_INPUT` on `filter`); every predicate also counts toward the query's cost.

use async_graphql::{InputObject, ID};
use chrono::{DateTime, Utc};

use crate::db::filters::{IdMatch, PostFilter, PostsMatch, Range, TextMatch, UserFilter};
use crate::db::page::ListFilter;
use crate::domain::account::Viewer;
use crate::domain::text::storable;
use crate::error::{AppError, AppResult};
use crate::graphql::context::parse_id;

/// Deepest nesting of `and`/`or`/`not` and relation filters.
pub const MAX_FILTER_DEPTH: usize = 5;
/// Most predicates (field tests) in one filter.
pub const MAX_FILTER_PREDICATES: usize = 32;
/// Most values in one `in` list.
pub const MAX_IN_VALUES: usize = 100;
/// What a predicate adds to the query's cost; one that runs a subquery (a count, a relation)
/// costs more.
const PREDICATE_COST: usize = 5;
const SUBQUERY_COST: usize = 20;

/// Tests on a post's title.
#[derive(InputObject, Debug, Default)]
pub struct TitleFilter {
    /// Exactly this title.
    pub eq: Option<String>,
    /// Contains this text, ignoring case (Unicode: `é` finds `É`). `%` and `_` are not
    /// wildcards.
    pub contains: Option<String>,
    /// Starts with this text, ignoring case.
    pub starts_with: Option<String>,
    /// One of these titles (at most 100).
    #[graphql(name = "in")]
    pub any_of: Option<Vec<String>>,
}

/// Tests on a user's name or email.
#[derive(InputObject, Debug, Default)]
pub struct TextFilter {
    /// Exactly this text (an email in any case).
    pub eq: Option<String>,
    /// Contains this text, ignoring case. `%` and `_` are not wildcards.
    pub contains: Option<String>,
}

/// Tests on an id.
#[derive(InputObject, Debug, Default)]
pub struct IdFilter {
    pub eq: Option<ID>,
    /// One of these ids (at most 100).
    #[graphql(name = "in")]
    pub any_of: Option<Vec<ID>>,
}

/// Bounds on a time.
#[derive(InputObject, Debug, Default)]
pub struct DateTimeFilter {
    pub gt: Option<DateTime<Utc>>,
    pub gte: Option<DateTime<Utc>>,
    pub lt: Option<DateTime<Utc>>,
    pub lte: Option<DateTime<Utc>>,
}

/// Bounds on a count.
#[derive(InputObject, Debug, Default)]
pub struct CountFilter {
    pub gt: Option<i32>,
    pub gte: Option<i32>,
    pub lt: Option<i32>,
    pub lte: Option<i32>,
}

/// Which posts to list: every test given must hold.
#[derive(InputObject, Debug, Default)]
#[graphql(name = "PostFilter")]
pub struct PostFilterInput {
    pub title: Option<TitleFilter>,
    pub author_id: Option<IdFilter>,
    pub created_at: Option<DateTimeFilter>,
    /// Posts whose author passes this filter.
    pub author: Option<Box<UserFilterInput>>,
    /// Posts that pass every one of these.
    pub and: Option<Vec<PostFilterInput>>,
    /// Posts that pass at least one of these.
    pub or: Option<Vec<PostFilterInput>>,
    /// Posts that do not pass this.
    pub not: Option<Box<PostFilterInput>>,
}

/// Which users to list: every test given must hold.
#[derive(InputObject, Debug, Default)]
#[graphql(name = "UserFilter")]
pub struct UserFilterInput {
    pub name: Option<TextFilter>,
    pub email: Option<TextFilter>,
    pub post_count: Option<CountFilter>,
    pub follower_count: Option<CountFilter>,
    /// Users by their posts.
    pub posts: Option<PostsFilter>,
    /// Users who pass every one of these.
    pub and: Option<Vec<UserFilterInput>>,
    /// Users who pass at least one of these.
    pub or: Option<Vec<UserFilterInput>>,
    /// Users who do not pass this.
    pub not: Option<Box<UserFilterInput>>,
}

/// Users by their posts.
#[derive(InputObject, Debug, Default)]
pub struct PostsFilter {
    /// At least one of their posts passes this.
    pub some: Option<Box<PostFilterInput>>,
    /// None of their posts passes this.
    pub none: Option<Box<PostFilterInput>>,
    /// Every one of their posts passes this (so does a user without posts).
    pub every: Option<Box<PostFilterInput>>,
}

/// How much of the limits a filter has used while it is checked, and whether it may test
/// emails (which are private: admins only).
struct Budget {
    predicates: usize,
    may_test_emails: bool,
}

impl Budget {
    fn for_viewer(viewer: Option<Viewer>) -> Self {
        Budget {
            predicates: 0,
            may_test_emails: viewer.is_some_and(Viewer::is_admin),
        }
    }

    fn enter(&self, depth: usize) -> AppResult<()> {
        if depth > MAX_FILTER_DEPTH {
            return Err(AppError::invalid(
                "filter",
                format!("is nested deeper than {MAX_FILTER_DEPTH} levels"),
            ));
        }
        Ok(())
    }

    fn spend(&mut self, predicates: usize) -> AppResult<()> {
        self.predicates += predicates;
        if self.predicates > MAX_FILTER_PREDICATES {
            return Err(AppError::invalid(
                "filter",
                format!("holds more than {MAX_FILTER_PREDICATES} tests"),
            ));
        }
        Ok(())
    }
}

fn text_value(value: String) -> AppResult<String> {
    storable("filter", value)
}

fn values<T>(values: Vec<T>) -> AppResult<Vec<T>> {
    if values.len() > MAX_IN_VALUES {
        return Err(AppError::invalid(
            "filter",
            format!("an `in` list holds more than {MAX_IN_VALUES} values"),
        ));
    }
    Ok(values)
}

fn title_match(title: TitleFilter, budget: &mut Budget) -> AppResult<TextMatch> {
    let given = [
        title.eq.is_some(),
        title.contains.is_some(),
        title.starts_with.is_some(),
        title.any_of.is_some(),
    ];
    budget.spend(given.iter().filter(|given| **given).count())?;
    Ok(TextMatch {
        eq: title.eq.map(text_value).transpose()?,
        contains: title.contains.map(text_value).transpose()?,
        starts_with: title.starts_with.map(text_value).transpose()?,
        any_of: title
            .any_of
            .map(|titles| values(titles)?.into_iter().map(text_value).collect())
            .transpose()?,
    })
}

fn text_match(text: TextFilter, budget: &mut Budget) -> AppResult<TextMatch> {
    budget.spend(usize::from(text.eq.is_some()) + usize::from(text.contains.is_some()))?;
    Ok(TextMatch {
        eq: text.eq.map(text_value).transpose()?,
        contains: text.contains.map(text_value).transpose()?,
        ..Default::default()
    })
}

fn id_match(ids: IdFilter, budget: &mut Budget) -> AppResult<IdMatch> {
    budget.spend(usize::from(ids.eq.is_some()) + usize::from(ids.any_of.is_some()))?;
    Ok(IdMatch {
        eq: ids.eq.map(|id| parse_id("filter", &id)).transpose()?,
        any_of: ids
            .any_of
            .map(|ids| {
                values(ids)?
                    .iter()
                    .map(|id| parse_id("filter", id))
                    .collect()
            })
            .transpose()?,
    })
}

fn time_range(range: DateTimeFilter, budget: &mut Budget) -> AppResult<Range> {
    let micros = |time: Option<DateTime<Utc>>| time.map(|time| time.timestamp_micros());
    let range = Range {
        gt: micros(range.gt),
        gte: micros(range.gte),
        lt: micros(range.lt),
        lte: micros(range.lte),
    };
    budget.spend(bounds(&range))?;
    Ok(range)
}

fn count_range(range: CountFilter, budget: &mut Budget) -> AppResult<Range> {
    let range = Range {
        gt: range.gt.map(i64::from),
        gte: range.gte.map(i64::from),
        lt: range.lt.map(i64::from),
        lte: range.lte.map(i64::from),
    };
    budget.spend(bounds(&range))?;
    Ok(range)
}

fn bounds(range: &Range) -> usize {
    [range.gt, range.gte, range.lt, range.lte]
        .iter()
        .filter(|bound| bound.is_some())
        .count()
}

impl PostFilterInput {
    /// The list filter this input describes, checked for `viewer`.
    pub fn parse(filter: Option<Self>, viewer: Option<Viewer>) -> AppResult<Option<ListFilter>> {
        let mut budget = Budget::for_viewer(viewer);
        Ok(filter
            .map(|filter| filter.checked(1, &mut budget))
            .transpose()?
            .map(PostFilter::into_list_filter))
    }

    fn checked(self, depth: usize, budget: &mut Budget) -> AppResult<PostFilter> {
        budget.enter(depth)?;
        let many = |filters: Option<Vec<Self>>, budget: &mut Budget| {
            filters
                .unwrap_or_default()
                .into_iter()
                .map(|filter| filter.checked(depth + 1, budget))
                .collect::<AppResult<Vec<_>>>()
        };
        Ok(PostFilter {
            title: self
                .title
                .map(|title| title_match(title, budget))
                .transpose()?,
            author_id: self
                .author_id
                .map(|ids| id_match(ids, budget))
                .transpose()?,
            created_at: self
                .created_at
                .map(|range| time_range(range, budget))
                .transpose()?,
            author: self
                .author
                .map(|author| {
                    budget.spend(1)?;
                    author.checked(depth + 1, budget).map(Box::new)
                })
                .transpose()?,
            and: many(self.and, budget)?,
            or: many(self.or, budget)?,
            not: self
                .not
                .map(|not| not.checked(depth + 1, budget).map(Box::new))
                .transpose()?,
        })
    }

    /// What this filter adds to the cost of the query (`--max-complexity`).
    pub fn cost(filter: &Option<Self>) -> usize {
        filter.as_ref().map_or(0, Self::own_cost)
    }

    fn own_cost(&self) -> usize {
        let text = |title: &TitleFilter| {
            [
                title.eq.is_some(),
                title.contains.is_some(),
                title.starts_with.is_some(),
                title.any_of.is_some(),
            ]
            .iter()
            .filter(|given| **given)
            .count()
        };
        let mut cost = PREDICATE_COST
            * (self.title.as_ref().map_or(0, text)
                + usize::from(self.author_id.is_some())
                + usize::from(self.created_at.is_some()));
        if let Some(author) = &self.author {
            cost += SUBQUERY_COST + author.own_cost();
        }
        for filter in self.and.iter().chain(self.or.iter()).flatten() {
            cost += filter.own_cost();
        }
        if let Some(not) = &self.not {
            cost += not.own_cost();
        }
        cost
    }
}

impl UserFilterInput {
    /// The list filter this input describes, checked for `viewer`: only an admin tests
    /// emails (`FORBIDDEN` otherwise), which nobody else may see.
    pub fn parse(filter: Option<Self>, viewer: Option<Viewer>) -> AppResult<Option<ListFilter>> {
        let mut budget = Budget::for_viewer(viewer);
        Ok(filter
            .map(|filter| filter.checked(1, &mut budget))
            .transpose()?
            .map(UserFilter::into_list_filter))
    }

    fn checked(self, depth: usize, budget: &mut Budget) -> AppResult<UserFilter> {
        budget.enter(depth)?;
        let many = |filters: Option<Vec<Self>>, budget: &mut Budget| {
            filters
                .unwrap_or_default()
                .into_iter()
                .map(|filter| filter.checked(depth + 1, budget))
                .collect::<AppResult<Vec<_>>>()
        };
        let posts = match self.posts {
            None => None,
            Some(posts) => {
                let post = |filter: Option<Box<PostFilterInput>>, budget: &mut Budget| {
                    filter
                        .map(|filter| {
                            budget.spend(1)?;
                            filter.checked(depth + 1, budget).map(Box::new)
                        })
                        .transpose()
                };
                Some(PostsMatch {
                    some: post(posts.some, budget)?,
                    none: post(posts.none, budget)?,
                    every: post(posts.every, budget)?,
                })
            }
        };
        Ok(UserFilter {
            name: self.name.map(|name| text_match(name, budget)).transpose()?,
            email: self
                .email
                .map(|email| {
                    if !budget.may_test_emails {
                        return Err(AppError::Forbidden(
                            "emails are private: only an admin filters by them".into(),
                        ));
                    }
                    text_match(email, budget)
                })
                .transpose()?,
            post_count: self
                .post_count
                .map(|range| count_range(range, budget))
                .transpose()?,
            follower_count: self
                .follower_count
                .map(|range| count_range(range, budget))
                .transpose()?,
            posts,
            and: many(self.and, budget)?,
            or: many(self.or, budget)?,
            not: self
                .not
                .map(|not| not.checked(depth + 1, budget).map(Box::new))
                .transpose()?,
        })
    }

    /// What this filter adds to the cost of the query (`--max-complexity`).
    pub fn cost(filter: &Option<Self>) -> usize {
        filter.as_ref().map_or(0, Self::own_cost)
    }

    fn own_cost(&self) -> usize {
        let text = |text: &TextFilter| {
            usize::from(text.eq.is_some()) + usize::from(text.contains.is_some())
        };
        let mut cost = PREDICATE_COST
            * (self.name.as_ref().map_or(0, text) + self.email.as_ref().map_or(0, text));
        cost += SUBQUERY_COST
            * (usize::from(self.post_count.is_some()) + usize::from(self.follower_count.is_some()));
        if let Some(posts) = &self.posts {
            for filter in [&posts.some, &posts.none, &posts.every]
                .into_iter()
                .flatten()
            {
                cost += SUBQUERY_COST + filter.own_cost();
            }
        }
        for filter in self.and.iter().chain(self.or.iter()).flatten() {
            cost += filter.own_cost();
        }
        if let Some(not) = &self.not {
            cost += not.own_cost();
        }
        cost
    }
}
