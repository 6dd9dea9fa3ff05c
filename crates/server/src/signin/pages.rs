//! The browser side of `aws login`: the authorization page (`/v1/authorize`: a world IAM user
//! signs in — with a one-time code when the user has an MFA device — and allows the CLI), the
//! redirect back with `code` and `state`, and the cross-device confirmation page showing the
//! verification code to paste into the terminal. The emulator has no passwords: choosing a
//! user (and passing its MFA) is signing in.

use base64::Engine;
use http::{HeaderValue, StatusCode};

use super::grants::{self, AuthCode, Kind};
use super::{SigninService, CONFIRMATION, CROSS_DEVICE, SAME_DEVICE};
use crate::http::{HttpResponse, RequestData};
use crate::sso::{encode, pair, parse_pairs, query};
use crate::web::{badge, esc, form_page, page as web_page, Product};
use crate::world::User;

/// How long an authorization code may be redeemed.
const CODE_SECONDS: i64 = 300;

fn page(status: StatusCode, title: &str, body: &str) -> HttpResponse {
    web_page(Product::SignIn, status, title, body)
}

fn fields(req: &RequestData) -> Vec<(String, String)> {
    if req.method == http::Method::POST {
        parse_pairs(&String::from_utf8_lossy(&req.body))
    } else {
        query(req)
    }
}

/// A 302 to `url` with `params` appended to its query.
fn redirect(url: &str, params: &[(&str, &str)]) -> HttpResponse {
    let mut target = url.to_string();
    let mut sep = if target.contains('?') { '&' } else { '?' };
    for (k, v) in params {
        target.push(sep);
        target.push_str(k);
        target.push('=');
        target.push_str(&encode(v));
        sep = '&';
    }
    let mut r = page(
        StatusCode::FOUND,
        "Redirecting",
        &format!("<p>Continue to <a href=\"{0}\">{0}</a>.</p>", esc(&target)),
    );
    if let Ok(v) = HeaderValue::from_str(&target) {
        r.headers_mut().insert(http::header::LOCATION, v);
    }
    r
}

/// Whether `uri` is a loopback callback (`http://127.0.0.1|localhost|[::1]:<port>/oauth/callback`).
fn loopback_callback(uri: &str) -> bool {
    let Some(rest) = uri.strip_prefix("http://") else {
        return false;
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if port.parse::<u16>().is_ok() => h,
        Some(_) => return false,
        None => authority,
    };
    matches!(host, "127.0.0.1" | "localhost" | "[::1]") && path == "/oauth/callback"
}

const PARAMS: [&str; 7] = [
    "response_type",
    "client_id",
    "state",
    "code_challenge_method",
    "scope",
    "redirect_uri",
    "code_challenge",
];

fn user_options(users: &[User], chosen: &str) -> String {
    let mut s = String::new();
    for u in users {
        s.push_str(&format!(
            "<option value=\"{arn}\"{sel}>{name} &middot; account {account}{mfa}</option>",
            arn = esc(&u.arn),
            sel = if u.arn == chosen { " selected" } else { "" },
            name = esc(&u.name),
            account = esc(&u.account),
            mfa = if u.mfa_devices.is_empty() {
                ""
            } else {
                " (MFA)"
            },
        ));
    }
    s
}

/// The sign-in form, with an optional error line above it.
fn form(
    svc: &SigninService,
    get: &dyn Fn(&str) -> String,
    error: Option<&str>,
    chosen: &str,
) -> String {
    let device = if get("client_id") == CROSS_DEVICE {
        "on another device (remote)"
    } else {
        "on this computer"
    };
    let hidden: String = PARAMS
        .iter()
        .map(|k| {
            format!(
                "<input type=\"hidden\" name=\"{k}\" value=\"{}\">",
                esc(&get(k))
            )
        })
        .collect();
    let error = error
        .map(|e| format!("{}<p>{}</p>", badge(false, "Not signed in"), esc(e)))
        .unwrap_or_default();
    format!(
        "{error}<p><b>AWS CLI</b> {device} asks for temporary credentials of your console \
         session, refreshed for up to 12 hours.</p>\
         <form method=\"post\" action=\"{path}\">{hidden}\
         <label for=\"user\">Sign in as</label><select id=\"user\" name=\"user\">{options}</select>\
         <label for=\"mfa_code\">MFA code <span class=\"muted\">(users with an MFA device)</span></label>\
         <input id=\"mfa_code\" name=\"mfa_code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" maxlength=\"6\">\
         <div class=\"actions\"><button class=\"primary\" type=\"submit\" name=\"action\" value=\"approve\">Allow</button>\
         <button type=\"submit\" name=\"action\" value=\"deny\">Cancel</button></div></form>",
        path = super::AUTHORIZE,
        options = user_options(&svc.state.world().users, chosen),
    )
}

/// `GET|POST /v1/authorize`. Problems with the client or its redirect URI are shown as a page;
/// later ones (unsupported parameters, a denial) go back to the client (RFC 6749 §4.1.2.1).
pub(super) fn authorize(svc: &SigninService, req: &RequestData) -> HttpResponse {
    let f = fields(req);
    let get = |k: &str| pair(&f, k).unwrap_or("").to_string();
    let client_id = get("client_id");
    let base = crate::sso::base_url(req);
    let redirect_uri = get("redirect_uri");
    let redirect_ok = match client_id.as_str() {
        SAME_DEVICE => loopback_callback(&redirect_uri),
        CROSS_DEVICE => redirect_uri == format!("{base}{CONFIRMATION}"),
        _ => {
            return page(
                StatusCode::BAD_REQUEST,
                "Sign-in failed",
                "<p>client_id is not a client of this service.</p>",
            )
        }
    };
    if !redirect_ok {
        return page(
            StatusCode::BAD_REQUEST,
            "Sign-in failed",
            "<p>redirect_uri is not allowed for this client.</p>",
        );
    }
    // The sign-in form goes back to the client's redirect URI once allowed (web::form_page).
    let page = |status: StatusCode, title: &str, body: &str| {
        form_page(Product::SignIn, status, title, body, &redirect_uri)
    };
    let state = get("state");
    let fail = |error: &str| redirect(&redirect_uri, &[("error", error), ("state", &state)]);
    if get("response_type") != "code" {
        return fail("unsupported_response_type");
    }
    if !get("scope").split(' ').any(|s| s == "openid") {
        return fail("invalid_scope");
    }
    let challenge = get("code_challenge");
    let challenge_ok = (43..=128).contains(&challenge.len())
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    if get("code_challenge_method") != "SHA-256" || !challenge_ok || state.is_empty() {
        return fail("invalid_request");
    }
    if req.method == http::Method::GET {
        return page(StatusCode::OK, "Sign in", &form(svc, &get, None, ""));
    }
    match get("action").as_str() {
        "approve" => {}
        "deny" => return fail("access_denied"),
        _ => {
            return page(
                StatusCode::BAD_REQUEST,
                "Sign in",
                &form(svc, &get, Some("Choose Allow or Cancel."), ""),
            )
        }
    }
    let chosen = get("user");
    let Some(user) = svc.user_by_arn(&chosen) else {
        return page(
            StatusCode::BAD_REQUEST,
            "Sign in",
            &form(svc, &get, Some("Choose a user of this world."), ""),
        );
    };
    let now = svc.now();
    let mfa = !user.mfa_devices.is_empty();
    if mfa {
        let code = get("mfa_code");
        let ok = user
            .mfa_devices
            .iter()
            .any(|d| svc.state.mfa.verify(&d.serial, &d.secret, code.trim(), now));
        if !ok {
            return page(
                StatusCode::FORBIDDEN,
                "Sign in",
                &form(
                    svc,
                    &get,
                    Some("The MFA code is not valid (or was already used). Enter the current code of the user's MFA device."),
                    &chosen,
                ),
            );
        }
    }
    let action = "signin:AuthorizeOAuth2Access";
    let decision = svc.allowed(&user, action, mfa);
    if decision.decision != crate::policy::Decision::Allow {
        return page(
            StatusCode::FORBIDDEN,
            "Not authorized",
            &format!(
                "{}<p>{} may not sign in to the AWS CLI.</p><p class=\"muted\">{}</p>\
                 <p class=\"muted\">Allow <code>signin:AuthorizeOAuth2Access</code> and \
                 <code>signin:CreateOAuth2Token</code> (the SignInLocalDevelopmentAccess \
                 managed policy) in the user's policies in the world file.</p>",
                badge(false, "Denied"),
                esc(&user.arn),
                esc(&super::explain(&decision, action)),
            ),
        );
    }
    let code = AuthCode {
        id: crate::sso::tokens::random_id(),
        user_arn: user.arn.clone(),
        client_id: client_id.clone(),
        redirect_uri: redirect_uri.clone(),
        challenge,
        auth_time: now,
        mfa,
        expires: now + CODE_SECONDS,
    };
    let sealed = grants::seal(&svc.state.issuer, Kind::Code, &code);
    redirect(&redirect_uri, &[("code", &sealed), ("state", &state)])
}

/// `GET /v1/sessions/confirmation?code=…&state=…`: the verification code (base64 of
/// `code=…&state=…`) to paste into `aws login --remote`.
pub(super) fn confirmation(req: &RequestData) -> HttpResponse {
    let q = query(req);
    if let Some(error) = pair(&q, "error") {
        return page(
            StatusCode::OK,
            "Sign-in cancelled",
            &format!(
                "{}<p>No credentials were issued ({}). You can close this window.</p>",
                badge(false, "Cancelled"),
                esc(error)
            ),
        );
    }
    let (Some(code), Some(state)) = (pair(&q, "code"), pair(&q, "state")) else {
        return page(
            StatusCode::BAD_REQUEST,
            "Sign-in failed",
            "<p>This page needs the code and state of a sign-in.</p>",
        );
    };
    let verification = base64::engine::general_purpose::STANDARD.encode(format!(
        "code={}&state={}",
        encode(code),
        encode(state)
    ));
    page(
        StatusCode::OK,
        "Signed in",
        &format!(
            "{}<p>Copy this authorization code into the terminal where <b>aws login --remote</b> \
             is waiting:</p><span class=\"code\" id=\"verification-code\">{}</span>\
             <p class=\"muted\">It can be used once, within five minutes.</p>",
            badge(true, "Approved"),
            esc(&verification)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_callbacks_only() {
        assert!(loopback_callback("http://127.0.0.1:4321/oauth/callback"));
        assert!(loopback_callback("http://localhost:1/oauth/callback"));
        assert!(loopback_callback("http://[::1]:80/oauth/callback"));
        assert!(!loopback_callback("https://127.0.0.1:4321/oauth/callback"));
        assert!(!loopback_callback(
            "http://127.0.0.1.evil.com:4321/oauth/callback"
        ));
        assert!(!loopback_callback("http://127.0.0.1:4321/other"));
        assert!(!loopback_callback("http://127.0.0.1:x/oauth/callback"));
    }
}
