//! How the objects of a list are resolved: what async-graphql's `resolve_container` does, with
//! one allocation per object where it makes a boxed future and a task for each field, and with
//! the response keys in the order of the selection (it inserts each field as it finishes, so a
//! field that waits on a loader would come after the ones selected after it).
//!
//! A list of a thousand posts is a few thousand fields: their overhead, not the database, was
//! most of the server's time. Objects opt in by being returned as `Resolved<T>`, lists of them
//! as `ResolvedList`; their `PlainFields` are answered without a future each.

use std::borrow::Cow;
use std::future::Future;
use std::hash::{BuildHasher, RandomState};
use std::pin::Pin;
use std::task::Poll;

use async_graphql::indexmap::map::raw_entry_v1::{RawEntryApiV1, RawEntryMut};
use async_graphql::indexmap::map::Entry;
use async_graphql::indexmap::IndexMap;
use async_graphql::parser::types::{Field, Selection, SelectionSet};
use async_graphql::registry::Registry;
use async_graphql::resolver_utils::{resolve_container, resolve_list};
use async_graphql::{
    ContainerType, ContextSelectionSet, Name, OutputType, Positioned, ServerError, ServerResult,
    Value,
};
use futures_util::future::BoxFuture;

use crate::graphql::json;

/// An object's plain fields: those read straight off the object, with no arguments and nothing
/// to wait for (a post's `id` and `title`). `resolve_planned` answers them on the spot, with no
/// future and no field context each; they are most of the fields of a list's nodes, and that
/// machinery cost more than their values. Each answer must be the one the object's
/// `#[Object]` resolver gives: with `--trace-fields`, async-graphql calls those instead, and
/// a test compares the two.
pub trait PlainFields {
    /// The names of the fields `plain_field` answers, for every object of the type.
    const PLAIN: &'static [&'static str];

    /// The value of the field called `name` in the schema, or `None` when it is not a plain
    /// field (it is then resolved as usual).
    fn plain_field(
        &self,
        ctx: &ContextSelectionSet<'_>,
        name: &str,
    ) -> Option<async_graphql::Result<Value>>;

    /// Writes the JSON text of the field called `name` to `out`: what `graphql::json` writes
    /// of `plain_field`'s value, which is what this default does. Objects whose fields fill
    /// lists (a post's `id` and `title`) write them straight from their row instead: no
    /// `Value`, no string copied to be written and dropped. `None` as for `plain_field`; after
    /// an error, `out` may end with part of a value (the caller cuts it off).
    fn write_plain_field(
        &self,
        ctx: &ContextSelectionSet<'_>,
        name: &str,
        out: &mut Vec<u8>,
    ) -> Option<async_graphql::Result<()>> {
        Some(write_answer(self.plain_field(ctx, name)?, out))
    }
}

/// Writes a plain field's value as `graphql::json` writes it.
pub fn write_answer(
    answer: async_graphql::Result<Value>,
    out: &mut Vec<u8>,
) -> async_graphql::Result<()> {
    Ok(json::write_value(out, &answer?)?)
}

impl<T: PlainFields> PlainFields for &T {
    const PLAIN: &'static [&'static str] = T::PLAIN;

    fn plain_field(
        &self,
        ctx: &ContextSelectionSet<'_>,
        name: &str,
    ) -> Option<async_graphql::Result<Value>> {
        (**self).plain_field(ctx, name)
    }

    fn write_plain_field(
        &self,
        ctx: &ContextSelectionSet<'_>,
        name: &str,
        out: &mut Vec<u8>,
    ) -> Option<async_graphql::Result<()>> {
        (**self).write_plain_field(ctx, name, out)
    }
}

/// Schema data saying that extensions wrap every field (`--trace-fields`): objects are then
/// resolved by async-graphql's own `resolve_container`, which calls them.
pub struct FieldExtensions;

/// Request data saying that the response is written by `graphql::json` (HTTP): the objects
/// resolved here are then written as JSON text while they are resolved (`Value::Binary`),
/// instead of a map of values each: a list whose objects select only plain fields
/// (`{ nodes { id title } }`) in one go (`write_plain_list`), any other object once its fields
/// are resolved (`write_object`). Building, ordering, writing and dropping those maps cost
/// three times what reading the rows did.
pub struct JsonLists;

/// The object `T`, resolved by `resolve_object`. Its GraphQL type is `T`'s.
pub struct Resolved<T>(pub T);

impl<T: ContainerType + PlainFields> OutputType for Resolved<T> {
    fn type_name() -> Cow<'static, str> {
        T::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        T::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        _field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        resolve_object(ctx, &self.0).await
    }
}

/// The object `T`, resolved by `resolve_object` in a future of its own: for an object such as
/// a connection, whose future would make each of a list's items that much larger (they are
/// all alive at once). Its GraphQL type is `T`'s.
pub struct ResolvedBoxed<T>(pub T);

impl<T: ContainerType + PlainFields> OutputType for ResolvedBoxed<T> {
    fn type_name() -> Cow<'static, str> {
        T::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        T::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        _field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        let resolving: BoxFuture<'_, ServerResult<Value>> = Box::pin(resolve_object(ctx, &self.0));
        resolving.await
    }
}

/// A list of objects, each resolved by `resolve_object`, all in one future: async-graphql gives
/// each item of a list longer than 30 a task of its own. Its GraphQL type is `[T!]!`.
pub struct ResolvedList<'a, T>(pub &'a [T]);

impl<T: ContainerType + PlainFields> OutputType for ResolvedList<'_, T> {
    fn type_name() -> Cow<'static, str> {
        <Vec<T> as OutputType>::type_name()
    }

    fn qualified_type_name() -> String {
        <Vec<T> as OutputType>::qualified_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        <Vec<T> as OutputType>::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        // Boxed: an object's future holds those of its lists, whose items may hold the object
        // again (a user's posts' author); a list is where that cycle is cut.
        let items: BoxFuture<'_, ServerResult<Value>> = Box::pin(self.resolve_items(ctx, field));
        items.await
    }
}

impl<T: ContainerType + PlainFields> ResolvedList<'_, T> {
    async fn resolve_items(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        if ctx.data_opt::<FieldExtensions>().is_some() {
            return resolve_list(ctx, field, self.0, Some(self.0.len())).await;
        }
        // One plan for all the items of the type of the first (a list of one object type).
        let plan = match self.0.first() {
            Some(first) => {
                Plan::of(ctx, first)?.map(|plan| (first.introspection_type_name(), plan))
            }
            None => None,
        };
        if let Some((type_name, plan)) = &plan {
            if plan.json_lists
                && plan.only_plain::<T>()
                && self
                    .0
                    .iter()
                    .all(|item| item.introspection_type_name() == *type_name)
            {
                return Ok(write_plain_list(ctx, self.0, plan));
            }
        }
        let plan = &plan;
        let items = self.0.iter().enumerate().map(|(index, item)| async move {
            let ctx_index = ctx.with_index(index);
            let resolved = match plan {
                Some((type_name, plan)) if item.introspection_type_name() == *type_name => {
                    resolve_planned(&ctx_index, item, plan).await
                }
                _ => resolve_object(&ctx_index, item).await,
            };
            resolved.map_err(|err| ctx_index.set_error_path(err))
        });
        let items = join_in_place(items)
            .await
            .into_iter()
            .collect::<ServerResult<Vec<_>>>()?;
        Ok(Value::List(items))
    }
}

/// A list of objects owned, resolved as `ResolvedList` resolves a borrowed one.
pub struct ResolvedVec<T>(pub Vec<T>);

impl<T: ContainerType + PlainFields> OutputType for ResolvedVec<T> {
    fn type_name() -> Cow<'static, str> {
        ResolvedList::<T>::type_name()
    }

    fn qualified_type_name() -> String {
        ResolvedList::<T>::qualified_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        ResolvedList::<T>::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        ResolvedList(&self.0).resolve(ctx, field).await
    }
}

/// Resolves the fields `ctx` selects of `root`, concurrently, into an object whose keys are in
/// the order of the selection.
pub async fn resolve_object<'a, T>(
    ctx: &ContextSelectionSet<'a>,
    root: &'a T,
) -> ServerResult<Value>
where
    T: ContainerType + PlainFields + ?Sized,
{
    match Plan::of(ctx, root)? {
        Some(plan) => resolve_planned(ctx, root, &plan).await,
        None => resolve_container(ctx, root).await,
    }
}

/// What resolving an object of one type under one selection takes, worked out once for all
/// the objects of a list: its fields, fragments spread, whether its objects are written as
/// JSON text, and when they are not, the hash of each response key under a hasher all their
/// maps share. Hashing the keys again for every object, each map with a hasher of its own,
/// cost more than resolving most fields.
struct Plan<'a> {
    fields: Vec<&'a Positioned<Field>>,
    /// `None` when the objects are written as JSON text (`write_object`): when the response
    /// is written by `graphql::json` (`JsonLists`, looked up once for all the objects) and
    /// each field has a key of its own. Such objects need no map, so no hashes.
    hashes: Option<KeyHashes>,
    /// Whether each field has a response key of its own: no two values to merge.
    keys_unique: bool,
    /// Whether the response is written by `graphql::json` (`JsonLists`).
    json_lists: bool,
}

/// The hash of each of a plan's response keys, under `hasher`.
struct KeyHashes {
    hashes: Vec<u64>,
    hasher: RandomState,
}

impl<'a> Plan<'a> {
    /// Whether every field is `__typename` or a plain field of `T`, each under a key of its
    /// own (a key selected twice is merged by `insert_value`).
    fn only_plain<T: PlainFields>(&self) -> bool {
        let plain = |field: &&Positioned<Field>| {
            let name = field.node.name.node.as_str();
            name == "__typename" || T::PLAIN.contains(&name)
        };
        self.fields.iter().all(plain) && self.keys_unique
    }

    /// The plan for `root` under `ctx`'s selection; `None` when async-graphql's own
    /// `resolve_container` must resolve it (field extensions, directives).
    fn of<T>(ctx: &ContextSelectionSet<'a>, root: &T) -> ServerResult<Option<Self>>
    where
        T: ContainerType + ?Sized,
    {
        let mut fields = Vec::new();
        if ctx.data_opt::<FieldExtensions>().is_some()
            || !collect_fields(ctx, root, &ctx.item.node, &mut fields)?
        {
            return Ok(None);
        }
        let keys_unique = fields.iter().enumerate().all(|(index, field)| {
            let key = &field.node.response_key().node;
            fields[..index]
                .iter()
                .all(|earlier| earlier.node.response_key().node != *key)
        });
        let json_lists = ctx.data_opt::<JsonLists>().is_some();
        let hashes = (!(keys_unique && json_lists)).then(|| {
            let hasher = RandomState::new();
            let hashes = fields
                .iter()
                .map(|field| hasher.hash_one(&field.node.response_key().node))
                .collect();
            KeyHashes { hashes, hasher }
        });
        Ok(Some(Plan {
            fields,
            hashes,
            keys_unique,
            json_lists,
        }))
    }
}

/// The JSON text of `items`, whose fields `plan` selects, all plain: what `resolve_planned`
/// makes of each item, written as `graphql::json` writes it (see `JsonLists`). A field's error
/// is the request's, as there.
fn write_plain_list<T>(ctx: &ContextSelectionSet<'_>, items: &[T], plan: &Plan<'_>) -> Value
where
    T: ContainerType + PlainFields,
{
    // Each field's `"key":`, written once for the list rather than once per item.
    let mut keys = Vec::new();
    let mut key_ends = Vec::with_capacity(plan.fields.len());
    for field in &plan.fields {
        if let Err(error) = json::write_str(&mut keys, &field.node.response_key().node) {
            ctx.add_error(ServerError::new(error.to_string(), Some(field.pos)));
            return Value::Null;
        }
        keys.push(b':');
        key_ends.push(keys.len());
    }
    let mut out = Vec::with_capacity(2 + items.len() * 16 * plan.fields.len());
    out.push(b'[');
    for (index, item) in items.iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        let ctx_index = ctx.with_index(index);
        let start = out.len();
        out.push(b'{');
        let mut written = 0;
        let mut key_start = 0;
        for (field, &key_end) in plan.fields.iter().zip(&key_ends) {
            let member = out.len();
            if written > 0 {
                out.push(b',');
            }
            out.extend_from_slice(&keys[key_start..key_end]);
            key_start = key_end;
            match write_plain_answer(&ctx_index, item, field, &mut out) {
                Some(Ok(())) => written += 1,
                Some(Err(error)) => {
                    out.truncate(member);
                    ctx_index.add_error(error);
                }
                // Not a plain field after all (`PLAIN` names it): an error, not a silent gap.
                None => {
                    out.truncate(member);
                    ctx_index.add_error(ServerError::new(
                        format!("{} is not a plain field", field.node.name.node),
                        Some(field.pos),
                    ));
                }
            }
        }
        if written == 0 {
            out.truncate(start);
            out.extend_from_slice(b"null");
        } else {
            out.push(b'}');
        }
    }
    out.push(b']');
    Value::Binary(out.into())
}

/// Resolves `root` by `plan`: its plain fields at once, then the others concurrently.
async fn resolve_planned<'a, T>(
    ctx: &ContextSelectionSet<'a>,
    root: &'a T,
    plan: &Plan<'a>,
) -> ServerResult<Value>
where
    T: ContainerType + PlainFields + ?Sized,
{
    let mut answers: Vec<Option<ServerResult<(Name, Value)>>> = plan
        .fields
        .iter()
        .map(|field| plain_answer(ctx, root, field))
        .collect();
    let waiting = answers.iter().filter(|answer| answer.is_none()).count();
    if waiting == 1 {
        // Nothing to run beside it (a post's author { name }, say): no futures to keep.
        if let Some((slot, field)) = answers
            .iter_mut()
            .zip(&plan.fields)
            .find(|(answer, _)| answer.is_none())
        {
            *slot = Some(resolve_field(ctx, root, field).await);
        }
    } else if waiting > 1 {
        let resolving = answers
            .iter()
            .zip(&plan.fields)
            .filter(|(answer, _)| answer.is_none())
            .map(|(_, &field)| {
                let ctx = ctx.clone();
                async move { resolve_field(&ctx, root, field).await }
            });
        let mut resolved = join_in_place(resolving).await.into_iter();
        for slot in answers.iter_mut().filter(|answer| answer.is_none()) {
            *slot = resolved.next();
        }
    }
    let Some(KeyHashes { hashes, hasher }) = &plan.hashes else {
        return Ok(write_object(ctx, answers));
    };
    let mut object = IndexMap::with_capacity_and_hasher(plan.fields.len(), hasher.clone());
    for (answer, hash) in answers.into_iter().zip(hashes) {
        match answer {
            Some(Ok((name, value))) => insert_hashed(&mut object, *hash, name, value),
            Some(Err(error)) => ctx.add_error(error),
            None => {}
        }
    }
    Ok(if object.is_empty() {
        Value::Null
    } else {
        Value::Object(object)
    })
}

/// The JSON text of an object whose fields `answers` holds in the selection's order, each key
/// once: what `resolve_planned` makes of them, written as `graphql::json` writes it, with no
/// map to build, put in order (`key_order`) and walk again to write it (see `JsonLists`).
fn write_object(
    ctx: &ContextSelectionSet<'_>,
    answers: Vec<Option<ServerResult<(Name, Value)>>>,
) -> Value {
    let mut out = Vec::with_capacity(2 + 24 * answers.len());
    out.push(b'{');
    let mut written = 0;
    for answer in answers {
        match answer {
            Some(Ok((name, value))) => {
                let member = out.len();
                if written > 0 {
                    out.push(b',');
                }
                let member_written = json::write_str(&mut out, &name).and_then(|()| {
                    out.push(b':');
                    json::write_value(&mut out, &value)
                });
                match member_written {
                    Ok(()) => written += 1,
                    Err(error) => {
                        out.truncate(member);
                        ctx.add_error(ServerError::new(error.to_string(), None));
                    }
                }
            }
            Some(Err(error)) => ctx.add_error(error),
            None => {}
        }
    }
    if written == 0 {
        return Value::Null;
    }
    out.push(b'}');
    Value::Binary(out.into())
}

/// The response key and value of `field` of `root` when it is `__typename` or a plain field;
/// `None` when it must be resolved.
fn plain_answer<T>(
    ctx: &ContextSelectionSet<'_>,
    root: &T,
    field: &Positioned<Field>,
) -> Option<ServerResult<(Name, Value)>>
where
    T: ContainerType + PlainFields + ?Sized,
{
    let name = &field.node.name.node;
    let value = if name == "__typename" {
        Ok(Value::String(root.introspection_type_name().into_owned()))
    } else {
        root.plain_field(ctx, name)?
            .map_err(|err| field_error(ctx, field, err))
    };
    Some(value.map(|value| (field.node.response_key().node.clone(), value)))
}

/// Writes the JSON text of `field` of `root`, as `plain_answer` answers it; `None` when it
/// must be resolved.
fn write_plain_answer<T>(
    ctx: &ContextSelectionSet<'_>,
    root: &T,
    field: &Positioned<Field>,
    out: &mut Vec<u8>,
) -> Option<ServerResult<()>>
where
    T: ContainerType + PlainFields + ?Sized,
{
    let name = &field.node.name.node;
    let written = if name == "__typename" {
        json::write_str(out, &root.introspection_type_name()).map_err(Into::into)
    } else {
        root.write_plain_field(ctx, name, out)?
    };
    Some(written.map_err(|err| field_error(ctx, field, err)))
}

/// A plain field's error as a resolver's: at the field's position, with its path.
fn field_error(
    ctx: &ContextSelectionSet<'_>,
    field: &Positioned<Field>,
    err: async_graphql::Error,
) -> ServerError {
    ctx.with_field(field)
        .set_error_path(err.into_server_error(field.pos))
}

/// The response key and value of `field` of `root`.
async fn resolve_field<'a, T>(
    ctx: &ContextSelectionSet<'a>,
    root: &'a T,
    field: &'a Positioned<Field>,
) -> ServerResult<(Name, Value)>
where
    T: ContainerType + ?Sized,
{
    let ctx_field = ctx.with_field(field);
    let name = field.node.response_key().node.clone();
    let value = root.resolve_field(&ctx_field).await?.unwrap_or_default();
    Ok((name, value))
}

/// Runs `futures` concurrently, each polled where it was first put (one allocation for all),
/// and returns their outputs in order. Unlike `futures_util::future::join_all`, a finished
/// future is dropped in place rather than moved out with its output: a field's future is as
/// large as the largest of its object's resolvers (which is why a user's relation fields box
/// their page future).
async fn join_in_place<F: Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut futures: Pin<Box<[Option<F>]>> = Box::into_pin(futures.into_iter().map(Some).collect());
    let mut outputs: Vec<Option<F::Output>> = std::iter::repeat_with(|| None)
        .take(futures.len())
        .collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (mut slot, output) in slots(futures.as_mut()).zip(outputs.iter_mut()) {
            let Some(future) = slot.as_mut().as_pin_mut() else {
                continue;
            };
            match future.poll(cx) {
                Poll::Ready(value) => {
                    *output = Some(value);
                    slot.set(None);
                }
                Poll::Pending => pending = true,
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

/// The slots of a pinned slice, each pinned.
fn slots<T>(slice: Pin<&mut [T]>) -> impl Iterator<Item = Pin<&mut T>> {
    // SAFETY: the elements of a pinned slice are pinned too: nothing here moves one out, each
    // is only polled where it is or replaced through `Pin::set`, which drops it in place.
    unsafe { slice.get_unchecked_mut() }
        .iter_mut()
        .map(|slot| unsafe { Pin::new_unchecked(slot) })
}

/// The fields `set` selects of `root`, fragments spread, in order. `false` when a field carries
/// a directive: only custom directives are left at execution, and async-graphql runs those.
fn collect_fields<'a, T>(
    ctx: &ContextSelectionSet<'a>,
    root: &T,
    set: &'a SelectionSet,
    fields: &mut Vec<&'a Positioned<Field>>,
) -> ServerResult<bool>
where
    T: ContainerType + ?Sized,
{
    for selection in &set.items {
        let (type_condition, selection_set) = match &selection.node {
            Selection::Field(field) => {
                if !field.node.directives.is_empty() {
                    return Ok(false);
                }
                fields.push(field);
                continue;
            }
            Selection::FragmentSpread(spread) => {
                let name = &spread.node.fragment_name.node;
                let Some(fragment) = ctx.query_env.fragments.get(name) else {
                    return Err(ServerError::new(
                        format!(r#"Unknown fragment "{name}"."#),
                        Some(spread.pos),
                    ));
                };
                (
                    Some(&fragment.node.type_condition),
                    &fragment.node.selection_set,
                )
            }
            Selection::InlineFragment(fragment) => (
                fragment.node.type_condition.as_ref(),
                &fragment.node.selection_set,
            ),
        };
        // As async-graphql decides whether a fragment applies to an object.
        let type_condition = type_condition.map(|condition| condition.node.on.node.as_str());
        let type_name = root.introspection_type_name();
        let applies = type_condition.is_none_or(|condition| {
            type_name == condition
                || T::type_name() == condition
                || ctx
                    .schema_env
                    .registry
                    .implements
                    .get(&*type_name)
                    .is_some_and(|interfaces| interfaces.contains(condition))
        });
        if applies && !collect_fields(ctx, root, &selection_set.node, fields)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Inserts `value` under `name`, whose hash under `target`'s hasher is `hash`.
fn insert_hashed(target: &mut IndexMap<Name, Value>, hash: u64, name: Name, value: Value) {
    match target
        .raw_entry_mut_v1()
        .from_hash(hash, |key| *key == name)
    {
        RawEntryMut::Vacant(entry) => {
            entry.insert_hashed_nocheck(hash, name, value);
        }
        RawEntryMut::Occupied(_) => insert_value(target, name, value),
    }
}

/// async-graphql's merge of a field selected twice under one key (`{ a { x } a { y } }`), with
/// one lookup of the key (its hash is most of the cost of a field).
fn insert_value(target: &mut IndexMap<Name, Value>, name: Name, value: Value) {
    let previous = match target.entry(name) {
        Entry::Vacant(entry) => {
            entry.insert(value);
            return;
        }
        Entry::Occupied(entry) => entry.into_mut(),
    };
    match (previous, value) {
        (Value::Object(target), Value::Object(object)) => {
            for (key, value) in object {
                insert_value(target, key, value);
            }
        }
        (Value::List(target), Value::List(list)) => {
            for (index, value) in list.into_iter().enumerate() {
                if let (Some(Value::Object(target)), Value::Object(object)) =
                    (target.get_mut(index), value)
                {
                    for (key, value) in object {
                        insert_value(target, key, value);
                    }
                }
            }
        }
        _ => {}
    }
}
