//! How the WebSocket transport runs operations: subscriptions only (queries and mutations go
//! over HTTP, where their limits, timeout and errors are enforced), each checked against the
//! document limits first and given loaders of its own under a batch scheduler, so every
//! event's payload is batched like a query.

use std::sync::Arc;

use crate::db::reads::Reads;
use async_graphql::parser::types::OperationType;
use async_graphql::{Data, Executor, Request, Response, ServerError};
use futures_util::stream::{self, BoxStream, StreamExt};

use crate::graphql::document::{self, DocumentLimits};
use crate::graphql::AppSchema;
use crate::loaders::batching::BatchScheduler;
use crate::loaders::Loaders;

/// The executor the WebSocket transport drives.
#[derive(Clone)]
pub struct LiveExecutor {
    pub(crate) schema: AppSchema,
    pub(crate) reads: Reads,
    pub(crate) document_limits: Arc<DocumentLimits>,
}

impl LiveExecutor {
    /// Why `request` may not run over the socket, if it may not.
    fn refusal(&self, request: &mut Request) -> Option<ServerError> {
        let operation_name = request.operation_name.clone();
        let document = request.parsed_query().ok()?;
        if let Err(refusal) =
            document::check(document, operation_name.as_deref(), &self.document_limits)
        {
            return Some(refusal.into_server_error());
        }
        let operation = match &operation_name {
            Some(name) => document
                .operations
                .iter()
                .find(|(found, _)| found.is_some_and(|found| found.as_str() == name))
                .map(|(_, operation)| operation),
            None => document
                .operations
                .iter()
                .next()
                .map(|(_, operation)| operation),
        }?;
        if operation.node.ty == OperationType::Subscription {
            return None;
        }
        let mut error = ServerError::new(
            "only subscriptions run over the WebSocket: send queries and mutations with POST /graphql",
            None,
        );
        error
            .extensions
            .get_or_insert_with(Default::default)
            .set("code", "BAD_REQUEST");
        Some(error)
    }
}

impl Executor for LiveExecutor {
    async fn execute(&self, mut request: Request) -> Response {
        match self.refusal(&mut request) {
            Some(error) => Response::from_errors(vec![error]),
            None => Response::from_errors(vec![ServerError::new(
                "a subscription needs a stream",
                None,
            )]),
        }
    }

    fn execute_stream(
        &self,
        mut request: Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        if let Some(error) = self.refusal(&mut request) {
            return stream::once(async move { Response::from_errors(vec![error]) }).boxed();
        }
        let scheduler = BatchScheduler::new();
        let request = request.data(Loaders::new(self.reads.clone(), &scheduler));
        scheduler
            .run_stream(Executor::execute_stream(
                &self.schema,
                request,
                session_data,
            ))
            .boxed()
    }
}
