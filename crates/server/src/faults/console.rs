//! The console page's fault controls: a section of `/console/world` listing each endpoint's
//! faults in force with what they injected, and one form per endpoint posting to
//! [`PATH`] to set or clear them. Server-rendered, no script; the forms are shown to loopback
//! clients only and the post is accepted only from a loopback peer, with a loopback `Host`
//! (no DNS rebinding), a same-origin `Origin` when one is sent, and the page's anti-forgery
//! token. A form sets the whole spec of its target, like the admin API's `PUT`
//! ([`super::admin`]), which takes every key of the world file's `[faults]`.

use std::fmt::Write as _;

use http::{HeaderValue, StatusCode};
use serde_json::{json, Map, Value};

use super::{error_shape, record, ErrorKind, FaultSpec, Injected, Target};
use crate::http::{text, HttpResponse, RequestData};
use crate::state::State;
use crate::sts::params::Params;
use crate::world::{InstanceState, World};

/// Where the forms post.
pub const PATH: &str = "/console/faults";

fn esc(s: &str) -> String {
    crate::sts::xml::escape(s)
}

/// The targets the section lists: every endpoint, each running instance's IMDS, and any
/// other target with a spec in force.
fn targets(world: &World, faults: &Map<String, Value>) -> Vec<Target> {
    let mut out = vec![
        Target::Sts,
        Target::Iam,
        Target::Sso,
        Target::SsoOidc,
        Target::Ecs,
        Target::Imds,
    ];
    for i in &world.instances {
        if i.state == InstanceState::Running {
            out.push(Target::Instance(i.id.clone()));
        }
    }
    for name in faults.keys() {
        if let Ok(t) = Target::parse(name) {
            if !out.contains(&t) {
                out.push(t);
            }
        }
    }
    out
}

/// Writes the section (`id=faults`) into the console page; `controls` adds the forms
/// (loopback clients only).
pub fn section(h: &mut String, state: &State, world: &World, controls: bool) {
    let now = state.clock.now();
    let all = state.faults.to_json(now);
    let empty = Map::new();
    let faults = all.as_object().unwrap_or(&empty);
    h.push_str("<section class=wide id=faults><h2>Faults (the switchboard; off unless set)</h2>");
    if controls {
        h.push_str(
            "<p class=muted>Set replaces the endpoint's faults with the form's; an outage \
             starts now. Latency distributions, outage start times, rate-limit bursts and seeds: \
             the world file's <code>[faults]</code> or the admin API \
             (<code>/awsid/faults</code>). Every injected fault appears in the decisions above \
             (outcome <span class=injected>injected</span>).</p>",
        );
    } else {
        h.push_str("<p class=muted>Faults can be changed from a loopback client only.</p>");
    }
    h.push_str("<table><tr><th>endpoint</th><th>in force</th><th>injected</th>");
    if controls {
        h.push_str("<th>change</th>");
    }
    h.push_str("</tr>");
    for t in targets(world, faults) {
        let name = t.name();
        let entry = faults.get(&name);
        let spec = entry.and_then(|e| e.get("spec")).cloned();
        let shown = match (&spec, entry.and_then(|e| e.get("outage_window"))) {
            (None, _) => "<span class=muted>none</span>".to_string(),
            (Some(s), None) => format!("<code>{}</code>", esc(&s.to_string())),
            (Some(s), Some(w)) => format!(
                "<code>{}</code><br><span class=muted>outage {} – {}{}</span>",
                esc(&s.to_string()),
                esc(w["start"].as_str().unwrap_or("")),
                esc(w["end"].as_str().unwrap_or("")),
                if w["active"] == true { " (now)" } else { "" }
            ),
        };
        let injected = entry
            .and_then(|e| e.get("injected"))
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter(|(_, v)| v.as_u64().unwrap_or(0) > 0)
                    .map(|(k, v)| format!("{} {v}", esc(k)))
                    .collect::<Vec<_>>()
                    .join("<br>")
            })
            .unwrap_or_default();
        let _ = write!(
            h,
            "<tr><td><code>{}</code></td><td>{shown}</td><td>{injected}</td>",
            esc(&name)
        );
        if controls {
            h.push_str("<td>");
            form(h, state, &t, spec.as_ref());
            h.push_str("</td>");
        }
        h.push_str("</tr>");
    }
    h.push_str("</table>");
    if controls && !faults.is_empty() {
        let _ = write!(
            h,
            "<form method=post action=\"{PATH}\"><input type=hidden name=token value=\"{}\">\
             <input type=hidden name=target value=\"*\">\
             <button name=op value=clear>clear all faults</button></form>",
            state.faults.form_token()
        );
    }
    h.push_str("</section>");
}

fn form(h: &mut String, state: &State, t: &Target, spec: Option<&Value>) {
    let get = |k: &str| spec.and_then(|s| s.get(k));
    let number = |k: &str| get(k).filter(|v| v.is_number()).map(|v| v.to_string());
    let error = get("error").and_then(Value::as_str).unwrap_or("internal");
    let _ = write!(
        h,
        "<form method=post action=\"{PATH}\"><input type=hidden name=token value=\"{}\">\
         <input type=hidden name=target value=\"{}\">",
        state.faults.form_token(),
        esc(&t.name())
    );
    let input = |h: &mut String, label: &str, name: &str, value: Option<String>| {
        let _ = write!(
            h,
            "<label>{label} <input name={name} size=5 inputmode=decimal value=\"{}\"></label> ",
            esc(value.as_deref().unwrap_or(""))
        );
    };
    input(h, "error rate", "error_rate", number("error_rate"));
    h.push_str("<label>error <select name=error>");
    for kind in [
        ErrorKind::Internal,
        ErrorKind::Unavailable,
        ErrorKind::Throttling,
    ] {
        let e = error_shape(t, kind);
        let _ = write!(
            h,
            "<option value={}{}>{}</option>",
            kind.name(),
            if kind.name() == error {
                " selected"
            } else {
                ""
            },
            esc(&e.describe())
        );
    }
    h.push_str("</select></label> ");
    input(h, "reset rate", "reset_rate", number("reset_rate"));
    input(
        h,
        "lost-answer rate",
        "lost_answer_rate",
        number("lost_answer_rate"),
    );
    input(h, "latency ms", "latency_ms", number("latency_ms"));
    input(
        h,
        "rate limit /s",
        "rate_limit",
        get("rate_limit")
            .and_then(|r| r.get("rate"))
            .map(|v| v.to_string()),
    );
    input(h, "outage s", "outage_seconds", None);
    h.push_str("<label>mode <select name=outage_mode><option value=\"\">default</option>");
    let modes: &[&str] = if t.own_listener() {
        &["refused", "reset", "error", "hang"]
    } else {
        &["reset", "error", "hang"]
    };
    for m in modes {
        let _ = write!(h, "<option>{m}</option>");
    }
    h.push_str("</select></label> ");
    if t.serves_credentials() {
        let _ = write!(
            h,
            "<label><input type=checkbox name=expired_credentials value=true{}> expired \
             credentials</label> ",
            if get("expired_credentials") == Some(&json!(true)) {
                " checked"
            } else {
                ""
            }
        );
    }
    h.push_str("<button name=op value=set>set</button>");
    if spec.is_some() {
        h.push_str(" <button name=op value=clear>clear</button>");
    }
    h.push_str("</form>");
}

/// The host part of a `Host` header (`[::1]:80` → `::1`, `localhost:80` → `localhost`).
fn host_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("");
    }
    match host.rsplit_once(':') {
        Some((h, port)) if !h.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

fn loopback_name(name: &str) -> bool {
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A refusal page (the console's style, no script).
fn refuse(status: StatusCode, message: &str) -> HttpResponse {
    let body = format!(
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>awsid console: faults</title></head>\
         <body><h1>{} {}</h1><p>{}</p><p><a href=\"{}#faults\">back to the console</a></p></body></html>",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        esc(message),
        crate::console::PATH
    );
    let mut r = text(status, "text/html; charset=utf-8", body);
    r.headers_mut().insert(
        "content-security-policy",
        HeaderValue::from_static("default-src 'none'"),
    );
    r.headers_mut().insert(
        http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    r
}

/// Why a request that changes the switchboard (this form's post, the admin API) is refused
/// before it is read (`None`: it may go on): a peer that is not loopback, a `Host` that names
/// no loopback address (a page whose DNS name was rebound to 127.0.0.1), an `Origin` other
/// than the `Host`'s.
pub(super) fn forbidden(req: &RequestData) -> Option<&'static str> {
    if !req.peer.ip().is_loopback() {
        return Some("the fault switchboard answers loopback clients only");
    }
    let header =
        |n: http::header::HeaderName| req.headers.get(n).map(|v| v.to_str().unwrap_or("\u{fffd}"));
    let Some(host) = header(http::header::HOST) else {
        return Some("the request has no Host header");
    };
    if !loopback_name(host_name(host)) {
        return Some(
            "the Host header must name a loopback address (127.0.0.1, [::1] or localhost)",
        );
    }
    if let Some(origin) = header(http::header::ORIGIN) {
        if origin != format!("http://{host}") {
            return Some("the form was posted from another origin");
        }
    }
    None
}

/// A number field as JSON (`None` when empty).
fn field_number(params: &Params, name: &str) -> Result<Option<Value>, String> {
    match params.get(name).map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => {
            let n: f64 = v
                .parse()
                .ok()
                .filter(|f: &f64| f.is_finite())
                .ok_or_else(|| format!("{name}: \"{v}\" is not a number"))?;
            // Whole numbers as integers, so the spec's whole-number keys accept them.
            Ok(Some(if n.fract() == 0.0 && (0.0..9.0e15).contains(&n) {
                json!(n as u64)
            } else {
                json!(n)
            }))
        }
    }
}

/// The spec a form describes, as the admin API's JSON.
fn form_spec(t: &Target, params: &Params) -> Result<Value, String> {
    let mut m = Map::new();
    for k in ["error_rate", "reset_rate", "lost_answer_rate", "latency_ms"] {
        if let Some(v) = field_number(params, k)? {
            m.insert(k.into(), v);
        }
    }
    if m.contains_key("error_rate")
        || params
            .get("outage_seconds")
            .is_some_and(|s| !s.trim().is_empty())
    {
        if let Some(e) = params.get("error").filter(|e| !e.is_empty()) {
            m.insert("error".into(), json!(e));
        }
    }
    if let Some(r) = field_number(params, "rate_limit")? {
        m.insert("rate_limit".into(), json!({ "rate": r }));
    }
    if let Some(s) = field_number(params, "outage_seconds")? {
        let mut o = Map::new();
        o.insert("after_seconds".into(), json!(0));
        o.insert("seconds".into(), s);
        if let Some(mode) = params.get("outage_mode").filter(|m| !m.is_empty()) {
            o.insert("mode".into(), json!(mode));
        }
        m.insert("outage".into(), Value::Object(o));
    }
    if params.get("expired_credentials") == Some("true") {
        m.insert("expired_credentials".into(), json!(true));
    }
    if m.is_empty() {
        return Err(format!(
            "{}: nothing to set (fill in a field, or clear the endpoint's faults)",
            t.name()
        ));
    }
    Ok(Value::Object(m))
}

/// Answers a post of the fault form: sets or clears, then sends the browser back to the
/// page (303).
pub fn handle(state: &State, req: &RequestData) -> HttpResponse {
    if let Some(why) = forbidden(req) {
        return refuse(StatusCode::FORBIDDEN, why);
    }
    let Some(body) = crate::sts::form_body(req) else {
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "post the form as application/x-www-form-urlencoded",
        );
    };
    let params = Params::parse("", Some(&body));
    if !params
        .get("token")
        .is_some_and(|t| state.faults.form_token_matches(t))
    {
        return refuse(
            StatusCode::FORBIDDEN,
            "the form's token is missing or stale: reload the console page",
        );
    }
    let now = state.clock.now();
    let log = |action: &str, resource: String, reason: String| {
        record(
            state,
            Injected {
                time: now,
                service: "awsid",
                action: format!("faults:{action}"),
                caller: req.peer.ip().to_string(),
                resource,
                reason,
            },
        );
    };
    let target = params.get("target").unwrap_or("");
    let op = params.get("op").unwrap_or("");
    if target == "*" && op == "clear" {
        let n = state.faults.clear_all();
        log(
            "clear",
            "*".into(),
            format!("{n} targets cleared (console)"),
        );
        return back();
    }
    let t = match Target::parse(target) {
        Ok(t) => t,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, &e),
    };
    match op {
        "clear" => {
            if state.faults.clear(&t) {
                log("clear", t.name(), "faults cleared (console)".into());
            }
            back()
        }
        "set" => {
            let spec = form_spec(&t, &params).and_then(|v| FaultSpec::from_json(&t, &v, &t.name()));
            match spec {
                Ok(spec) => {
                    let shown = spec.to_json();
                    state.faults.set(t.clone(), spec, now);
                    log("set", t.name(), format!("{shown} (console)"));
                    back()
                }
                Err(e) => refuse(StatusCode::BAD_REQUEST, &e),
            }
        }
        _ => refuse(StatusCode::BAD_REQUEST, "op: expected set or clear"),
    }
}

fn back() -> HttpResponse {
    let mut r = text(StatusCode::SEE_OTHER, "text/plain", "");
    r.headers_mut().insert(
        http::header::LOCATION,
        HeaderValue::from_static("/console/world#faults"),
    );
    r
}
