//! The loopback listener that receives the authorization code flow's redirect (RFC 8252
//! §7.3): `http://127.0.0.1:<ephemeral port>/oauth/callback?code=…&state=…`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use super::login::LoginError;

/// What the redirect carried.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Redirect {
    /// An authorization code and the state it came with.
    Code {
        /// `code`.
        code: String,
        /// `state`.
        state: String,
    },
    /// The authorization server sent `error` (the user denied, …).
    Error,
}

/// A listener on `127.0.0.1` with an ephemeral port.
#[derive(Debug)]
pub struct CallbackListener {
    listener: TcpListener,
    port: u16,
}

impl CallbackListener {
    /// Binds the listener; the error is the CLI's "Unable to initialize …" one.
    pub fn bind() -> Result<CallbackListener, LoginError> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.set_nonblocking(true).map(|_| l))
            .map_err(LoginError::CallbackHandler)?;
        let port = listener
            .local_addr()
            .map_err(LoginError::CallbackHandler)?
            .port();
        Ok(CallbackListener { listener, port })
    }

    /// The redirect URI to send: `http://127.0.0.1:<port>/oauth/callback`.
    pub fn redirect_uri(&self) -> String {
        format!("http://127.0.0.1:{}/oauth/callback", self.port)
    }

    /// Answers every request with `page` until one carries `error`, or `code` and `state`;
    /// [`LoginError::PendingAuthorizationExpired`] when `timeout` passes first.
    pub fn wait(&self, page: &str, timeout: Duration) -> Result<Redirect, LoginError> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            let (stream, _) = match self.listener.accept() {
                Ok(c) => c,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                }
                Err(e) => return Err(LoginError::CallbackHandler(e)),
            };
            if let Some(redirect) = answer(stream, page) {
                return Ok(redirect);
            }
        }
        Err(LoginError::PendingAuthorizationExpired)
    }
}

/// Reads one request, answers it with `page`, and returns what its query carried.
fn answer(mut stream: TcpStream, page: &str) -> Option<Redirect> {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&head);
    let target = text.lines().next()?.split(' ').nth(1)?.to_string();
    let _ = stream.write_all(
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
            page.len()
        )
        .as_bytes(),
    );
    let query = target.split_once('?').map(|(_, q)| q).unwrap_or("");
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    if get("error").is_some() {
        return Some(Redirect::Error);
    }
    match (get("code"), get("state")) {
        (Some(code), Some(state)) => Some(Redirect::Code { code, state }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(port: u16, target: &str) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(s, "GET {target} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    }

    #[test]
    fn stray_requests_get_the_page_and_the_redirect_ends_the_wait() {
        let listener = CallbackListener::bind().unwrap();
        assert!(listener.redirect_uri().starts_with("http://127.0.0.1:"));
        let port = listener.port;
        let browser = std::thread::spawn(move || {
            let icon = get(port, "/favicon.ico");
            let redirect = get(port, "/oauth/callback?code=C%2B1&state=S");
            (icon, redirect)
        });
        let got = listener
            .wait("<p>done</p>", Duration::from_secs(30))
            .unwrap();
        assert_eq!(
            got,
            Redirect::Code {
                code: "C+1".into(),
                state: "S".into()
            }
        );
        let (icon, redirect) = browser.join().unwrap();
        for answer in [icon, redirect] {
            assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
            assert!(answer.ends_with("\r\n\r\n<p>done</p>"), "{answer}");
        }
    }

    #[test]
    fn an_error_redirect_and_a_timeout() {
        let listener = CallbackListener::bind().unwrap();
        let port = listener.port;
        let browser =
            std::thread::spawn(move || get(port, "/oauth/callback?error=access_denied&state=S"));
        assert_eq!(
            listener.wait("", Duration::from_secs(30)).unwrap(),
            Redirect::Error
        );
        browser.join().unwrap();
        // Nobody comes back: the wait ends with the CLI's expiry error.
        assert!(matches!(
            listener.wait("", Duration::from_millis(50)),
            Err(LoginError::PendingAuthorizationExpired)
        ));
    }
}
