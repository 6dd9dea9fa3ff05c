//! The browser pages of the identity plane (IAM Identity Center device approval and
//! authorization, Sign-In for `aws login`, the federation console landing page) share one
//! small layout: a header naming the product, a card, and one stylesheet inlined in the page —
//! no script, font, image or other asset from anywhere else.

use http::{HeaderValue, StatusCode};

use crate::http::{text, HttpResponse};

/// Which product a page belongs to (shown in the header).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Product {
    /// IAM Identity Center (SSO device approval and authorization).
    IdentityCenter,
    /// AWS Sign-In (`aws login`'s authorization and confirmation pages).
    SignIn,
    /// The console landing page of a federation sign-in.
    Console,
}

impl Product {
    fn name(self) -> &'static str {
        match self {
            Product::IdentityCenter => "IAM Identity Center",
            Product::SignIn => "Sign-In",
            Product::Console => "Console",
        }
    }
}

/// HTML-escapes text for element content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The one stylesheet (system fonts, no external assets).
const STYLE: &str = "\
:root{--ink:#16191f;--muted:#5f6b7a;--line:#d5dbe1;--bg:#f2f4f7;--accent:#0b6bcb;--accent-ink:#fff;--ok:#1d8102;--bad:#b0281a}\
*{box-sizing:border-box}\
body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif}\
header{background:#232f3e;color:#fff;padding:.7rem 1.5rem;display:flex;align-items:center;gap:.6rem}\
header .mark{display:inline-grid;place-items:center;width:1.9rem;height:1.9rem;border-radius:.45rem;background:#ff9900;color:#232f3e;font-weight:800;font-size:.8rem;letter-spacing:-.02em}\
header .brand{font-weight:700}header .product{color:#c6ccd4}\
main{max-width:34rem;margin:3rem auto;padding:0 1rem}\
.card{background:#fff;border:1px solid var(--line);border-radius:.75rem;padding:1.75rem 2rem;box-shadow:0 1px 3px rgba(0,0,0,.06)}\
h1{font-size:1.35rem;margin:0 0 1rem}\
p{margin:.6rem 0}.muted{color:var(--muted);font-size:.9rem}\
.status{display:inline-block;padding:.1rem .6rem;border-radius:1rem;font-size:.8rem;font-weight:600;margin-bottom:.6rem}\
.status.ok{background:#e9f5e5;color:var(--ok)}.status.bad{background:#fbe9e7;color:var(--bad)}\
.code{font:600 1.5rem/1.2 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;letter-spacing:.08em;background:var(--bg);border:1px dashed var(--line);border-radius:.5rem;padding:.6rem .9rem;display:block;text-align:center;word-break:break-all}\
dl{display:grid;grid-template-columns:max-content 1fr;gap:.35rem 1rem;margin:1rem 0}dt{color:var(--muted)}dd{margin:0;word-break:break-all;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9rem}\
label{display:block;font-weight:600;margin:.9rem 0 .3rem}\
input,select{width:100%;font:inherit;padding:.5rem .6rem;border:1px solid var(--line);border-radius:.4rem;background:#fff}\
input:focus,select:focus{outline:2px solid var(--accent);outline-offset:1px}\
.actions{display:flex;gap:.6rem;margin-top:1.4rem}\
button{font:inherit;font-weight:600;padding:.55rem 1.2rem;border-radius:.4rem;border:1px solid var(--line);background:#fff;color:var(--ink);cursor:pointer}\
button.primary{background:var(--accent);border-color:var(--accent);color:var(--accent-ink)}\
footer{max-width:34rem;margin:0 auto 2rem;padding:0 1rem;color:var(--muted);font-size:.8rem;text-align:center}";

/// A page: `title` as heading and window title, `body` (HTML the caller escaped) in the card.
pub fn page(product: Product, status: StatusCode, title: &str, body: &str) -> HttpResponse {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{t} - awsid {p}</title><style>{STYLE}</style></head>\
<body><header><span class=\"mark\">id</span><span class=\"brand\">awsid</span>\
<span class=\"product\">{p}</span></header>\
<main><div class=\"card\"><h1>{t}</h1>\n{body}\n</div></main>\
<footer>Local identity plane &middot; nothing on this page leaves this machine</footer>\
</body></html>\n",
        t = esc(title),
        p = product.name(),
    );
    let mut r = text(status, "text/html; charset=utf-8", html);
    let headers = r.headers_mut();
    headers.insert(
        http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    // Nothing but the inline stylesheet; forms post to this origin only; no framing.
    headers.insert(
        http::header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_str(&csp("'self'")).expect("a static policy"),
    );
    headers.insert(
        http::header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

/// The pages' Content-Security-Policy, forms allowed to go to `form_action`.
fn csp(form_action: &str) -> String {
    format!(
        "default-src 'none'; style-src 'unsafe-inline'; form-action {form_action}; \
         frame-ancestors 'none'; base-uri 'none'"
    )
}

/// [`page`] holding a form the server answers with a redirect to `redirect_uri` (an OAuth
/// client's callback, already validated; for the CLIs a loopback listener on a port of its
/// own). Browsers apply `form-action` to the redirects a submission follows too, so with
/// `'self'` alone the approval would stop at the redirect; the callback's origin is allowed
/// next to it. A `redirect_uri` that is not a plain `http(s)://host[:port]` keeps `'self'`.
pub fn form_page(
    product: Product,
    status: StatusCode,
    title: &str,
    body: &str,
    redirect_uri: &str,
) -> HttpResponse {
    let mut r = page(product, status, title, body);
    if let Some(origin) = origin(redirect_uri) {
        if let Ok(v) = HeaderValue::from_str(&csp(&format!("'self' {origin}"))) {
            r.headers_mut()
                .insert(http::header::CONTENT_SECURITY_POLICY, v);
        }
    }
    r
}

/// `scheme://host[:port]` of an http(s) URI, as a CSP source; `None` for anything else
/// (user info, IP-literal brackets and characters a source expression cannot hold).
fn origin(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once("://")?;
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let ok = !authority.is_empty()
        && authority
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:".contains(&b));
    ok.then(|| format!("{scheme}://{authority}"))
}

/// A status badge (`ok` or `bad`) with its text.
pub fn badge(ok: bool, text: &str) -> String {
    format!(
        "<span class=\"status {}\">{}</span>",
        if ok { "ok" } else { "bad" },
        esc(text)
    )
}

/// Approve/Deny buttons posting `action`.
pub const APPROVE_DENY: &str = "<div class=\"actions\"><button class=\"primary\" type=\"submit\" name=\"action\" value=\"approve\">Approve</button>\
<button type=\"submit\" name=\"action\" value=\"deny\">Deny</button></div>";

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[test]
    fn pages_are_self_contained() {
        let r = page(Product::SignIn, StatusCode::OK, "<Hi>", "<p>x</p>");
        assert_eq!(r.status(), StatusCode::OK);
        let csp = r.headers()[http::header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .to_string();
        assert!(csp.starts_with("default-src 'none'"));
        let body = futures_body(r);
        assert!(body.contains("<title>&lt;Hi&gt; - awsid Sign-In</title>"));
        assert!(
            !body.contains("http://") && !body.contains("https://"),
            "no outside assets"
        );
        assert!(!body.contains("<script"));
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    fn csp_of(r: &HttpResponse) -> &str {
        r.headers()[http::header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
    }

    #[test]
    fn form_pages_allow_the_callback_origin_only() {
        let r = form_page(
            Product::IdentityCenter,
            StatusCode::OK,
            "Allow access",
            "<form></form>",
            "http://127.0.0.1:41583/oauth/callback",
        );
        assert!(
            csp_of(&r).contains("; form-action 'self' http://127.0.0.1:41583; "),
            "{}",
            csp_of(&r)
        );
        // Only the origin: what follows the authority never reaches the header.
        let r = form_page(
            Product::SignIn,
            StatusCode::OK,
            "t",
            "b",
            "http://localhost:9/cb; script-src *",
        );
        assert!(
            csp_of(&r).contains("; form-action 'self' http://localhost:9; "),
            "{}",
            csp_of(&r)
        );
        for odd in [
            "http://127.0.0.1:1;script-src",
            "http://a b/",
            "http://u@127.0.0.1:1/",
            "javascript:alert(1)",
            "http://[::1]:1/",
            "",
        ] {
            let r = form_page(Product::SignIn, StatusCode::OK, "t", "b", odd);
            assert!(
                csp_of(&r).contains("; form-action 'self'; "),
                "{odd}: {}",
                csp_of(&r)
            );
        }
    }

    fn futures_body(r: HttpResponse) -> String {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let bytes = rt.block_on(r.into_body().collect()).unwrap().to_bytes();
        String::from_utf8(bytes.to_vec()).unwrap()
    }
}
