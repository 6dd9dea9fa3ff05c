//! The console federation endpoint (`/federation`, as on `signin.aws.amazon.com`):
//! `Action=getSigninToken` turns temporary credentials of a role session or a federated user
//! into a sign-in token, `Action=login` redeems it once and lands on `/console`, which shows
//! who signed in (`docs/spec/signin-server.md` §4).

use http::{HeaderValue, StatusCode};
use serde_json::Value;
use subtle::ConstantTimeEq;

use super::grants::{self, ConsolePrincipal, ConsoleSession, Kind, SigninToken};
use super::{SigninService, CONSOLE};
use crate::http::{text, HttpResponse, RequestData};
use crate::issuer::SessionKind;
use crate::sso::{pair, parse_pairs, query};
use crate::state::iso8601;
use crate::web::{badge, esc, page, Product};
use crate::world::SessionPrincipal;

/// How long a sign-in token may be redeemed.
const TOKEN_SECONDS: i64 = 900;
/// The console session cookie.
const COOKIE: &str = "awsid_console";

/// A federation error: 400 and the reason as text (never a secret).
fn bad(status: StatusCode, message: &str) -> HttpResponse {
    let mut r = text(status, "text/plain; charset=utf-8", format!("{message}\n"));
    r.headers_mut().insert(
        http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    r
}

/// `GET|POST /federation`.
pub(super) fn endpoint(svc: &SigninService, req: &RequestData) -> HttpResponse {
    let mut f = query(req);
    if req.method == http::Method::POST {
        f.extend(parse_pairs(&String::from_utf8_lossy(&req.body)));
    }
    match pair(&f, "Action") {
        Some("getSigninToken") => signin_token(svc, &f),
        Some("login") => login(svc, &f),
        Some(other) => bad(
            StatusCode::BAD_REQUEST,
            &format!("Unsupported Action {other}: use getSigninToken or login"),
        ),
        None => bad(StatusCode::BAD_REQUEST, "Missing Action"),
    }
}

/// Who the credentials in `session` (the `Session` parameter's JSON) belong to, and until when
/// they are valid; an error text when they are not credentials the console accepts.
fn verify(
    svc: &SigninService,
    session: &Value,
    now: i64,
) -> Result<(ConsolePrincipal, i64, bool), String> {
    let field = |k: &str| {
        session
            .get(k)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("Session is missing {k}"))
    };
    let (key_id, secret, token) = (
        field("sessionId")?,
        field("sessionKey")?,
        field("sessionToken")?,
    );
    let world = svc.state.world();
    let refused = || "The credentials are invalid or expired".to_string();
    for s in world.pre_issued(key_id) {
        if !bool::from(s.session_token.as_bytes().ct_eq(token.as_bytes()))
            || !bool::from(s.secret.as_bytes().ct_eq(secret.as_bytes()))
        {
            continue;
        }
        let expires = s.expires.unwrap_or(now + 43200);
        if expires <= now {
            return Err(refused());
        }
        return match &s.principal {
            SessionPrincipal::Role(r, name) => {
                let role = &world.roles[*r];
                let claims = crate::sessions::role_claims(role, name, now, expires, true);
                Ok((
                    ConsolePrincipal {
                        arn: claims.arn,
                        account: role.account.clone(),
                        user_id: claims.user_id,
                        access_key_id: key_id.to_string(),
                    },
                    expires,
                    true,
                ))
            }
            SessionPrincipal::User(_) => Err(not_federatable()),
        };
    }
    let (claims, expected) = svc
        .state
        .issuer
        .open(key_id, token)
        .map_err(|_| refused())?;
    if !bool::from(expected.as_bytes().ct_eq(secret.as_bytes())) || claims.expires <= now {
        return Err(refused());
    }
    let role = match claims.kind {
        SessionKind::Role => true,
        SessionKind::Federated => false,
        SessionKind::User => return Err(not_federatable()),
    };
    Ok((
        ConsolePrincipal {
            arn: claims.arn,
            account: claims.account,
            user_id: claims.user_id,
            access_key_id: key_id.to_string(),
        },
        claims.expires,
        role,
    ))
}

fn not_federatable() -> String {
    "These credentials cannot sign in to the console: use the credentials of a role session \
     (AssumeRole*) or of GetFederationToken, not an IAM user's keys or its GetSessionToken or \
     aws login session"
        .into()
}

fn signin_token(svc: &SigninService, f: &[(String, String)]) -> HttpResponse {
    let now = svc.now();
    let Some(session) = pair(f, "Session") else {
        return bad(StatusCode::BAD_REQUEST, "Missing Session");
    };
    let Ok(session) = serde_json::from_str::<Value>(session) else {
        return bad(StatusCode::BAD_REQUEST, "Session is not a JSON object");
    };
    let (principal, expires, role) = match verify(svc, &session, now) {
        Ok(v) => v,
        Err(why) => return bad(StatusCode::BAD_REQUEST, &why),
    };
    let session_end = match pair(f, "SessionDuration") {
        None => expires,
        Some(_) if !role => {
            return bad(
                StatusCode::BAD_REQUEST,
                "SessionDuration is only accepted with role credentials; a federated user's console session lasts as long as its credentials",
            )
        }
        Some(d) => match d.parse::<i64>() {
            Ok(d) if (900..=43200).contains(&d) => now + d,
            _ => {
                return bad(
                    StatusCode::BAD_REQUEST,
                    "SessionDuration must be a number of seconds from 900 to 43200",
                )
            }
        },
    };
    let token = SigninToken {
        id: crate::sso::tokens::random_id(),
        principal,
        expires: now + TOKEN_SECONDS,
        session_end,
    };
    let body = serde_json::json!({"SigninToken": grants::seal(&svc.state.issuer, Kind::SigninToken, &token)});
    let mut r = text(StatusCode::OK, "application/json", body.to_string());
    r.headers_mut().insert(
        http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    r
}

fn login(svc: &SigninService, f: &[(String, String)]) -> HttpResponse {
    let now = svc.now();
    let Some(token) = pair(f, "SigninToken") else {
        return bad(StatusCode::BAD_REQUEST, "Missing SigninToken");
    };
    let Some(destination) = pair(f, "Destination").filter(|d| !d.is_empty()) else {
        return bad(StatusCode::BAD_REQUEST, "Missing Destination");
    };
    let Some(token) = grants::open::<SigninToken>(&svc.state.issuer, Kind::SigninToken, token)
    else {
        return bad(StatusCode::BAD_REQUEST, "The sign-in token is invalid");
    };
    if token.expires <= now || token.session_end <= now {
        return bad(StatusCode::BAD_REQUEST, "The sign-in token has expired");
    }
    match svc
        .spent
        .spend(&format!("signin-token:{}", token.id), token.expires, now)
    {
        Ok(true) => {}
        Ok(false) => {
            return bad(
                StatusCode::BAD_REQUEST,
                "The sign-in token was already used",
            )
        }
        Err(_) => {
            return bad(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many sign-ins; try again later",
            )
        }
    }
    let session = ConsoleSession {
        principal: token.principal,
        issuer: pair(f, "Issuer").unwrap_or("").to_string(),
        destination: destination.to_string(),
        signed_in: now,
        expires: token.session_end,
    };
    let cookie = format!(
        "{COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}",
        grants::seal(&svc.state.issuer, Kind::Console, &session),
        (session.expires - now).max(0)
    );
    let mut r = page(
        Product::Console,
        StatusCode::FOUND,
        "Signing in",
        &format!("<p>Continue to <a href=\"{CONSOLE}\">the console</a>.</p>"),
    );
    let h = r.headers_mut();
    h.insert(http::header::LOCATION, HeaderValue::from_static(CONSOLE));
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        h.insert(http::header::SET_COOKIE, v);
    }
    r
}

/// The console session of the request's cookie, if it holds a live one.
fn session_of(svc: &SigninService, req: &RequestData) -> Option<ConsoleSession> {
    let cookies = req.headers.get_all(http::header::COOKIE);
    let value = cookies
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            c.trim()
                .strip_prefix(&format!("{COOKIE}="))
                .map(str::to_string)
        })?;
    let s: ConsoleSession = grants::open(&svc.state.issuer, Kind::Console, &value)?;
    (s.expires > svc.now()).then_some(s)
}

/// `GET /console`: who signed in, or how to sign in.
pub(super) fn console(svc: &SigninService, req: &RequestData) -> HttpResponse {
    let Some(s) = session_of(svc, req) else {
        return page(
            Product::Console,
            StatusCode::UNAUTHORIZED,
            "Not signed in",
            &format!(
                "{}<p>Open a sign-in URL first: <code>awsid console --profile PROFILE</code> \
                 prints one for the profile's credentials.</p>",
                badge(false, "Signed out")
            ),
        );
    };
    let p = &s.principal;
    let kind = if p.arn.contains(":assumed-role/") {
        "Role session"
    } else if p.arn.contains(":federated-user/") {
        "Federated user"
    } else {
        "Session"
    };
    let body = format!(
        "{badge}<p>You are signed in to the console of account <b>{account}</b> as</p>\
         <span class=\"code\" id=\"principal\">{arn}</span>\
         <dl><dt>Type</dt><dd>{kind}</dd><dt>Account</dt><dd>{account}</dd>\
         <dt>User ID</dt><dd>{user_id}</dd><dt>Access key</dt><dd>{key}</dd>\
         <dt>Signed in</dt><dd>{signed_in}</dd><dt>Session ends</dt><dd>{ends}</dd>\
         <dt>Issuer</dt><dd>{issuer}</dd><dt>Destination</dt><dd>{destination}</dd></dl>\
         <p class=\"muted\">A real sign-in would continue to the destination; this page stands in \
         for it and goes nowhere else.</p>",
        badge = badge(true, "Signed in"),
        account = esc(&p.account),
        arn = esc(&p.arn),
        kind = kind,
        user_id = esc(&p.user_id),
        key = esc(&p.access_key_id),
        signed_in = iso8601(s.signed_in),
        ends = iso8601(s.expires),
        issuer = esc(if s.issuer.is_empty() { "-" } else { &s.issuer }),
        destination = esc(&s.destination),
    );
    page(Product::Console, StatusCode::OK, "Signed in", &body)
}
