//! A small blocking HTTP layer over reqwest (rustls). Clients are built lazily, on the first
//! request, so resolutions that never touch the network pay nothing for TLS or a runtime.

use std::sync::OnceLock;
use std::time::Duration;

/// An outgoing request.
#[derive(Clone)]
pub struct HttpRequest {
    /// `GET`, `PUT`, `POST`.
    pub method: &'static str,
    /// Absolute URL.
    pub url: String,
    /// Headers in order.
    pub headers: Vec<(String, String)>,
    /// Body bytes (empty for none).
    pub body: Vec<u8>,
}

impl std::fmt::Debug for HttpRequest {
    // Headers and bodies carry tokens and signatures: show the request line only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.url)
    }
}

impl HttpRequest {
    /// A request without headers or body.
    pub fn new(method: &'static str, url: impl Into<String>) -> HttpRequest {
        HttpRequest {
            method,
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> HttpRequest {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> HttpRequest {
        self.body = body.into();
        self
    }
}

/// A response: status, headers and the whole body.
#[derive(Clone, Debug)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers (lower-case names).
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The body as (lossy) UTF-8 text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// The most of a response body [`HttpClient`] reads by default (STS, SSO): the real
/// endpoints answer a few KiB.
pub const DEFAULT_MAX_BODY: usize = 1 << 20;

/// Why a request got no response (the kinds botocore's HTTP layer tells apart).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// The connection was refused or reset while connecting, or the name did not resolve
    /// (botocore `EndpointConnectionError`).
    #[error("connection failed: {0}")]
    Connect(String),
    /// Connecting took longer than the timeout (`ConnectTimeoutError`).
    #[error("connect timeout: {0}")]
    ConnectTimeout(String),
    /// The response body is longer than the client reads (an endless or hostile answer); the
    /// rest was not read.
    #[error("the response from {url} is larger than {limit} bytes")]
    TooLarge {
        /// The URL requested.
        url: String,
        /// The limit in bytes.
        limit: usize,
    },
    /// Connected, but the response did not arrive in time (`ReadTimeoutError`).
    #[error("read timeout: {0}")]
    ReadTimeout(String),
    /// Connected, then the connection was closed or reset before a whole response arrived
    /// (`ConnectionClosedError`).
    #[error("connection closed: {0}")]
    Closed(String),
    /// The URL cannot be requested.
    #[error("invalid URL: {0}")]
    InvalidUrl(String),
    /// Any other failure (TLS, proxy…).
    #[error("{0}")]
    Other(String),
}

/// Sends requests; the production implementation is [`HttpClient`], tests may substitute.
pub trait Transport: Send + Sync {
    /// Sends `request` and waits for the whole response.
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError>;
}

/// A lazily built reqwest blocking client with fixed timeouts and a bounded response body.
pub struct HttpClient {
    timeout: Duration,
    proxies: bool,
    max_body: usize,
    client: OnceLock<Result<reqwest::blocking::Client, String>>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("timeout", &self.timeout)
            .field("proxies", &self.proxies)
            .field("max_body", &self.max_body)
            .finish()
    }
}

impl HttpClient {
    /// A client whose connect and read timeouts are `timeout`; `proxies` says whether the
    /// `HTTP(S)_PROXY` environment applies (it does not for the container provider).
    /// Bodies longer than [`DEFAULT_MAX_BODY`] are refused.
    pub fn new(timeout: Duration, proxies: bool) -> HttpClient {
        HttpClient {
            timeout,
            proxies,
            max_body: DEFAULT_MAX_BODY,
            client: OnceLock::new(),
        }
    }

    /// Refuses response bodies longer than `limit` bytes ([`TransportError::TooLarge`]),
    /// reading at most `limit + 1` of them.
    pub fn with_max_body(mut self, limit: usize) -> HttpClient {
        self.max_body = limit;
        self
    }

    fn client(&self) -> Result<&reqwest::blocking::Client, TransportError> {
        self.client
            .get_or_init(|| {
                let mut b = reqwest::blocking::Client::builder()
                    .connect_timeout(self.timeout)
                    .timeout(self.timeout)
                    .redirect(reqwest::redirect::Policy::none());
                if !self.proxies {
                    b = b.no_proxy();
                }
                b.build().map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|e| TransportError::Other(e.clone()))
    }
}

impl Transport for HttpClient {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        let client = self.client()?;
        let method = reqwest::Method::from_bytes(request.method.as_bytes())
            .map_err(|e| TransportError::Other(e.to_string()))?;
        let url = reqwest::Url::parse(&request.url)
            .map_err(|e| TransportError::InvalidUrl(format!("{}: {e}", request.url)))?;
        let mut builder = client.request(method, url);
        for (k, v) in &request.headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        if !request.body.is_empty() || request.method != "GET" {
            builder = builder.body(request.body.clone());
        }
        let response = builder.send().map_err(classify)?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let too_large = || TransportError::TooLarge {
            url: request.url.clone(),
            limit: self.max_body,
        };
        if response
            .content_length()
            .is_some_and(|n| n > self.max_body as u64)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        use std::io::Read;
        response
            .take(self.max_body as u64 + 1)
            .read_to_end(&mut body)
            .map_err(
                |e| match e.get_ref().and_then(|i| i.downcast_ref::<reqwest::Error>()) {
                    Some(r) => classify_ref(r),
                    None => TransportError::Closed(error_chain(&e)),
                },
            )?;
        if body.len() > self.max_body {
            return Err(too_large());
        }
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}

fn classify(e: reqwest::Error) -> TransportError {
    classify_ref(&e)
}

fn classify_ref(e: &reqwest::Error) -> TransportError {
    let text = error_chain(e);
    if e.is_connect() && e.is_timeout() {
        TransportError::ConnectTimeout(text)
    } else if e.is_connect() {
        TransportError::Connect(text)
    } else if e.is_timeout() {
        TransportError::ReadTimeout(text)
    } else if e.is_builder() {
        TransportError::InvalidUrl(text)
    } else if e.is_request() || e.is_body() || e.is_decode() {
        TransportError::Closed(text)
    } else {
        TransportError::Other(text)
    }
}

impl TransportError {
    /// Whether the request timed out (connecting or reading).
    pub fn is_timeout(&self) -> bool {
        matches!(
            self,
            TransportError::ConnectTimeout(_) | TransportError::ReadTimeout(_)
        )
    }
}

/// A failed request in a notice for the user: the reference's text for the failure kind
/// (`Could not connect to the endpoint URL: "…"`, `Read timeout on endpoint URL: "…"`,
/// `Connection was closed before …`) and, in parentheses, the innermost cause the transport
/// gave (`Connection refused (os error 111)`, `connection reset`…) when there is one.
pub fn describe_failure(url: &str, e: &TransportError) -> String {
    let text = crate::CredentialsError::transport(url, e.clone()).to_string();
    let cause = match e {
        TransportError::Connect(t)
        | TransportError::ConnectTimeout(t)
        | TransportError::ReadTimeout(t)
        | TransportError::Closed(t)
        | TransportError::Other(t) => t.rsplit(": ").next().unwrap_or("").trim(),
        TransportError::TooLarge { .. } | TransportError::InvalidUrl(_) => "",
    };
    if cause.is_empty() || text.contains(cause) {
        text
    } else {
        format!("{} ({cause})", text.trim_end_matches('.'))
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{FakeServer, Reply};

    #[test]
    fn bodies_are_bounded() {
        let server = FakeServer::start(|req| match req.path.as_str() {
            "/exact" => Reply::ok(vec![b'a'; 1024]),
            _ => Reply::ok(vec![b'a'; 1025]),
        });
        let client = HttpClient::new(Duration::from_secs(5), false).with_max_body(1024);
        let ok = client
            .send(&HttpRequest::new("GET", format!("{}/exact", server.url())))
            .unwrap();
        assert_eq!(ok.body.len(), 1024);
        let url = format!("{}/over", server.url());
        assert_eq!(
            client
                .send(&HttpRequest::new("GET", url.clone()))
                .unwrap_err(),
            TransportError::TooLarge { url, limit: 1024 }
        );
    }

    #[test]
    fn transport_errors_are_worded_like_botocore() {
        use crate::CredentialsError;
        let e = |t| CredentialsError::transport("http://h/", t).to_string();
        assert_eq!(
            e(TransportError::ReadTimeout("x".into())),
            "Read timeout on endpoint URL: \"http://h/\""
        );
        assert_eq!(
            e(TransportError::ConnectTimeout("x".into())),
            "Connect timeout on endpoint URL: \"http://h/\""
        );
        assert_eq!(
            e(TransportError::Connect("x".into())),
            "Could not connect to the endpoint URL: \"http://h/\""
        );
        assert_eq!(
            e(TransportError::Closed("x".into())),
            "Connection was closed before we received a valid response from endpoint URL: \"http://h/\"."
        );
        assert_eq!(
            e(TransportError::Other("x".into())),
            "Could not connect to the endpoint URL: \"http://h/\""
        );
        assert_eq!(
            e(TransportError::TooLarge {
                url: "http://h/".into(),
                limit: 10
            }),
            "The response from the endpoint URL \"http://h/\" is larger than 10 bytes; refusing to read more"
        );
    }

    #[test]
    fn a_read_timeout_is_not_a_connect_failure() {
        // Accepts, never answers: the client's read times out.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let hold = std::thread::spawn(move || {
            let (s, _) = listener.accept().unwrap();
            std::thread::sleep(Duration::from_millis(1500));
            drop(s);
        });
        let client = HttpClient::new(Duration::from_millis(300), false);
        let err = client.send(&HttpRequest::new("GET", url)).unwrap_err();
        assert!(matches!(err, TransportError::ReadTimeout(_)), "{err:?}");
        hold.join().unwrap();
    }
}
