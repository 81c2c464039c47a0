//! One log line per request, once its body has been sent:
//! `127.0.0.1 "POST /graphql" 200 1534 0.912345ms` (peer address, method and path without the
//! query string, which carries variables; status, bytes sent, milliseconds). The line and its
//! target (`actix_web::middleware::logger`, so `--log` filters keep working) are those of
//! actix-web's `Logger` with the format `%a "%{method}xi %U" %s %b %Dms`, which this replaces.
//!
//! Why not `Logger`: it copies its format and renders the request's parts into strings for
//! every request, looks up the connection's info (forwarded headers parsed, into the request's
//! extensions) for the address, and logs through the `log` crate, whose records `tracing-log`
//! turns into events. Here the parts are kept as they are (a `Method` and a `Uri` are cheap
//! to clone), and the line is a `tracing` event. Its message is put together by hand (numbers
//! with `itoa`, the time from the `Duration`'s nanoseconds) rather than through `format_args!`,
//! whose `Display` calls for an address, a float and three integers cost more than the rest of
//! the line.

use std::fmt::Write as _;
use std::future::{ready, Future, Ready};
use std::net::IpAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::{Method, StatusCode, Uri};
use actix_web::web::Bytes;
use actix_web::Error;

/// The middleware: `App::wrap(AccessLog)`, outermost, so that the bytes counted are those sent.
pub struct AccessLog;

impl<S, B> Transform<S, ServiceRequest> for AccessLog
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody,
{
    type Response = ServiceResponse<Logged<B>>;
    type Error = Error;
    type Transform = AccessLogService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(AccessLogService { service }))
    }
}

pub struct AccessLogService<S> {
    service: S,
}

/// What the line says of the request, taken before the request is handed on.
struct Request {
    started: Instant,
    peer: Option<IpAddr>,
    method: Method,
    uri: Uri,
}

impl<S, B> Service<ServiceRequest> for AccessLogService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody,
{
    type Response = ServiceResponse<Logged<B>>;
    type Error = Error;
    type Future = Responding<S::Future>;

    actix_web::dev::forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let request = Request {
            started: Instant::now(),
            peer: req.peer_addr().map(|addr| addr.ip()),
            method: req.method().clone(),
            uri: req.uri().clone(),
        };
        Responding {
            inner: self.service.call(req),
            request: Some(request),
        }
    }
}

pin_project_lite::pin_project! {
    /// The inner service's response on its way, its body wrapped in `Logged`.
    pub struct Responding<F> {
        #[pin]
        inner: F,
        request: Option<Request>,
    }
}

impl<F, B> Future for Responding<F>
where
    F: Future<Output = Result<ServiceResponse<B>, Error>>,
{
    type Output = Result<ServiceResponse<Logged<B>>, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = std::task::ready!(this.inner.poll(cx))?;
        if let Some(error) = response.response().error() {
            tracing::debug!(target: "actix_web::middleware::logger", "Error in response: {error:?}");
        }
        let status = response.status();
        let request = this.request.take();
        Poll::Ready(Ok(response.map_body(move |_, body| Logged {
            body,
            line: request.map(|request| Line {
                request,
                status,
                sent: 0,
            }),
        })))
    }
}

/// The line of a request whose response is being sent.
struct Line {
    request: Request,
    status: StatusCode,
    /// Body bytes sent so far.
    sent: usize,
}

impl Drop for Line {
    /// Logs the line when the body is dropped: sent in full, or the client gone.
    fn drop(&mut self) {
        let Request {
            started,
            peer,
            method,
            uri,
        } = &self.request;
        if !tracing::enabled!(target: "actix_web::middleware::logger", tracing::Level::INFO) {
            return;
        }
        let path = uri.path();
        let mut message = String::with_capacity(64 + path.len());
        match peer {
            Some(IpAddr::V4(peer)) => {
                for (index, octet) in peer.octets().into_iter().enumerate() {
                    if index > 0 {
                        message.push('.');
                    }
                    message.push_str(itoa::Buffer::new().format(octet));
                }
            }
            Some(peer) => {
                // Writing to a String cannot fail.
                let _ = write!(message, "{peer}");
            }
            None => message.push('-'),
        }
        for part in [" \"", method.as_str(), " ", path, "\" "] {
            message.push_str(part);
        }
        message.push_str(itoa::Buffer::new().format(self.status.as_u16()));
        message.push(' ');
        message.push_str(itoa::Buffer::new().format(self.sent));
        message.push(' ');
        push_millis(&mut message, started.elapsed());
        message.push_str("ms");
        tracing::info!(target: "actix_web::middleware::logger", "{message}");
    }
}

/// Writes `elapsed` in milliseconds with six decimals (to the nanosecond).
fn push_millis(message: &mut String, elapsed: Duration) {
    let nanos = elapsed.as_nanos();
    message.push_str(itoa::Buffer::new().format(nanos / 1_000_000));
    message.push('.');
    let mut buffer = itoa::Buffer::new();
    let fraction = buffer.format(nanos % 1_000_000);
    for _ in fraction.len()..6 {
        message.push('0');
    }
    message.push_str(fraction);
}

pin_project_lite::pin_project! {
    /// A response body that counts the bytes sent, and logs the line when dropped.
    pub struct Logged<B> {
        #[pin]
        body: B,
        line: Option<Line>,
    }
}

impl<B: MessageBody> MessageBody for Logged<B> {
    type Error = B::Error;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        let this = self.project();
        let chunk = std::task::ready!(this.body.poll_next(cx));
        if let (Some(Ok(bytes)), Some(line)) = (&chunk, this.line.as_mut()) {
            line.sent += bytes.len();
        }
        Poll::Ready(chunk)
    }
}

#[cfg(test)]
mod tests {
    use actix_web::{test, web, App, HttpResponse};

    use super::*;
    use crate::telemetry::captured::Buffer;

    #[actix_web::test]
    async fn a_request_is_one_line_once_its_body_is_sent() {
        // Arrange
        let lines = Buffer::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(lines.clone())
            .with_ansi(false)
            .without_time()
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let app = test::init_service(App::new().wrap(AccessLog).route(
            "/graphql",
            web::post().to(|| async { HttpResponse::Ok().body("{\"data\":{}}") }),
        ))
        .await;
        let request = test::TestRequest::post()
            .uri("/graphql?variables=secret")
            .peer_addr("10.1.2.3:4567".parse().expect("an address"))
            .to_request();

        // Act
        let response = test::call_service(&app, request).await;
        let logged_before_the_body = lines.text().len();
        let body = test::read_body(response).await;

        // Assert: address without port, path without query, status, bytes, milliseconds.
        assert_eq!(logged_before_the_body, 0);
        assert_eq!(body.len(), 11);
        let text = lines.text();
        let line = text.trim_end();
        let prefix = "INFO actix_web::middleware::logger: 10.1.2.3 \"POST /graphql\" 200 11 ";
        let millis = line
            .trim_start()
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix("ms"))
            .unwrap_or_else(|| panic!("unexpected line {line:?}"));
        let (whole, fraction) = millis.split_once('.').expect("a fraction");
        assert!(
            whole.parse::<u64>().is_ok() && fraction.len() == 6,
            "{millis}"
        );
        assert_eq!(text.lines().count(), 1);
    }

    // `test` names actix-web's module here, so this test takes its attribute too.
    #[actix_web::test]
    async fn milliseconds_have_six_decimals() {
        let millis = |nanos: u64| {
            let mut message = String::new();
            push_millis(&mut message, Duration::from_nanos(nanos));
            message
        };
        assert_eq!(millis(1_234_567_890), "1234.567890");
        assert_eq!(millis(912_345), "0.912345");
        assert_eq!(millis(5), "0.000005");
        assert_eq!(millis(0), "0.000000");
    }
}
