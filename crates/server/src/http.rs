//! The HTTP plumbing shared by every listener: hyper 1.x connections with header/idle
//! timeouts, bounded request bodies, per-connection IP TTL control, and response helpers.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Body as _, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// The response type every handler returns.
pub type HttpResponse = Response<Full<Bytes>>;

/// Limits applied to every connection.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Time allowed to receive a request's headers; also closes idle keep-alive connections.
    pub header_read_timeout: Duration,
    /// Time allowed to receive a request body.
    pub body_read_timeout: Duration,
    /// Largest accepted request body.
    pub max_body: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(10),
            max_body: 64 * 1024,
        }
    }
}

/// A buffered request as handlers see it.
#[derive(Debug)]
pub struct RequestData {
    /// Method.
    pub method: http::Method,
    /// URI as received.
    pub uri: http::Uri,
    /// Headers.
    pub headers: http::HeaderMap,
    /// The whole body.
    pub body: Bytes,
    /// The peer address.
    pub peer: SocketAddr,
    /// The address the connection was accepted on.
    pub local: SocketAddr,
    /// Lets the handler set the IP TTL of this connection's next response bytes.
    pub ttl: TtlControl,
}

/// Why a request body could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyError {
    /// Longer than [`Limits::max_body`].
    TooLarge,
    /// Not received within [`Limits::body_read_timeout`] or the connection failed.
    Incomplete,
}

/// Reads a body with the size and time limits.
pub async fn read_body(body: Incoming, limits: &Limits) -> Result<Bytes, BodyError> {
    let limited = Limited::new(body, limits.max_body);
    match tokio::time::timeout(limits.body_read_timeout, limited.collect()).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(BodyError::TooLarge),
        _ => Err(BodyError::Incomplete),
    }
}

/// Whether a listener accepts connections (the fault switchboard closes one for a `refused`
/// outage: [`crate::faults`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gate {
    /// Accepting, and nothing can close it: no need to ask again.
    Open,
    /// Accepting, but a scheduled outage may close it: ask again every [`GATE_POLL`].
    Watch,
    /// Closed: connections are refused until it opens.
    Closed,
}

/// How often a listener whose [`Gate`] is not [`Gate::Open`] asks again.
pub const GATE_POLL: Duration = Duration::from_millis(100);

/// Something that answers buffered requests.
pub trait Handler: Send + Sync + 'static {
    /// Whether the listener accepts connections now; asked before each accept.
    fn gate(&self) -> Gate {
        Gate::Open
    }
    /// Whether this handler needs the request body (IMDS and ECS ignore bodies).
    fn wants_body(&self) -> bool {
        true
    }
    /// Whether a connection from `peer`, accepted on `local`, may be served; asked once per
    /// connection, before its first request is read.
    fn admit(&self, peer: SocketAddr, local: SocketAddr) -> bool {
        let _ = (peer, local);
        true
    }
    /// The answer to every request on a connection [`Handler::admit`] refused (`uri` is the
    /// request's, for a listener that speaks more than one protocol).
    fn refused(&self, uri: &http::Uri) -> HttpResponse {
        let _ = uri;
        text(StatusCode::FORBIDDEN, "text/plain", "Forbidden")
    }
    /// Answers one request.
    fn handle(&self, req: RequestData) -> impl Future<Output = HttpResponse> + Send;
    /// The response for a body that is too large or incomplete.
    fn body_error(&self, err: BodyError) -> HttpResponse {
        let status = match err {
            BodyError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            BodyError::Incomplete => StatusCode::BAD_REQUEST,
        };
        text(
            status,
            "text/plain",
            status.canonical_reason().unwrap_or(""),
        )
    }
}

/// A response with a body and content type.
pub fn text(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> HttpResponse {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(content_type),
    );
    r
}

/// Requests a TTL change for the connection's following writes (`0` = no change pending).
#[derive(Clone, Debug)]
pub struct TtlControl {
    wanted: Arc<AtomicU32>,
    default: u32,
    /// Set to reset the connection instead of answering.
    abort: Arc<AtomicBool>,
}

impl TtlControl {
    /// A control attached to no connection (requests built outside a listener: fuzzing,
    /// tests); settings are recorded and ignored.
    pub fn detached() -> TtlControl {
        TtlControl {
            wanted: Arc::new(AtomicU32::new(0)),
            default: 0,
            abort: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Resets the connection (TCP RST) instead of sending the response the handler returns
    /// (fault injection).
    pub fn reset_connection(&self) {
        self.abort.store(true, Ordering::Release);
    }

    /// Whether [`TtlControl::reset_connection`] was asked for.
    pub fn resetting(&self) -> bool {
        self.abort.load(Ordering::Acquire)
    }

    /// Sends the next response bytes with IP TTL `ttl`.
    pub fn set(&self, ttl: u32) {
        self.wanted.store(ttl, Ordering::Release);
    }

    /// Restores the socket's original TTL for the next response.
    pub fn reset(&self) {
        if self.default != 0 {
            self.wanted.store(self.default, Ordering::Release);
        }
    }
}

/// How long a connection closed with request bytes still unread keeps reading (and discarding)
/// what the client sends, so that a client still sending a refused body reads the refusal
/// instead of a reset (closing a socket with unread data sends RST, and the peer loses the
/// answer it has not read yet). Bounded in time and bytes: a hostile sender gets the reset.
const LINGER_TIME: Duration = Duration::from_secs(2);
/// See [`LINGER_TIME`].
const LINGER_BYTES: usize = 8 * 1024 * 1024;

/// A TCP stream that applies a requested IP TTL just before writing (the IMDS hop limit is
/// the TTL of the token response only) and lingers on close when request bytes were left
/// unread.
struct TtlStream {
    inner: TcpStream,
    wanted: Arc<AtomicU32>,
    current: u32,
    /// The TTL last applied, for tests.
    applied: Option<Arc<AtomicU32>>,
    /// Set when request bytes may be left unread: by the service when it answered without
    /// reading the whole body, by the accept loop when hyper refused the request itself.
    unread: Arc<AtomicBool>,
    /// The lingering close in progress: its deadline and the bytes discarded so far.
    linger: Option<(Pin<Box<tokio::time::Sleep>>, usize)>,
    /// Set when the connection is to be reset instead of closed.
    abort: Arc<AtomicBool>,
}

impl Drop for TtlStream {
    fn drop(&mut self) {
        if self.abort.load(Ordering::Acquire) {
            // SO_LINGER 0: the close sends RST, as a crashed or reset peer does.
            let _ = self.inner.set_zero_linger();
            return;
        }
        // hyper refused the request itself (a head over the limit: 431; a malformed one: 400)
        // and drops the stream without a shutdown while the rest of the request may still be
        // arriving: closing now would reset the connection and the client could lose the
        // answer. Linger instead, on a duplicate of the socket, as after an unread body.
        if self.linger.is_none() && self.unread.load(Ordering::Acquire) {
            linger_detached(&self.inner);
        }
    }
}

/// Sends FIN on `stream`'s connection and keeps reading (and discarding) what the client
/// still sends in a task of its own, until it closes, within [`LINGER_TIME`] and
/// [`LINGER_BYTES`], so that the answer already written reaches the client before the socket
/// closes.
fn linger_detached(stream: &TcpStream) {
    use std::os::fd::AsFd;
    let Ok(handle) = tokio::runtime::Handle::try_current() else {
        return;
    };
    // A second descriptor for the same socket (it shares the non-blocking flag): the
    // connection stays open once the original is dropped.
    let Ok(fd) = stream.as_fd().try_clone_to_owned() else {
        return;
    };
    let dup = std::net::TcpStream::from(fd);
    if dup.shutdown(std::net::Shutdown::Write).is_err() {
        return;
    }
    handle.spawn(async move {
        let Ok(mut s) = TcpStream::from_std(dup) else {
            return;
        };
        let mut drained = 0;
        // The scratch buffer lives on the stack of each poll, not in the task: thousands of
        // lingering connections cost no more than their small tasks.
        let drain = std::future::poll_fn(|cx| {
            let mut scratch = [0u8; 16 * 1024];
            loop {
                let mut buf = ReadBuf::new(&mut scratch);
                match Pin::new(&mut s).poll_read(cx, &mut buf) {
                    Poll::Ready(Ok(())) if !buf.filled().is_empty() => {
                        drained += buf.filled().len();
                        if drained >= LINGER_BYTES {
                            return Poll::Ready(());
                        }
                    }
                    // End of stream or an error: the client is done.
                    Poll::Ready(_) => return Poll::Ready(()),
                    Poll::Pending => return Poll::Pending,
                }
            }
        });
        let _ = tokio::time::timeout(LINGER_TIME, drain).await;
    });
}

impl TtlStream {
    fn apply(&mut self) {
        let wanted = self.wanted.swap(0, Ordering::AcqRel);
        if wanted != 0 && wanted != self.current && self.inner.set_ttl(wanted).is_ok() {
            self.current = wanted;
            if let Some(a) = &self.applied {
                a.store(wanted, Ordering::Release);
            }
        }
    }
}

impl AsyncRead for TtlStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for TtlStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.abort.load(Ordering::Acquire) {
            return Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()));
        }
        this.apply();
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.abort.load(Ordering::Acquire) {
            return Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()));
        }
        this.apply();
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.abort.load(Ordering::Acquire) {
            // Reset on drop (above); no FIN first.
            return Poll::Ready(Ok(()));
        }
        if this.linger.is_none() {
            std::task::ready!(Pin::new(&mut this.inner).poll_shutdown(cx))?;
            if !this.unread.load(Ordering::Acquire) {
                return Poll::Ready(Ok(()));
            }
            this.linger = Some((Box::pin(tokio::time::sleep(LINGER_TIME)), 0));
        }
        let Some((deadline, drained)) = this.linger.as_mut() else {
            return Poll::Ready(Ok(()));
        };
        let mut scratch = [0u8; 16 * 1024];
        loop {
            let mut buf = ReadBuf::new(&mut scratch);
            match Pin::new(&mut this.inner).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) if !buf.filled().is_empty() => {
                    *drained += buf.filled().len();
                    if *drained >= LINGER_BYTES {
                        return Poll::Ready(Ok(()));
                    }
                }
                // End of stream or an error: the client is done.
                Poll::Ready(_) => return Poll::Ready(Ok(())),
                Poll::Pending => {
                    return match deadline.as_mut().poll(cx) {
                        Poll::Ready(()) => Poll::Ready(Ok(())),
                        Poll::Pending => Poll::Pending,
                    }
                }
            }
        }
    }
}

/// Accepts connections on `listener` and serves them with `handler` until `shutdown` turns
/// true; then stops accepting and lets in-flight connections finish gracefully.
pub async fn serve<H: Handler>(
    listener: TcpListener,
    handler: Arc<H>,
    limits: Limits,
    mut shutdown: watch::Receiver<bool>,
    applied_ttl: Option<Arc<AtomicU32>>,
) {
    let mut connections = tokio::task::JoinSet::new();
    let listener_addr = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!(error = %e, "listener has no local address");
            return;
        }
    };
    // `None` while the fault switchboard holds the listener closed (then connections are
    // refused); it is bound again at the same address when the gate opens.
    let mut listener = Some(listener);
    loop {
        let gate = handler.gate();
        if gate == Gate::Closed {
            if listener.take().is_some() {
                tracing::info!(address = %listener_addr, "listener closed by the fault switchboard");
            }
            tokio::select! {
                _ = tokio::time::sleep(GATE_POLL) => continue,
                _ = shutdown.changed() => break,
            }
        }
        if listener.is_none() {
            match TcpListener::bind(listener_addr).await {
                Ok(l) => {
                    tracing::info!(address = %listener_addr, "listener reopened");
                    listener = Some(l);
                }
                Err(e) => {
                    tracing::warn!(address = %listener_addr, error = %e, "cannot reopen the listener");
                    tokio::select! {
                        _ = tokio::time::sleep(GATE_POLL) => continue,
                        _ = shutdown.changed() => break,
                    }
                }
            }
        }
        let Some(l) = listener.as_ref() else {
            continue;
        };
        let accepted = if gate == Gate::Watch {
            tokio::select! {
                a = l.accept() => a,
                _ = shutdown.changed() => break,
                _ = tokio::time::sleep(GATE_POLL) => continue,
            }
        } else {
            tokio::select! {
                a = l.accept() => a,
                _ = shutdown.changed() => break,
            }
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors and similar: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        // Never fails for a connected socket; the listener's address is the fallback (a
        // wildcard one matches no socket, so an allow-list refuses: fails closed).
        let local = stream.local_addr().unwrap_or(listener_addr);
        let default_ttl = stream.ttl().unwrap_or(0);
        let wanted = Arc::new(AtomicU32::new(0));
        let unread = Arc::new(AtomicBool::new(false));
        let refused = unread.clone();
        let abort = Arc::new(AtomicBool::new(false));
        let io = TtlStream {
            inner: stream,
            wanted: wanted.clone(),
            current: default_ttl,
            applied: applied_ttl.clone(),
            unread: unread.clone(),
            linger: None,
            abort: abort.clone(),
        };
        let ttl = TtlControl {
            wanted,
            default: default_ttl,
            abort,
        };
        let handler = handler.clone();
        let mut conn_shutdown = shutdown.clone();
        while connections.try_join_next().is_some() {}
        connections.spawn(async move {
            // Until its first byte arrives a connection costs only this task: hyper allocates
            // its buffers on the first read, so thousands of idle connections stay cheap. One
            // that sends nothing within the header timeout is closed, as hyper would.
            let mut one = [0u8; 1];
            let first_byte = tokio::select! {
                // `peek`, not `readable()`: a new socket reports readable at once.
                r = tokio::time::timeout(limits.header_read_timeout, io.inner.peek(&mut one)) => {
                    matches!(r, Ok(Ok(_)))
                }
                _ = conn_shutdown.changed() => false,
            };
            if !first_byte {
                return;
            }
            let admitted = handler.admit(peer, local);
            // The handler is shared by every connection; a reference of this connection's own
            // is what each request clones, so requests on different connections (served by
            // different worker threads) do not write one shared reference count.
            let handler = Arc::new(handler);
            let service = service_fn(move |req: hyper::Request<Incoming>| {
                let handler = handler.clone();
                let ttl = ttl.clone();
                let unread = unread.clone();
                async move {
                    if !admitted {
                        let mut r = handler.refused(req.uri());
                        r.headers_mut()
                            .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
                        return Ok::<_, io::Error>(r);
                    }
                    let (parts, body) = req.into_parts();
                    let body = if handler.wants_body() {
                        match read_body(body, &limits).await {
                            Ok(b) => b,
                            Err(e) => {
                                unread.store(true, Ordering::Release);
                                let mut r = handler.body_error(e);
                                r.headers_mut().insert(
                                    http::header::CONNECTION,
                                    HeaderValue::from_static("close"),
                                );
                                return Ok::<_, io::Error>(r);
                            }
                        }
                    } else {
                        if !body.is_end_stream() {
                            unread.store(true, Ordering::Release);
                        }
                        drop(body);
                        Bytes::new()
                    };
                    let data = RequestData {
                        method: parts.method,
                        uri: parts.uri,
                        headers: parts.headers,
                        body,
                        peer,
                        local,
                        ttl,
                    };
                    let reset = data.ttl.clone();
                    let response = handler.handle(data).await;
                    if reset.resetting() {
                        // Fault injection: no answer; the stream resets when dropped.
                        return Err(io::Error::from(io::ErrorKind::ConnectionReset));
                    }
                    Ok::<_, io::Error>(response)
                }
            });
            let mut builder = http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout)
                .max_buf_size(64 * 1024)
                .keep_alive(true);
            // Boxed: the connection state lives on the heap only once the connection is used,
            // which keeps the task of an idle connection small.
            let mut conn = Box::pin(builder.serve_connection(TokioIo::new(io), service));
            tokio::select! {
                r = conn.as_mut() => {
                    // hyper refused the request itself (431, 400) and the client may still be
                    // sending it: the stream, dropped with `conn` after this, lingers (see
                    // TtlStream's Drop). Not after timeouts: a slow client gets no extra time.
                    if r.is_err_and(|e| e.is_parse()) {
                        refused.store(true, Ordering::Release);
                    }
                }
                _ = conn_shutdown.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(Duration::from_secs(5), conn).await;
                }
            }
        });
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while connections.join_next().await.is_some() {}
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    struct Echo;

    impl Handler for Echo {
        async fn handle(&self, req: RequestData) -> HttpResponse {
            text(StatusCode::OK, "text/plain", req.body)
        }
    }

    /// Serves `Echo` with short limits on a runtime of its own; returns the address.
    fn echo_server(
        limits: Limits,
    ) -> (SocketAddr, watch::Sender<bool>, std::thread::JoinHandle<()>) {
        let rt = crate::runtime().unwrap();
        let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = watch::channel(false);
        let t = std::thread::spawn(move || {
            rt.block_on(serve(listener, Arc::new(Echo), limits, rx, None))
        });
        (addr, tx, t)
    }

    fn read_all(mut c: std::net::TcpStream) -> String {
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut out = Vec::new();
        let _ = c.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn slow_clients_are_cut_off() {
        let limits = Limits {
            header_read_timeout: Duration::from_millis(300),
            body_read_timeout: Duration::from_millis(300),
            max_body: 16,
        };
        let (addr, tx, t) = echo_server(limits);
        // Headers that never finish: the connection is closed (read returns EOF) instead of
        // being held open forever.
        let mut c = std::net::TcpStream::connect(addr).unwrap();
        c.write_all(b"POST / HTTP/1.1\r\nHost: x\r\n").unwrap();
        let started = std::time::Instant::now();
        let _ = read_all(c);
        assert!(
            started.elapsed() < Duration::from_secs(9),
            "connection was not closed"
        );
        // A body that never arrives: 400 and close.
        let mut c = std::net::TcpStream::connect(addr).unwrap();
        c.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
            .unwrap();
        assert!(read_all(c).starts_with("HTTP/1.1 400"));
        // A body over the limit: 413.
        let mut c = std::net::TcpStream::connect(addr).unwrap();
        c.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 17\r\n\r\n01234567890123456")
            .unwrap();
        assert!(read_all(c).starts_with("HTTP/1.1 413"));
        // Within limits: echoed.
        let mut c = std::net::TcpStream::connect(addr).unwrap();
        c.write_all(
            b"POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi",
        )
        .unwrap();
        let reply = read_all(c);
        assert!(
            reply.starts_with("HTTP/1.1 200") && reply.ends_with("hi"),
            "{reply}"
        );
        // An idle keep-alive connection is closed too.
        let mut c = std::net::TcpStream::connect(addr).unwrap();
        c.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok")
            .unwrap();
        let started = std::time::Instant::now();
        let reply = read_all(c);
        assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
        assert!(
            started.elapsed() < Duration::from_secs(9),
            "idle keep-alive connection stayed open"
        );
        let _ = tx.send(true);
        t.join().unwrap();
    }

    #[test]
    fn a_refused_body_still_reads_its_refusal() {
        // A client that sends its whole (too large) body before reading must get the 413, not
        // a connection reset: the server drains what it refused before closing.
        let limits = Limits {
            max_body: 64 * 1024,
            ..Limits::default()
        };
        let (addr, tx, t) = echo_server(limits);
        let body = vec![b'a'; 4 * 1024 * 1024];
        for _ in 0..3 {
            let mut c = std::net::TcpStream::connect(addr).unwrap();
            c.write_all(
                format!(
                    "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                )
                .as_bytes(),
            )
            .unwrap();
            c.write_all(&body)
                .expect("the server keeps reading until the body is sent");
            let reply = read_all(c);
            assert!(reply.starts_with("HTTP/1.1 413"), "{reply:?}");
        }
        let _ = tx.send(true);
        t.join().unwrap();
    }

    #[test]
    fn an_oversized_head_still_reads_its_refusal() {
        // hyper refuses a head over 64 KiB itself (431) and drops the connection without a
        // shutdown; a client still sending the rest of its 1 MiB header must get the 431, not
        // a reset (found by bench/hostile: the attacker saw resets without an answer).
        let (addr, tx, t) = echo_server(Limits::default());
        let mut head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Junk: ".to_vec();
        head.resize(head.len() + 1024 * 1024, b'a');
        head.extend_from_slice(b"\r\n\r\n");
        // A small send buffer keeps the client writing while the server answers (a large
        // one would take the whole head at once and hide the reset).
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        for _ in 0..3 {
            let mut c = rt.block_on(async {
                let s = tokio::net::TcpSocket::new_v4().unwrap();
                s.set_send_buffer_size(8 * 1024).unwrap();
                s.connect(addr).await.unwrap().into_std().unwrap()
            });
            c.set_nonblocking(false).unwrap();
            c.write_all(&head)
                .expect("the server keeps reading until the head is sent");
            let reply = read_all(c);
            assert!(
                reply.starts_with("HTTP/1.1 431"),
                "{:?}",
                &reply[..reply.len().min(80)]
            );
        }
        let _ = tx.send(true);
        t.join().unwrap();
    }
}
