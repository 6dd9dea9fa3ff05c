//! Benchmark baseline: a bare hyper 1.x server on the same runtime settings as `awsid serve`
//! (tokio multi-thread, HTTP/1.1 keep-alive) that answers every request with a fixed body.
//!
//! Usage: `cargo run --release -p awsid-server --example bare_hyper -- 127.0.0.1:0 [SPIN_NS]` prints
//! the bound address on stdout and serves until killed. With `SPIN_NS`, each request first busy-waits
//! that many nanoseconds: a calibration of what a given extra cost per request does to the request
//! rate on the same machine (`bench/server/run.py --spin-us`).

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// A fixed credentials-shaped document of about the size awsid's IMDS credentials document has
/// (~850 bytes), so both servers put the same number of bytes on the wire.
const BODY: &[u8] = b"{\n  \"Code\" : \"Success\",\n  \"LastUpdated\" : \"2026-11-23T06:00:00Z\",\n  \"Type\" : \"AWS-HMAC\",\n  \"AccessKeyId\" : \"ASIAIOSFODNN7EXAMPLE\",\n  \"SecretAccessKey\" : \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\",\n  \"Token\" : \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\n  \"Expiration\" : \"2026-11-23T12:00:00Z\"\n}";

fn main() -> std::io::Result<()> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into())
        .parse()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let spin = match std::env::args().nth(2) {
        Some(n) => std::time::Duration::from_nanos(
            n.parse()
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?,
        ),
        None => std::time::Duration::ZERO,
    };
    let rt = awsid_server::runtime()?;
    rt.block_on(async move {
        let listener = TcpListener::bind(addr).await?;
        println!("{}", listener.local_addr()?);
        loop {
            let (stream, _) = listener.accept().await?;
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let service = service_fn(move |_req: Request<hyper::body::Incoming>| async move {
                    if !spin.is_zero() {
                        let start = std::time::Instant::now();
                        while start.elapsed() < spin {
                            std::hint::spin_loop();
                        }
                    }
                    Ok::<_, Infallible>(
                        Response::builder()
                            .header("content-type", "text/plain")
                            .body(Full::new(Bytes::from_static(BODY)))
                            .expect("static response"),
                    )
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    })
}
