//! The browser side: the device verification page (`/device`: user code → pick the user →
//! Approve/Deny) and the authorization page of the PKCE flow (`/authorize`, which redirects to
//! the client's loopback listener with `code` and `state`). The forms' POST targets double as
//! the tests' approval knobs. The emulator has no passwords: picking a user is signing in.

use http::{HeaderValue, StatusCode};

use super::flows::{DecideError, DeviceStatus};
use super::model::SsoInstance;
use super::oidc::{auth_code, client_by_id, redirect_matches};
use super::tokens::{Client, CODE_GRANT};
use super::{encode, pair, parse_pairs, query, SsoService};
use crate::http::{HttpResponse, RequestData};

use crate::web::{badge, esc, Product};

fn page(status: StatusCode, title: &str, body: &str) -> HttpResponse {
    crate::web::page(Product::IdentityCenter, status, title, body)
}

fn user_select(inst: &SsoInstance) -> String {
    let mut s =
        String::from("<label for=\"user\">Sign in as</label><select id=\"user\" name=\"user\">");
    for u in &inst.users {
        s.push_str(&format!(
            "<option value=\"{}\">{} ({})</option>",
            esc(&u.name),
            esc(&u.display_name),
            esc(&u.name)
        ));
    }
    s.push_str("</select>");
    s
}

const BUTTONS: &str = crate::web::APPROVE_DENY;

/// The request's form fields (POST body) or query (GET).
fn fields(req: &RequestData) -> Vec<(String, String)> {
    if req.method == http::Method::POST {
        parse_pairs(&String::from_utf8_lossy(&req.body))
    } else {
        query(req)
    }
}

/// User codes are case-insensitive and may be typed without the dash.
fn normalize_user_code(code: &str) -> String {
    let c: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if c.len() == 8 {
        format!("{}-{}", &c[..4], &c[4..])
    } else {
        c
    }
}

fn code_form(message: &str) -> String {
    format!(
        "<p>{}</p><form method=\"get\" action=\"{}\"><label for=\"user_code\">Code</label>\
         <input id=\"user_code\" name=\"user_code\" autocomplete=\"off\" autofocus>\
         <div class=\"actions\"><button class=\"primary\" type=\"submit\">Next</button></div></form>",
        esc(message),
        super::DEVICE_PAGE
    )
}

/// The chosen user of a form: `user`, or the only user of the instance.
fn chosen_user(inst: &SsoInstance, f: &[(String, String)]) -> Option<String> {
    match pair(f, "user") {
        Some(u) => inst.user(u).map(|_| u.to_string()),
        None if inst.users.len() == 1 => Some(inst.users[0].name.clone()),
        None => None,
    }
}

/// `GET|POST /device`.
pub(super) fn device(svc: &SsoService, req: &RequestData) -> HttpResponse {
    let f = fields(req);
    let Some(code) = pair(&f, "user_code").map(normalize_user_code) else {
        return page(
            StatusCode::OK,
            "Authorize request",
            &code_form("Enter the code displayed by your application."),
        );
    };
    let now = svc.now();
    let world = svc.state.world();
    let found = svc
        .flows
        .device(&code, now)
        .and_then(|d| Some((world.sso_instance(&d.start_url)?, d)));
    let Some((inst, d)) = found else {
        return page(
            StatusCode::BAD_REQUEST,
            "Authorize request",
            &code_form("The code is not valid or has expired. Enter the code again."),
        );
    };
    if req.method == http::Method::GET {
        if d.status != DeviceStatus::Pending {
            return page(
                StatusCode::CONFLICT,
                "Authorize request",
                "<p>This request was already approved or denied.</p>",
            );
        }
        let body = format!(
            "<p><b>{client}</b> is requesting access to <b>{url}</b>.</p>\
             <p class=\"muted\">Check that this code matches the one your application shows:</p>\
             <span class=\"code\">{code}</span>\
             <form method=\"post\" action=\"{path}\"><input type=\"hidden\" name=\"user_code\" value=\"{code}\">{users}{BUTTONS}</form>",
            client = esc(&d.client_name),
            url = esc(&inst.start_url),
            code = esc(&code),
            path = super::DEVICE_PAGE,
            users = user_select(inst),
        );
        return page(StatusCode::OK, "Authorize request", &body);
    }
    let decision = match pair(&f, "action") {
        Some("approve") => match chosen_user(inst, &f) {
            Some(u) => Some(u),
            None => {
                return page(
                    StatusCode::BAD_REQUEST,
                    "Authorize request",
                    "<p>Choose a user of this instance.</p>",
                )
            }
        },
        Some("deny") => None,
        _ => {
            return page(
                StatusCode::BAD_REQUEST,
                "Authorize request",
                "<p>action must be approve or deny.</p>",
            )
        }
    };
    let approved = decision.is_some();
    match svc.flows.decide(&code, decision, now) {
        Ok(_) if approved => page(
            StatusCode::OK,
            "Request approved",
            &format!(
                "{}<p>You can close this window and return to your application.</p>",
                badge(true, "Approved")
            ),
        ),
        Ok(_) => page(
            StatusCode::OK,
            "Request denied",
            &format!(
                "{}<p>The application was not given access.</p>",
                badge(false, "Denied")
            ),
        ),
        Err(DecideError::Decided) => page(
            StatusCode::CONFLICT,
            "Authorize request",
            "<p>This request was already approved or denied.</p>",
        ),
        Err(DecideError::Unknown | DecideError::Expired) => page(
            StatusCode::BAD_REQUEST,
            "Authorize request",
            &code_form("The code is not valid or has expired."),
        ),
    }
}

/// A 302 to the client's redirect URI with `params` appended to its query.
fn redirect(redirect_uri: &str, params: &[(&str, &str)]) -> HttpResponse {
    let mut url = redirect_uri.to_string();
    let mut sep = if url.contains('?') { '&' } else { '?' };
    for (k, v) in params {
        url.push(sep);
        url.push_str(k);
        url.push('=');
        url.push_str(&encode(v));
        sep = '&';
    }
    let mut r = page(
        StatusCode::FOUND,
        "Redirecting",
        &format!("<p><a href=\"{0}\">{0}</a></p>", esc(&url)),
    );
    if let Ok(v) = HeaderValue::from_str(&url) {
        r.headers_mut().insert(http::header::LOCATION, v);
    }
    r
}

/// `GET|POST /authorize`. Errors before the client and its redirect URI are known are shown
/// as a page; later ones go back to the client (RFC 6749 §4.1.2.1).
pub(super) fn authorize(svc: &SsoService, req: &RequestData) -> HttpResponse {
    let f = fields(req);
    let get = |k: &str| pair(&f, k).unwrap_or("");
    let client_id = get("client_id");
    let Some(client): Option<Client> = client_by_id(svc, client_id) else {
        return page(
            StatusCode::BAD_REQUEST,
            "Authorization failed",
            "<p>Invalid or expired client_id.</p>",
        );
    };
    let redirect_uri = get("redirect_uri");
    if redirect_uri.is_empty() || !redirect_matches(&client.redirect_uris, redirect_uri) {
        return page(
            StatusCode::BAD_REQUEST,
            "Authorization failed",
            "<p>redirect_uri is not registered for this client.</p>",
        );
    }
    let state = get("state");
    let fail = |error: &str| {
        let mut p = vec![("error", error)];
        if !state.is_empty() {
            p.push(("state", state));
        }
        redirect(redirect_uri, &p)
    };
    if get("response_type") != "code" {
        return fail("unsupported_response_type");
    }
    if !client.allows(CODE_GRANT) {
        return fail("unauthorized_client");
    }
    let challenge = get("code_challenge");
    if get("code_challenge_method") != "S256" || challenge.len() < 43 {
        return fail("invalid_request");
    }
    let world = svc.state.world();
    let Some(inst) = client
        .issuer_url
        .as_deref()
        .and_then(|u| world.sso_instance(u))
    else {
        return fail("invalid_request");
    };
    let approve_as = |user: &str| {
        let code = auth_code(
            svc,
            client_id,
            redirect_uri,
            challenge,
            &inst.start_url,
            user,
            client.scopes.clone(),
        );
        let mut p = vec![("code", code.as_str())];
        if !state.is_empty() {
            p.push(("state", state));
        }
        redirect(redirect_uri, &p)
    };
    if let Some(u) = inst.auto_approve {
        return approve_as(&inst.users[u].name);
    }
    if req.method == http::Method::POST {
        return match get("action") {
            "approve" => match chosen_user(inst, &f) {
                Some(u) => approve_as(&u),
                None => page(
                    StatusCode::BAD_REQUEST,
                    "Authorization failed",
                    "<p>Choose a user of this instance.</p>",
                ),
            },
            "deny" => fail("access_denied"),
            _ => page(
                StatusCode::BAD_REQUEST,
                "Authorization failed",
                "<p>action must be approve or deny.</p>",
            ),
        };
    }
    let hidden: String = [
        "response_type",
        "client_id",
        "redirect_uri",
        "state",
        "code_challenge_method",
        "code_challenge",
        "scopes",
    ]
    .iter()
    .map(|k| {
        format!(
            "<input type=\"hidden\" name=\"{k}\" value=\"{}\">",
            esc(get(k))
        )
    })
    .collect();
    let body = format!(
        "<p>Allow <b>{client}</b> to access <b>{url}</b> with the scopes <b>{scopes}</b>?</p>\
         <form method=\"post\" action=\"{path}\">{hidden}{users}{BUTTONS}</form>",
        client = esc(&client.name),
        url = esc(&inst.start_url),
        scopes = esc(&client.scopes.join(" ")),
        path = super::AUTHORIZE,
        users = user_select(inst),
    );
    crate::web::form_page(
        Product::IdentityCenter,
        StatusCode::OK,
        "Allow access",
        &body,
        redirect_uri,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_and_codes() {
        assert_eq!(normalize_user_code("bcdf ghjk"), "BCDF-GHJK");
        assert_eq!(normalize_user_code("BCDF-GHJK"), "BCDF-GHJK");
        assert_eq!(normalize_user_code("xy"), "XY");
        let r = redirect(
            "http://127.0.0.1:5/cb",
            &[("code", "a b"), ("state", "s&t")],
        );
        assert_eq!(r.status(), StatusCode::FOUND);
        assert_eq!(
            r.headers()[http::header::LOCATION],
            "http://127.0.0.1:5/cb?code=a%20b&state=s%26t"
        );
    }
}
