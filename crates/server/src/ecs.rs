//! ECS container credentials: the agent's relative-URI form (`/v2/credentials/<id>`, legacy
//! `/v1/credentials?id=<id>`) and the full-URI form authorised by an `Authorization` token.

use std::sync::Arc;

use http::{Method, StatusCode};
use subtle::ConstantTimeEq;

use crate::http::{text, BodyError, Handler, HttpResponse, RequestData};
use crate::sessions;
use crate::state::{iso8601, State};
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

/// `{"code": …, "message": …}` with lower-case keys, as the ECS agent sends errors.
pub(crate) fn error(status: StatusCode, code: &str, message: &str) -> HttpResponse {
    let body = serde_json::json!({ "code": code, "message": message }).to_string();
    text(status, "application/json", body)
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
        let path = req.uri.path();
        if let Some(id) = path.strip_prefix("/v2/credentials") {
            // `/v2/credentials` and `/v2/credentials/` carry no id: 400, not 404.
            let id = id.trim_start_matches('/');
            return self.by_id(id, "CredentialsV2Request");
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
            return self.by_id(&id, "CredentialsV1Request");
        }
        if path.starts_with("/v1/") || path.starts_with("/v2/") || path.starts_with("/v4/") {
            return error(StatusCode::NOT_FOUND, "NotFound", "Not found");
        }
        self.by_token(req)
    }

    fn by_id(&self, id: &str, prefix: &str) -> HttpResponse {
        if id.is_empty() {
            return error(
                StatusCode::BAD_REQUEST,
                "NoIdInRequest",
                &format!("{prefix}: No Credential ID in the request"),
            );
        }
        match self.state.world.ecs_task_by_credentials_id(id) {
            Some(task) => self.credentials(task, false),
            None => error(
                StatusCode::BAD_REQUEST,
                "InvalidIdInRequest",
                &format!("{prefix}: Credentials not found"),
            ),
        }
    }

    fn by_token(&self, req: &RequestData) -> HttpResponse {
        let Some(given) = req.headers.get(http::header::AUTHORIZATION) else {
            return missing_token();
        };
        // Compare against every task's token in constant time, without stopping early.
        let mut found: Option<&EcsTask> = None;
        for task in &self.state.world.ecs_tasks {
            if let Some(token) = &task.auth_token {
                if bool::from(token.as_bytes().ct_eq(given.as_bytes())) && found.is_none() {
                    found = Some(task);
                }
            }
        }
        match found {
            Some(task) => self.credentials(task, true),
            None => invalid_token(),
        }
    }

    fn credentials(&self, task: &EcsTask, with_account: bool) -> HttpResponse {
        let role = &self.state.world.roles[task.role];
        let partition = &self.state.world.settings.partition;
        let region = &self.state.world.settings.region;
        let task_arn = format!(
            "arn:{partition}:ecs:{region}:{}:task/{}",
            task.account, task.id
        );
        if !sessions::service_may_assume(
            &self.state,
            role,
            "ecs-tasks.amazonaws.com",
            &task.account,
            &task_arn,
        ) {
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

/// The full-URI form's answer to a request without an `Authorization` header.
pub(crate) fn missing_token() -> HttpResponse {
    error(
        StatusCode::UNAUTHORIZED,
        "Unauthorized",
        "Authorization header is missing",
    )
}

/// The full-URI form's answer to an `Authorization` header that matches no token.
pub(crate) fn invalid_token() -> HttpResponse {
    error(
        StatusCode::FORBIDDEN,
        "AccessDenied",
        "The authorization token is not valid",
    )
}

#[cfg(test)]
mod tests;
