//! The GraphQL-over-HTTP protocol (<https://graphql.github.io/graphql-over-http/draft/>):
//! which media type to answer in, how a request is read from a POST body or a GET query string,
//! which status code a response gets, and the request errors found before execution. It knows
//! nothing of our schema.

use std::sync::Arc;

use actix_web::http::{header, StatusCode};
use actix_web::HttpRequest;
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationDefinition, OperationType,
};

use crate::graphql::document::selected_operation;
use crate::graphql::documents::{Documents, Parsed};
use crate::http::json;
use async_graphql::ServerError;
use serde::Deserialize;
use serde_json::{json, Map, Value};

pub const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
pub const JSON: &str = "application/json";

/// The media type of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseType {
    /// `application/graphql-response+json`: status codes tell request errors (400) apart.
    GraphqlResponseJson,
    /// `application/json`: 200 for every well-formed request, as legacy clients expect.
    Json,
}

impl ResponseType {
    pub fn content_type(self) -> &'static str {
        match self {
            ResponseType::GraphqlResponseJson => "application/graphql-response+json; charset=utf-8",
            ResponseType::Json => "application/json; charset=utf-8",
        }
    }
}

/// A request that is not a GraphQL-over-HTTP request: answered before any GraphQL runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl HttpError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        HttpError {
            status: StatusCode::BAD_REQUEST,
            code: "BAD_REQUEST",
            message: message.into(),
        }
    }

    pub fn body(&self) -> Value {
        json!({ "errors": [{ "message": self.message, "extensions": { "code": self.code } }] })
    }
}

/// Picks the response type from `Accept`. No header, `*/*` or `application/*` mean JSON (what
/// the spec asks of servers while legacy clients exist); otherwise the highest q-value wins,
/// `application/graphql-response+json` on a tie; nothing acceptable is a 406.
pub fn negotiate(req: &HttpRequest) -> Result<ResponseType, HttpError> {
    let Some(accept) = req.headers().get(header::ACCEPT) else {
        return Ok(ResponseType::Json);
    };
    let accept = accept.to_str().unwrap_or_default();
    if accept.trim().is_empty() {
        return Ok(ResponseType::Json);
    }
    // The acceptable type with the highest q-value; on a tie, graphql-response+json.
    let mut best: Option<(f32, ResponseType)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default().to_ascii_lowercase();
        let q = parts
            .find_map(|param| param.strip_prefix("q="))
            .and_then(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        let response_type = match media.as_str() {
            GRAPHQL_RESPONSE_JSON => ResponseType::GraphqlResponseJson,
            JSON | "*/*" | "application/*" => ResponseType::Json,
            _ => continue,
        };
        let better = match best {
            _ if q <= 0.0 => false,
            None => true,
            Some((best_q, best_type)) => {
                q > best_q
                    || (q == best_q
                        && response_type == ResponseType::GraphqlResponseJson
                        && best_type == ResponseType::Json)
            }
        };
        if better {
            best = Some((q, response_type));
        }
    }
    if let Some((_, response_type)) = best {
        Ok(response_type)
    } else {
        Err(HttpError {
            status: StatusCode::NOT_ACCEPTABLE,
            code: "NOT_ACCEPTABLE",
            message: format!(
                "cannot answer in any of {accept:?}; accept {GRAPHQL_RESPONSE_JSON} or {JSON}"
            ),
        })
    }
}

/// The token of `Authorization: Bearer <token>`; an empty one for a header that holds
/// anything else (another scheme, no token), which authentication then refuses as malformed.
pub fn bearer_token(req: &HttpRequest) -> Option<String> {
    let header = req.headers().get(header::AUTHORIZATION)?;
    let value = header.to_str().unwrap_or_default().trim();
    let token = match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
        _ => "",
    };
    Some(token.to_string())
}

/// A POST must say its body is JSON (`application/json`, UTF-8).
pub fn check_content_type(req: &HttpRequest) -> Result<(), HttpError> {
    let unsupported = |message: String| HttpError {
        status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
        code: "UNSUPPORTED_MEDIA_TYPE",
        message,
    };
    let Some(content_type) = req.headers().get(header::CONTENT_TYPE) else {
        return Err(unsupported(format!("Content-Type is missing; send {JSON}")));
    };
    let content_type = content_type
        .to_str()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let mut parts = content_type.split(';').map(str::trim);
    let media = parts.next().unwrap_or_default();
    let charset_ok = parts
        .filter_map(|param| param.strip_prefix("charset="))
        .all(|charset| charset.trim_matches('"') == "utf-8");
    if media == JSON && charset_ok {
        Ok(())
    } else {
        Err(unsupported(format!(
            "Content-Type {content_type:?} is not supported; send {JSON}"
        )))
    }
}

/// Reads the parameters of a POST body.
pub fn request_from_body(body: &[u8]) -> Result<async_graphql::Request, HttpError> {
    // Most bodies are well-formed: read straight into a request, with no JSON tree in between.
    // Anything the direct read refuses (a key given twice, one it does not know, a value of
    // the wrong type, an array) takes the checked way below, which says what is wrong.
    let object = body.iter().find(|byte| !byte.is_ascii_whitespace()) == Some(&b'{');
    if object {
        if let Ok(params) = serde_json::from_slice::<Params>(body) {
            return Ok(params.into_request());
        }
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|err| HttpError::bad_request(format!("the body is not valid JSON: {err}")))?;
    match value {
        Value::Object(params) => request_from_params(params),
        _ => Err(HttpError::bad_request("the body must be a JSON object")),
    }
}

/// Reads the parameters of a GET query string; `variables` and `extensions` are JSON-encoded.
pub fn request_from_query_string(query_string: &str) -> Result<async_graphql::Request, HttpError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query_string)
        .map_err(|err| HttpError::bad_request(format!("invalid query string: {err}")))?;
    let mut params = Map::new();
    for (name, value) in pairs {
        let value = match name.as_str() {
            "variables" | "extensions" => serde_json::from_str(&value).map_err(|err| {
                HttpError::bad_request(format!("{name:?} is not valid JSON: {err}"))
            })?,
            _ => Value::String(value),
        };
        params.insert(name, value);
    }
    request_from_params(params)
}

/// A POST body's parameters as the direct read takes them: these four and no other key, so that
/// every value of the body is read in full. serde skips the value of a key it does not know
/// without checking it (bad UTF-8, a lone surrogate, a number out of range, any depth), which
/// the checked way refuses.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    query: String,
    #[serde(rename = "operationName")]
    operation_name: Option<String>,
    variables: Option<async_graphql::Variables>,
    extensions: Option<async_graphql::Extensions>,
}

impl Params {
    fn into_request(self) -> async_graphql::Request {
        let mut request = async_graphql::Request::new(self.query);
        request.operation_name = self.operation_name;
        request.variables = self.variables.unwrap_or_default();
        request.extensions = self.extensions.unwrap_or_default();
        request
    }
}

fn request_from_params(params: Map<String, Value>) -> Result<async_graphql::Request, HttpError> {
    if !params.get("query").is_some_and(Value::is_string) {
        return Err(HttpError::bad_request(
            "the request must have a string \"query\"",
        ));
    }
    let optional = |name: &str, ok: fn(&Value) -> bool, what: &str| match params.get(name) {
        Some(value) if !value.is_null() && !ok(value) => {
            Err(HttpError::bad_request(format!("\"{name}\" must be {what}")))
        }
        _ => Ok(()),
    };
    optional("operationName", Value::is_string, "a string")?;
    optional("variables", Value::is_object, "an object")?;
    optional("extensions", Value::is_object, "an object")?;
    let mut params = params;
    // async-graphql wants objects, not nulls, for the optional maps.
    for name in ["variables", "extensions"] {
        if params.get(name).is_some_and(Value::is_null) {
            params.remove(name);
        }
    }
    serde_json::from_value(Value::Object(params))
        .map_err(|err| HttpError::bad_request(format!("invalid GraphQL request: {err}")))
}

/// What the protocol needs to know of a request's document, found with one parse (the executor
/// reuses the parsed document).
pub struct Inspection {
    /// The document does not parse; the executor reports why.
    pub parse_failed: bool,
    /// The operation that would run writes: GET must not carry it.
    pub selects_mutation: bool,
    /// Request errors for required variables the request leaves out.
    pub missing_variables: Option<async_graphql::Response>,
    /// The parsed document (a copy of which is in the request).
    pub document: Option<Arc<Parsed>>,
}

/// Parses the request's document once (or takes it from `documents`), keeps it in the
/// request, and inspects it.
pub fn inspect(request: &mut async_graphql::Request, documents: &Documents) -> Inspection {
    let Ok(document) = documents.parse(&request.query) else {
        return Inspection {
            parse_failed: true,
            selects_mutation: false,
            missing_variables: None,
            document: None,
        };
    };
    let selects_mutation = selects_mutation(&document.document, request.operation_name.as_deref());
    let missing_variables = missing_variables(&document.document, request);
    request.set_parsed_query(document.document.clone());
    Inspection {
        parse_failed: false,
        selects_mutation,
        missing_variables,
        document: Some(document),
    }
}

/// Whether a request would run a mutation (or a subscription). A document with several
/// operations and no name counts as one if any of them writes.
fn selects_mutation(document: &ExecutableDocument, operation_name: Option<&str>) -> bool {
    let writes = |operation: &OperationDefinition| operation.ty != OperationType::Query;
    match selected_operation(document, operation_name) {
        Some(operation) => writes(operation),
        None => match &document.operations {
            DocumentOperations::Multiple(operations) => {
                operations.values().any(|operation| writes(&operation.node))
            }
            DocumentOperations::Single(_) => false,
        },
    }
}

/// A request error for each required variable (non-null, no default) the request leaves out.
/// GraphQL counts these as request errors (nothing executes); async-graphql would only notice
/// them in the resolver that reads the variable, as a field error.
fn missing_variables(
    document: &ExecutableDocument,
    request: &async_graphql::Request,
) -> Option<async_graphql::Response> {
    let operation = selected_operation(document, request.operation_name.as_deref())?;
    let errors: Vec<ServerError> = operation
        .variable_definitions
        .iter()
        .filter(|definition| {
            let definition = &definition.node;
            let given = request
                .variables
                .get(&definition.name.node)
                .is_some_and(|value| *value != async_graphql::Value::Null);
            !definition.var_type.node.nullable && definition.default_value.is_none() && !given
        })
        .map(|definition| {
            let name = &definition.node.name.node;
            let mut error = ServerError::new(
                format!(
                    "Variable \"${name}\" of required type \"{}\" was not provided.",
                    definition.node.var_type.node
                ),
                Some(definition.pos),
            );
            let extensions = error.extensions.get_or_insert_with(Default::default);
            extensions.set("code", "BAD_USER_INPUT");
            extensions.set("field", name.as_str());
            error
        })
        .collect();
    (!errors.is_empty()).then(|| async_graphql::Response::from_errors(errors))
}

/// async-graphql's parser and validator, and its coercion of argument values, give errors no
/// code; give them one, so that every error a client sees has `extensions.code`.
/// Parse errors also get a one-line message: the parser's own repeats the whole (possibly
/// megabyte-long) line of the document.
pub fn ensure_error_codes(response: &mut async_graphql::Response, parse_failed: bool) {
    let has_code = |error: &ServerError| {
        error
            .extensions
            .as_ref()
            .is_some_and(|extensions| extensions.get("code").is_some())
    };
    if response.errors.iter().all(has_code) {
        return;
    }
    for error in response.errors.iter_mut().filter(|error| !has_code(error)) {
        let code = if !error.path.is_empty() {
            // Our resolvers always set a code. A field error without one is either an argument
            // value async-graphql could not coerce (the client's fault) or a bug of ours, which
            // the client must not be told is their fault.
            if is_input_coercion_error(&error.message) {
                "BAD_USER_INPUT"
            } else {
                tracing::error!(error = %error.message, path = ?error.path, "field error without a code");
                error.message = "internal error".into();
                "INTERNAL"
            }
        } else if parse_failed {
            error.message = one_line_parse_error(&error.message);
            "GRAPHQL_PARSE_FAILED"
        } else {
            "GRAPHQL_VALIDATION_FAILED"
        };
        error
            .extensions
            .get_or_insert_with(Default::default)
            .set("code", code);
    }
}

/// Whether a field error is async-graphql failing to coerce an argument value to its input type:
/// its `InputValueError` messages start with one of these (see `InputValueError::expected_type`
/// and `custom`).
fn is_input_coercion_error(message: &str) -> bool {
    message.starts_with("Expected input type \"") || message.starts_with("Failed to parse \"")
}

fn error_code(error: &ServerError) -> Option<&str> {
    match error.extensions.as_ref()?.get("code")? {
        async_graphql::Value::String(code) => Some(code.as_str()),
        _ => None,
    }
}

/// "syntax error at 1:10: expected selection" from the parser's multi-line report
/// (" --> 1:10", the document's line, a caret, "= expected selection").
fn one_line_parse_error(message: &str) -> String {
    let position = message
        .lines()
        .find_map(|line| line.trim().strip_prefix("--> "))
        .map(str::trim);
    let reason = message
        .lines()
        .rev()
        .find_map(|line| line.trim().strip_prefix("= "))
        .unwrap_or_else(|| message.lines().next().unwrap_or_default().trim());
    let reason: String = reason.chars().take(200).collect();
    match position {
        Some(position) => format!("syntax error at {position}: {reason}"),
        None => format!("syntax error: {reason}"),
    }
}

/// The status code and body of an executed request. A request error (the document did not
/// parse or validate, or the variables did not fit: nothing executed) has no `data`, and under
/// `application/graphql-response+json` it is a 400; under `application/json` everything is a
/// 200, as legacy clients expect. The body is serialised once, straight from the response, so
/// objects keep the order of the selection.
pub fn response_status_and_body(
    response: &async_graphql::Response,
    response_type: ResponseType,
) -> (StatusCode, Vec<u8>) {
    let no_data = response.data == async_graphql::Value::Null && !response.errors.is_empty();
    // Nothing could be answered because the database was away or the request ran out of time:
    // a 503 tells clients and proxies to try again, where the protocol allows a status.
    let unavailable = no_data
        && response.errors.iter().all(|error| {
            error_code(error).is_some_and(|code| code == "SERVICE_UNAVAILABLE" || code == "TIMEOUT")
        });
    let request_error =
        !unavailable && no_data && response.errors.iter().all(|error| error.path.is_empty());
    // The bearer token did not stand for anyone: nothing ran.
    let unauthenticated = request_error
        && response
            .errors
            .iter()
            .all(|error| error_code(error) == Some("UNAUTHENTICATED"));
    let status = match response_type {
        ResponseType::Json => StatusCode::OK,
        ResponseType::GraphqlResponseJson if unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ResponseType::GraphqlResponseJson if unauthenticated => StatusCode::UNAUTHORIZED,
        ResponseType::GraphqlResponseJson if request_error => StatusCode::BAD_REQUEST,
        ResponseType::GraphqlResponseJson => StatusCode::OK,
    };
    let data = (!request_error).then_some(&response.data);
    let bytes =
        json::write_response(data, &response.errors, &response.extensions).unwrap_or_else(|err| {
            tracing::error!(error = %err, "cannot serialise a response");
            br#"{"errors":[{"message":"internal error","extensions":{"code":"INTERNAL"}}]}"#
                .to_vec()
        });
    (status, bytes)
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    /// A request with `name: value`, or without that header when `value` is `None`.
    fn request_with(name: header::HeaderName, value: Option<&str>) -> HttpRequest {
        let mut req = TestRequest::default();
        if let Some(value) = value {
            req = req.insert_header((name, value));
        }
        req.to_http_request()
    }

    #[test]
    fn accept_header_picks_the_response_type() {
        let cases = [
            (None, Some(ResponseType::Json)),
            (Some("*/*"), Some(ResponseType::Json)),
            (Some("application/json"), Some(ResponseType::Json)),
            (
                Some("application/graphql-response+json"),
                Some(ResponseType::GraphqlResponseJson),
            ),
            (
                Some("application/graphql-response+json, application/json;q=0.9"),
                Some(ResponseType::GraphqlResponseJson),
            ),
            (
                Some("application/graphql-response+json;q=0, application/json"),
                Some(ResponseType::Json),
            ),
            (
                Some("application/json, application/graphql-response+json;q=0.1"),
                Some(ResponseType::Json),
            ),
            (Some("text/html"), None),
        ];
        for (accept, expected) in cases {
            assert_eq!(
                negotiate(&request_with(header::ACCEPT, accept)).ok(),
                expected,
                "case {accept:?}"
            );
        }
    }

    #[test]
    fn content_type_must_be_json_in_utf8() {
        let cases = [
            (Some("application/json"), true),
            (Some("application/json; charset=utf-8"), true),
            (Some("Application/JSON; charset=\"UTF-8\""), true),
            (Some("application/json; charset=latin1"), false),
            (Some("text/plain"), false),
            (Some("application/x-www-form-urlencoded"), false),
            (None, false),
        ];
        for (content_type, ok) in cases {
            assert_eq!(
                check_content_type(&request_with(header::CONTENT_TYPE, content_type)).is_ok(),
                ok,
                "case {content_type:?}"
            );
        }
    }

    #[test]
    fn only_coercion_errors_without_a_code_are_the_clients_fault() {
        let field_error = |message: &str| {
            let mut error = ServerError::new(message, None);
            error.path = vec![async_graphql::PathSegment::Field("users".into())];
            let mut response = async_graphql::Response::from_errors(vec![error]);
            ensure_error_codes(&mut response, false);
            let extensions = response.errors[0].extensions.clone().unwrap_or_default();
            (
                extensions.get("code").cloned(),
                response.errors[0].message.clone(),
            )
        };
        let cases = [
            (
                r#"Failed to parse "Int": invalid type: string "ten""#,
                "BAD_USER_INPUT",
            ),
            (
                r#"Expected input type "Int", found "ten"."#,
                "BAD_USER_INPUT",
            ),
            ("Data `Loaders` does not exist.", "INTERNAL"),
            ("connection refused (os error 111)", "INTERNAL"),
        ];
        for (message, code) in cases {
            let (got, shown) = field_error(message);
            assert_eq!(
                got,
                Some(async_graphql::Value::from(code)),
                "case {message}"
            );
            if code == "INTERNAL" {
                assert_eq!(shown, "internal error", "case {message}: nothing leaks");
            }
        }
    }

    #[test]
    fn parse_errors_fit_on_one_line() {
        let message =
            " --> 1:10\n  |\n1 | { users {\n  |          ^---\n  |\n  = expected selection";
        assert_eq!(
            one_line_parse_error(message),
            "syntax error at 1:10: expected selection"
        );
        assert_eq!(
            one_line_parse_error("recursion limit exceeded."),
            "syntax error: recursion limit exceeded."
        );
    }

    #[test]
    fn request_parameters_are_checked() {
        let cases: [(&str, bool); 15] = [
            (r#"{"query":"{ a }"}"#, true),
            (
                r#"{"query":"{ a }","variables":null,"operationName":null}"#,
                true,
            ),
            (
                r#"{"query":"{ a }","variables":{"x":1},"extensions":{}}"#,
                true,
            ),
            (r#"{"query":"{ a }","variables":[]}"#, false),
            (r#"{"query":"{ a }","variables":"{}"}"#, false),
            (r#"{"query":"{ a }","operationName":1}"#, false),
            (r#"{"query":1}"#, false),
            (r#"{}"#, false),
            (r#"[{"query":"{ a }"}]"#, false),
            (r#"["{ a }"]"#, false),
            (r#"{"query":"{ a }","extensions":null}"#, true),
            (r#"{"query":""}"#, true),
            (r#"{"query":"{ a }","unknown":{"x":[1]}}"#, true),
            // Values of keys the request does not know are read in full too.
            (r#"{"query":"{ a }","x":1e400}"#, false),
            (r#"{"query":"{ a }","x":"\ud800"}"#, false),
        ];
        for (body, ok) in cases {
            assert_eq!(
                request_from_body(body.as_bytes()).is_ok(),
                ok,
                "case {body}"
            );
        }
        assert!(request_from_body(b"{").is_err());
        assert!(request_from_body(b"{\"query\":\"{ a }\",\"x\":\"\xff\"}").is_err());
        let deep = format!(
            r#"{{"query":"{{ a }}","x":{}{}}}"#,
            "[".repeat(200),
            "]".repeat(200)
        );
        assert!(request_from_body(deep.as_bytes()).is_err());
        // Read straight or through the checked way, a request is the same.
        let direct = request_from_body(
            br#" {"query":"query Q($x: Int) { a }","operationName":"Q","variables":{"x":1},"extensions":{"e":[true]}}"#,
        )
        .expect("a well-formed body");
        let checked = request_from_body(
            br#"{"query":"query Q($x: Int) { a }","operationName":"Q","variables":{"x":1},"extensions":{"e":[true]},"query":"query Q($x: Int) { a }"}"#,
        )
        .expect("a key given twice: the last one counts");
        assert_eq!(direct.query, "query Q($x: Int) { a }");
        assert_eq!(direct.operation_name.as_deref(), Some("Q"));
        for request in [&direct, &checked] {
            assert_eq!(request.query, direct.query);
            assert_eq!(request.operation_name, direct.operation_name);
            assert_eq!(request.variables.to_string(), r#"{x: 1}"#);
            assert_eq!(
                format!("{:?}", request.extensions.get("e")),
                format!("{:?}", Some(async_graphql::Value::List(vec![true.into()])))
            );
        }
        assert!(request_from_query_string("query=%7B%20a%20%7D&variables=%7B%7D").is_ok());
        assert!(request_from_query_string("query=%7B%20a%20%7D&variables=nope").is_err());
        assert!(request_from_query_string("variables=%7B%7D").is_err());
    }
}
