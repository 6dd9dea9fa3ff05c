//! ECS container credentials: the agent's relative-URI form (`/v2/credentials/<id>`, legacy
//! `/v1/credentials?id=<id>`) and the full-URI form authorised by an `Authorization` token.

use std::sync::Arc;

use http::{Method, StatusCode};
use subtle::ConstantTimeEq;

use crate::decisions::{Entry, Outcome};
use crate::http::{text, BodyError, Handler, HttpResponse, RequestData};
use crate::sessions;
use crate::state::{iso8601, State, View};
use crate::world::EcsTask;

/// The path the full-URI form is advertised on (any path outside `/v1/`, `/v2/` works).
pub const FULL_URI_PATH: &str = "/credentials";

/// The container-credentials handler.
pub struct EcsHandler {
    state: Arc<State>,
}

impl EcsHandler {
    /// A handler over the shared state.
    pub fn new(state: Arc<State>) -> EcsHandler {
        EcsHandler { state }
    }
}

/// An error of the relative-URI form, as the ECS agent writes it: its whole `ErrorMessage`
/// struct marshalled, `{"code": …, "message": …, "HTTPErrorCode": <status>}` (the last field
/// has no JSON tag, so Go names it by its field name; docs/spec/container-client.md §5).
pub(crate) fn error(status: StatusCode, code: &str, message: &str) -> HttpResponse {
    let body = serde_json::json!({
        "code": code,
        "message": message,
        "HTTPErrorCode": status.as_u16(),
    })
    .to_string();
    text(status, "application/json", body)
}

/// A refusal of the full-URI form, as the EKS Pod Identity Agent (the AWS service speaking
/// that form) writes it through Go's `http.Error`: plain text, the message and a newline
/// (docs/spec/container-client.md §5).
pub(crate) fn agent_error(status: StatusCode, message: &str) -> HttpResponse {
    let mut r = text(status, "text/plain; charset=utf-8", format!("{message}\n"));
    r.headers_mut().insert(
        http::header::X_CONTENT_TYPE_OPTIONS,
        http::HeaderValue::from_static("nosniff"),
    );
    r
}

impl Handler for EcsHandler {
    fn wants_body(&self) -> bool {
        false
    }

    fn body_error(&self, _err: BodyError) -> HttpResponse {
        error(StatusCode::BAD_REQUEST, "InvalidRequest", "Invalid request")
    }

    async fn handle(&self, req: RequestData) -> HttpResponse {
        let resp = self.answer(&req);
        self.state.metrics.record(crate::metrics::Call {
            service: "ecs",
            action: "GetCredentials",
            status: resp.status().as_u16(),
        });
        resp
    }
}

impl EcsHandler {
    fn answer(&self, req: &RequestData) -> HttpResponse {
        if req.method != Method::GET && req.method != Method::HEAD {
            return error(
                StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowed",
                "Only GET is supported",
            );
        }
        let view = self.state.view();
        let path = req.uri.path();
        if let Some(id) = path.strip_prefix("/v2/credentials") {
            // `/v2/credentials` and `/v2/credentials/` carry no id: 400, not 404.
            let id = id.trim_start_matches('/');
            return self.by_id(&view, id, "CredentialsV2Request");
        }
        if path == "/v1/credentials" {
            let id = req
                .uri
                .query()
                .unwrap_or("")
                .split('&')
                .find_map(|kv| kv.strip_prefix("id="))
                .unwrap_or("");
            let id = percent_encoding::percent_decode_str(id)
                .decode_utf8_lossy()
                .into_owned();
            return self.by_id(&view, &id, "CredentialsV1Request");
        }
        if path.starts_with("/v1/") || path.starts_with("/v2/") || path.starts_with("/v4/") {
            return error(StatusCode::NOT_FOUND, "NotFound", "Not found");
        }
        self.by_token(&view, req)
    }

    fn deny(&self, caller: &str, message: &str) {
        self.state.decide(Entry::new(
            "ecs",
            "ecs:GetTaskCredentials",
            caller,
            "*",
            Outcome::Denied,
            message,
        ));
    }

    fn by_id(&self, view: &View<'_>, id: &str, prefix: &str) -> HttpResponse {
        if id.is_empty() {
            return error(
                StatusCode::BAD_REQUEST,
                "NoIdInRequest",
                &format!("{prefix}: No Credential ID in the request"),
            );
        }
        match view.world.ecs_task_by_credentials_id(id) {
            Some(task) => self.credentials(view, task, false),
            None => {
                self.deny(
                    &format!("credentials id {id}"),
                    "no task has this credentials id",
                );
                error(
                    StatusCode::BAD_REQUEST,
                    "InvalidIdInRequest",
                    &format!("{prefix}: Credentials not found"),
                )
            }
        }
    }

    fn by_token(&self, view: &View<'_>, req: &RequestData) -> HttpResponse {
        let Some(given) = req.headers.get(http::header::AUTHORIZATION) else {
            self.deny("anonymous", "no Authorization header (401)");
            return missing_token();
        };
        // Compare against every task's token in constant time, without stopping early.
        let mut found: Option<&EcsTask> = None;
        for task in &view.world.ecs_tasks {
            if let Some(token) = &task.auth_token {
                if bool::from(token.as_bytes().ct_eq(given.as_bytes())) && found.is_none() {
                    found = Some(task);
                }
            }
        }
        match found {
            Some(task) => self.credentials(view, task, true),
            None => {
                self.deny(
                    "bearer of an unknown token",
                    "the authorization token matches no task (403)",
                );
                invalid_token()
            }
        }
    }

    fn credentials(&self, view: &View<'_>, task: &EcsTask, with_account: bool) -> HttpResponse {
        let role = &view.world.roles[task.role];
        let partition = &view.world.settings.partition;
        let region = &view.world.settings.region;
        let task_arn = format!(
            "arn:{partition}:ecs:{region}:{}:task/{}",
            task.account, task.id
        );
        let trust = sessions::service_trust(
            &self.state,
            &view.world,
            role,
            "ecs-tasks.amazonaws.com",
            &task.account,
            &task_arn,
        );
        self.state.decide(Entry::new(
            "ecs",
            "sts:AssumeRole",
            format!("ecs-tasks.amazonaws.com for task {}", task.id),
            role.arn.as_str(),
            if trust.allowed {
                Outcome::Allowed
            } else {
                Outcome::Denied
            },
            format!("trust policy of {}: {}", role.name, trust.reason),
        ));
        if !trust.allowed {
            return error(
                StatusCode::FORBIDDEN,
                "AccessDenied",
                &format!("ECS cannot assume the role {}", role.name),
            );
        }
        // Container credentials count as a role session for chaining purposes.
        let (c, _) = sessions::service_credentials(
            &self.state,
            role,
            &task.id,
            task.credential_lifetime,
            task.rotation_margin,
            true,
        );
        let mut doc = serde_json::Map::new();
        doc.insert("RoleArn".into(), role.arn.clone().into());
        doc.insert("AccessKeyId".into(), c.access_key_id.into());
        doc.insert("SecretAccessKey".into(), c.secret_access_key.into());
        doc.insert("Token".into(), c.session_token.into());
        doc.insert("Expiration".into(), iso8601(c.expiration).into());
        if with_account {
            doc.insert("AccountId".into(), role.account.clone().into());
        }
        text(
            StatusCode::OK,
            "application/json",
            serde_json::Value::Object(doc).to_string(),
        )
    }
}

/// The full-URI form's answer to a request without an `Authorization` header: the Pod
/// Identity Agent's `400` "Service account token cannot be empty".
pub(crate) fn missing_token() -> HttpResponse {
    agent_error(
        StatusCode::BAD_REQUEST,
        "Service account token cannot be empty",
    )
}

/// The full-URI form's answer to an `Authorization` header that matches no token: the Pod
/// Identity Agent's rendering of EKS Auth's `InvalidTokenException` (`400`, sender fault),
/// `[<request id>]: (<code>): <message>, fault: client`, with awsid's message.
pub(crate) fn invalid_token() -> HttpResponse {
    agent_error(
        StatusCode::BAD_REQUEST,
        &format!(
            "[{}]: (InvalidTokenException): The authorization token is not valid, fault: client",
            crate::world::ids::uuid()
        ),
    )
}

/// The full-URI form's answer to a peer it does not serve (another OS user or network): the
/// Pod Identity Agent's `403` `Access Denied. <reason>`.
pub(crate) fn access_denied(reason: &str) -> HttpResponse {
    agent_error(StatusCode::FORBIDDEN, &format!("Access Denied. {reason}"))
}

#[cfg(test)]
mod tests;
