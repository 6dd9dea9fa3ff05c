//! The world console: one server-rendered page at the API address (`/console/world`, also
//! `GET /`; `/console` itself is Sign-In's landing page after a console sign-in) showing
//! the world — accounts, users, roles with their trust and permission policies, instance
//! profiles, instances with their IMDS addresses and options, Auto Scaling, ECS tasks and
//! Identity Center assignments — the live decision log, so "why was I denied?" is answered on
//! one page, and the fault switchboard's controls ([`crate::faults::console`]). No assets from outside the machine; no secret is ever shown.

use std::fmt::Write as _;

use http::{HeaderValue, StatusCode};

use crate::decisions::{Decision, Outcome};
use crate::http::{text, HttpResponse, RequestData};
use crate::state::{iso8601, State};
use crate::world::{InstanceState, World};

/// The page's path.
pub const PATH: &str = "/console/world";
/// The JSON feed of decisions (`?after=<seq>`).
pub const DECISIONS_PATH: &str = "/console/decisions";

/// Whether a request is for the console (its page, its feed, or a post of its fault form).
pub fn is_console(req: &RequestData) -> bool {
    let p = req.uri.path();
    (req.method == http::Method::GET
        && (p == PATH || p == DECISIONS_PATH || (p == "/" && req.uri.query().is_none())))
        || (req.method == http::Method::POST && p == crate::faults::console::PATH)
}

/// Answers a console request.
pub fn handle(state: &State, req: &RequestData) -> HttpResponse {
    match req.uri.path() {
        DECISIONS_PATH => feed(state, req),
        crate::faults::console::PATH => crate::faults::console::handle(state, req),
        _ => page(state, req),
    }
}

fn esc(s: &str) -> String {
    crate::sts::xml::escape(s)
}

fn feed(state: &State, req: &RequestData) -> HttpResponse {
    let after = req
        .uri
        .query()
        .unwrap_or("")
        .split('&')
        .find_map(|kv| kv.strip_prefix("after="))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let rows: Vec<serde_json::Value> = state
        .decisions
        .since(after, 500)
        .iter()
        .map(|d| {
            serde_json::json!({
                "seq": d.seq,
                "time": iso8601(d.time),
                "service": d.service,
                "action": &*d.action,
                "caller": &*d.caller,
                "resource": &*d.resource,
                "outcome": d.outcome.as_str(),
                "reason": &*d.reason,
            })
        })
        .collect();
    let body = serde_json::json!({
        "generation": state.world().generation,
        "decisions": rows,
    });
    let mut r = text(StatusCode::OK, "application/json", body.to_string());
    r.headers_mut().insert(
        http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    r
}

const STYLE: &str = "
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#232f3e;color:#fff;padding:10px 20px;display:flex;gap:16px;align-items:baseline}
header h1{font-size:18px;margin:0}header span{opacity:.8}
main{padding:12px 20px;display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:16px}
section{background:#fff;border:1px solid #d5dbe3;border-radius:6px;padding:10px 14px;overflow:auto}
section.wide{grid-column:1/-1}table.fixed{table-layout:fixed}
h2{font-size:15px;margin:4px 0 8px}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:3px 6px;border-bottom:1px solid #eef0f3;vertical-align:top;overflow-wrap:anywhere}
th{font-weight:600;color:#545b64;font-size:12px}
code,pre{font:12px/1.35 ui-monospace,monospace}pre{margin:2px 0;white-space:pre-wrap;word-break:break-all;background:#f6f7f9;padding:4px 6px;border-radius:4px}
details summary{cursor:pointer}
.allowed{color:#1d8102;font-weight:600}.denied{color:#d13212;font-weight:600}.failed{color:#8d6605;font-weight:600}.injected{color:#8a3ffc;font-weight:600}
tr.denied td{background:#fdf3f1}.muted{color:#687078}
";

const SCRIPT: &str = "
let last = LAST, gen = GEN;
const body = document.getElementById('log');
function cell(tr, text, cls) { const td = document.createElement('td'); td.textContent = text; if (cls) td.className = cls; tr.appendChild(td); }
async function poll() {
  try {
    const r = await fetch('/console/decisions?after=' + last, {cache: 'no-store'});
    const j = await r.json();
    for (const d of j.decisions) {
      const tr = document.createElement('tr'); if (d.outcome === 'denied') tr.className = 'denied';
      cell(tr, d.seq); cell(tr, d.time.slice(11, 19)); cell(tr, d.action); cell(tr, d.caller);
      cell(tr, d.resource); cell(tr, d.outcome, d.outcome); cell(tr, d.reason);
      body.insertBefore(tr, body.firstChild); last = d.seq;
    }
    while (body.rows.length > 300) body.deleteRow(body.rows.length - 1);
    if (j.generation !== gen) document.getElementById('stale').hidden = false;
  } catch (e) {}
  setTimeout(poll, 1000);
}
setTimeout(poll, 1000);
";

fn page(state: &State, req: &RequestData) -> HttpResponse {
    let world = state.world();
    let decisions = state.decisions.since(0, 200);
    let last = state.decisions.last_seq();
    let mut h = String::with_capacity(64 * 1024);
    let nonce = crate::world::ids::uuid().replace('-', "");
    let _ = write!(
        h,
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>awsid console</title>\
         <meta name=viewport content=\"width=device-width\"><style>{STYLE}</style></head><body>\
         <header><h1>awsid console</h1><span>world generation {} · state: {}</span>\
         <span id=stale hidden>· the world changed: <a href=\"/console/world\" style=\"color:#fff\">reload</a></span></header><main>",
        world.generation,
        esc(&state.live.describe()),
    );
    decisions_section(&mut h, &decisions);
    crate::faults::console::section(&mut h, state, &world, req.peer.ip().is_loopback());
    accounts(&mut h, &world);
    users(&mut h, &world);
    roles(&mut h, &world);
    instances(&mut h, state, &world);
    profiles(&mut h, &world);
    autoscaling(&mut h, &world);
    ecs_and_sso(&mut h, &world);
    let _ = write!(
        h,
        "</main><script nonce=\"{nonce}\">{}</script></body></html>",
        SCRIPT
            .replace("LAST", &last.to_string())
            .replace("GEN", &world.generation.to_string())
    );
    let mut r = text(StatusCode::OK, "text/html; charset=utf-8", h);
    let csp = format!(
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-{nonce}'; connect-src 'self'; img-src 'self'; form-action 'self'"
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        r.headers_mut().insert("content-security-policy", v);
    }
    r.headers_mut().insert(
        http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    r
}

fn decisions_section(h: &mut String, decisions: &[Decision]) {
    h.push_str("<section class=wide id=decisions><h2>Decisions (newest first, live)</h2><table class=fixed><colgroup><col style=\"width:3em\"><col style=\"width:6.5em\"><col style=\"width:14%\"><col style=\"width:20%\"><col style=\"width:22%\"><col style=\"width:5.5em\"><col></colgroup><thead><tr><th>#</th><th>time</th><th>action</th><th>caller</th><th>resource</th><th>outcome</th><th>why</th></tr></thead><tbody id=log>");
    for d in decisions.iter().rev() {
        let cls = d.outcome.as_str();
        let _ = write!(
            h,
            "<tr{}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class={cls}>{cls}</td><td>{}</td></tr>",
            if d.outcome == Outcome::Denied { " class=denied" } else { "" },
            d.seq,
            &iso8601(d.time)[11..19],
            esc(&d.action),
            esc(&d.caller),
            esc(&d.resource),
            esc(&d.reason),
        );
    }
    h.push_str("</tbody></table></section>");
}

fn pretty(doc: &str) -> String {
    serde_json::from_str::<serde_json::Value>(doc)
        .and_then(|v| serde_json::to_string_pretty(&v))
        .unwrap_or_else(|_| doc.to_string())
}

fn accounts(h: &mut String, w: &World) {
    h.push_str("<section><h2>Accounts</h2><table><tr><th>id</th><th>name</th><th>users</th><th>roles</th></tr>");
    for a in &w.accounts {
        let info = w.account_info(a);
        let _ = write!(
            h,
            "<tr><td><code>{a}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(info.name.as_deref().unwrap_or("")),
            w.users.iter().filter(|u| u.account == *a).count(),
            w.roles.iter().filter(|r| r.account == *a).count(),
        );
    }
    h.push_str("</table></section>");
}

fn users(h: &mut String, w: &World) {
    h.push_str("<section><h2>Users</h2><table><tr><th>user</th><th>access keys</th><th>MFA</th><th>policies</th></tr>");
    for u in &w.users {
        let keys: Vec<String> = u
            .access_keys
            .iter()
            .map(|k| {
                format!(
                    "<code>{}</code>{}",
                    esc(&k.id),
                    if k.active {
                        ""
                    } else {
                        " <span class=muted>(inactive)</span>"
                    }
                )
            })
            .collect();
        let mfa: Vec<String> = u.mfa_devices.iter().map(|d| esc(&d.serial)).collect();
        let pols: Vec<String> = u
            .policy_sources
            .iter()
            .map(|s| esc(&s.to_string()))
            .collect();
        let _ = write!(
            h,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&u.arn),
            keys.join("<br>"),
            mfa.join("<br>"),
            pols.join("<br>")
        );
    }
    h.push_str("</table></section>");
}

fn roles(h: &mut String, w: &World) {
    h.push_str("<section class=wide id=roles><h2>Roles</h2><table class=fixed><colgroup><col style=\"width:26%\"><col style=\"width:37%\"><col></colgroup><tr><th>role</th><th>trust policy</th><th>permission policies</th></tr>");
    for r in &w.roles {
        let raw = w
            .raw
            .roles
            .iter()
            .find(|x| x.account == r.account && x.name == r.name);
        let mut perms = String::new();
        for (i, src) in r.policy_sources.iter().enumerate() {
            let doc = match (src, raw) {
                (crate::world::PolicySource::Managed(arn), _) => {
                    w.managed_policy(arn).map(|m| m.document.clone())
                }
                (crate::world::PolicySource::Inline(n), Some(raw)) => {
                    raw.inline_policies.get(n).cloned().or_else(|| {
                        let k: usize = n.strip_prefix("policy-")?.parse().ok()?;
                        raw.policies.get(k.checked_sub(1)?).cloned()
                    })
                }
                (crate::world::PolicySource::Inline(n), None) if r.reserved => {
                    permission_set_policy(w, &r.name, n)
                }
                _ => None,
            };
            let _ = write!(
                perms,
                "<details{}><summary>{}</summary><pre>{}</pre></details>",
                if i == 0 { " open" } else { "" },
                esc(&src.to_string()),
                esc(&pretty(doc.as_deref().unwrap_or("(not shown)")))
            );
        }
        let _ = write!(
            h,
            "<tr><td><code>{}</code>{}</td><td><details open><summary>trust</summary><pre>{}</pre></details></td><td>{}</td></tr>",
            esc(&r.arn),
            if r.reserved { "<br><span class=muted>Identity Center</span>" } else { "" },
            esc(&pretty(&r.trust_document)),
            perms
        );
    }
    h.push_str("</table></section>");
}

/// The `policy-N` document of the Identity Center permission set whose reserved role is
/// `role_name`.
fn permission_set_policy(w: &World, role_name: &str, policy: &str) -> Option<String> {
    let k: usize = policy.strip_prefix("policy-")?.parse().ok()?;
    w.sso_instances.iter().enumerate().find_map(|(i, inst)| {
        let set = inst
            .permission_sets
            .iter()
            .find(|p| p.role_name == role_name)?;
        let docs = w
            .raw
            .sso_instances
            .get(i)?
            .permission_set_policies(&set.name)?;
        docs.get(k.checked_sub(1)?).cloned()
    })
}

fn instances(h: &mut String, state: &State, w: &World) {
    h.push_str("<section class=wide><h2>Instances</h2><table><tr><th>instance</th><th>state</th><th>instance profile → role</th><th>IMDS</th><th>HttpTokens</th><th>hop limit</th><th>endpoint</th><th>launched by</th></tr>");
    for i in &w.instances {
        let profile = i.instance_profile.map(|p| &w.instance_profiles[p]);
        let role = w.instance_role(i).map(|r| r.name.as_str()).unwrap_or("—");
        let imds = if i.state == InstanceState::Running {
            state
                .imds_endpoint(w, &i.id)
                .map(|a| format!("<code>http://{a}/</code>"))
                .unwrap_or_default()
        } else {
            String::new()
        };
        let _ = write!(
            h,
            "<tr><td><code>{}</code></td><td>{}</td><td>{} → {}</td><td>{imds}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&i.id),
            i.state.name_and_code().0,
            esc(profile.map(|p| p.name.as_str()).unwrap_or("—")),
            esc(role),
            i.http_tokens.as_str(),
            i.hop_limit,
            i.endpoint.as_str(),
            esc(i.auto_scaling_group.as_deref().or(i.launched_from.as_deref()).unwrap_or("world file")),
        );
    }
    h.push_str("</table></section>");
}

fn profiles(h: &mut String, w: &World) {
    h.push_str("<section><h2>Instance profiles</h2><table><tr><th>profile</th><th>role</th></tr>");
    for p in &w.instance_profiles {
        let _ = write!(
            h,
            "<tr><td><code>{}</code></td><td>{}</td></tr>",
            esc(&p.arn),
            esc(p.role.map(|r| w.roles[r].name.as_str()).unwrap_or("(none)"))
        );
    }
    h.push_str("</table><h2>Customer managed policies</h2><table>");
    for m in w.managed_policies.iter().filter(|m| m.account.is_some()) {
        let _ = write!(
            h,
            "<tr><td><details><summary><code>{}</code></summary><pre>{}</pre></details></td></tr>",
            esc(&m.arn),
            esc(&pretty(&m.document))
        );
    }
    h.push_str("</table></section>");
}

fn autoscaling(h: &mut String, w: &World) {
    h.push_str("<section><h2>Auto Scaling</h2><table><tr><th>launch configuration</th><th>image</th><th>type</th><th>instance profile</th></tr>");
    for lc in &w.raw.launch_configurations {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&lc.name),
            esc(&lc.image_id),
            esc(&lc.instance_type),
            esc(lc.iam_instance_profile.as_deref().unwrap_or("—"))
        );
    }
    h.push_str(
        "</table><table><tr><th>group</th><th>launches from</th><th>min/desired/max</th></tr>",
    );
    for g in &w.raw.auto_scaling_groups {
        let from = g
            .launch_configuration
            .clone()
            .or_else(|| {
                g.launch_template
                    .as_ref()
                    .and_then(|t| t.id.clone().or(t.name.clone()))
            })
            .unwrap_or_default();
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}/{}/{}</td></tr>",
            esc(&g.name),
            esc(&from),
            g.min_size,
            g.desired_capacity,
            g.max_size
        );
    }
    h.push_str("</table><table><tr><th>launch template</th><th>versions</th></tr>");
    for t in &w.raw.launch_templates {
        let _ = write!(
            h,
            "<tr><td>{} <code>{}</code></td><td>{}</td></tr>",
            esc(&t.name),
            esc(&t.id),
            t.versions.len()
        );
    }
    h.push_str("</table></section>");
}

fn ecs_and_sso(h: &mut String, w: &World) {
    h.push_str("<section><h2>ECS tasks</h2><table><tr><th>task</th><th>role</th></tr>");
    for t in &w.ecs_tasks {
        let _ = write!(
            h,
            "<tr><td><code>{}</code></td><td>{}</td></tr>",
            esc(&t.id),
            esc(&w.roles[t.role].name)
        );
    }
    h.push_str("</table></section><section><h2>IAM Identity Center</h2><table><tr><th>user</th><th>account</th><th>permission set → role</th></tr>");
    for inst in &w.sso_instances {
        let _ = write!(
            h,
            "<tr><td colspan=3 class=muted>{} ({})</td></tr>",
            esc(&inst.start_url),
            esc(&inst.region)
        );
        for a in &inst.assignments {
            let _ = write!(
                h,
                "<tr><td>{}</td><td><code>{}</code></td><td>{} → {}</td></tr>",
                esc(&inst.users[a.user].name),
                esc(&a.account),
                esc(&inst.permission_sets[a.permission_set].name),
                esc(&w.roles[a.role].name)
            );
        }
    }
    h.push_str("</table></section>");
}
