//! A deadline on reading request bodies. The server's own timeouts cover a request's
//! headers, not its body: a client that sends headers and then a body byte by byte (or
//! nothing) would hold a connection and a worker's attention for as long as it likes.
//! Every body is read here, whole and within the deadline, before any handler runs;
//! too slow gets 408 and the connection closed. (actix would otherwise keep reading the
//! rest of an abandoned body, for as long as the client keeps it coming or stalled, so
//! the socket is shut down from here.)

use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpResponse};

/// Reads the body of `req` within `deadline` (and the size limit of the app's
/// `PayloadConfig`), then passes the request on with the body in memory.
pub async fn read_body(
    deadline: Duration,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if !has_body(&req) {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    }
    let (http, mut payload) = req.into_parts();
    let body =
        match tokio::time::timeout(deadline, web::Bytes::from_request(&http, &mut payload)).await {
            Ok(body) => body?,
            Err(_) => {
                tracing::debug!(path = http.path(), "a request body was too slow; closing");
                close_soon(&http);
                let response = HttpResponse::RequestTimeout()
                    .force_close()
                    .content_type("text/plain; charset=utf-8")
                    .body("The request took too long to arrive. Please send it again.\n");
                return Ok(ServiceResponse::new(http, response));
            }
        };
    let mut req = ServiceRequest::from_parts(http, Payload::from(body));
    // Already decoded: the handler must not decode it again.
    req.headers_mut()
        .remove(actix_web::http::header::CONTENT_ENCODING);
    next.call(req)
        .await
        .map(ServiceResponse::map_into_boxed_body)
}

/// Whether the request says a body follows (most GETs do not: nothing to wait for).
fn has_body(req: &ServiceRequest) -> bool {
    let headers = req.headers();
    headers.contains_key(actix_web::http::header::TRANSFER_ENCODING)
        || headers
            .get(actix_web::http::header::CONTENT_LENGTH)
            .is_some_and(|length| length.as_bytes() != b"0")
}

/// The socket of a connection, noted when it is accepted (see [`note_socket`]).
#[derive(Clone, Copy)]
struct Socket(#[cfg(unix)] std::os::fd::RawFd);

/// Notes the socket of a new connection so a too slow request can close it.
pub fn note_socket(connection: &dyn std::any::Any, data: &mut actix_web::dev::Extensions) {
    #[cfg(unix)]
    if let Some(stream) = connection.downcast_ref::<actix_web::rt::net::TcpStream>() {
        use std::os::fd::AsRawFd;
        data.insert(Socket(stream.as_raw_fd()));
    }
    #[cfg(not(unix))]
    let _ = (connection, data);
}

/// Shuts the request's connection down a moment from now, once the 408 is on its way.
fn close_soon(http: &actix_web::HttpRequest) {
    #[cfg(unix)]
    if let Some(Socket(fd)) = http.conn_data::<Socket>().copied() {
        use std::os::fd::BorrowedFd;
        // SAFETY: the connection of a request being handled is open, so its descriptor
        // is too; the duplicate keeps the socket itself alive until it is shut down, so
        // no other connection can be hit through a reused number.
        let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
        let Ok(owned) = borrowed.try_clone_to_owned() else {
            return;
        };
        let socket = std::net::TcpStream::from(owned);
        actix_web::rt::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let _ = socket.shutdown(std::net::Shutdown::Both);
        });
    }
    #[cfg(not(unix))]
    let _ = http;
}
