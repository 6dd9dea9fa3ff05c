"""Local fake STS, EC2 instance metadata and ECS container endpoints for the chain suite.

One `FakeEndpoints` is a tiny threaded HTTP server on 127.0.0.1 (ephemeral port) playing all
three roles, told apart by request path:

* `PUT /latest/api/token`, `GET /latest/meta-data/...` — IMDS (`AWS_EC2_METADATA_SERVICE_ENDPOINT`);
* `GET /ecs/credentials` — the container endpoint (`AWS_CONTAINER_CREDENTIALS_FULL_URI`);
* `POST /` (anything else) — STS Query API (`AWS_ENDPOINT_URL_STS`);
* `CONNECT host:443` or an absolute-form request line — a client trying to reach a real host
  through the proxy the runs configure (`HTTPS_PROXY`/`HTTP_PROXY` point here, `NO_PROXY`
  exempts 127.0.0.1): refused and recorded, so a case that would leave the machine fails.
  Except, in worlds with `tunnels` (the runs of Debian's v2 2.9.19, which predates
  `AWS_ENDPOINT_URL_STS`), `CONNECT sts….amazonaws.com:443`: the fake terminates TLS with
  the test authority's certificate (`tls_intercept.py`) and plays STS inside the tunnel.
* `GET /latest/meta-data/placement/availability-zone/` — the instance's zone (`imds_zone`),
  which v2 reads as the region when none is configured.

Every answer is a deterministic function of the request and of the fake's `anchor` time, so the
same profile setup resolved by two clients against two fakes with the same anchor yields the same
credentials: an AssumeRole result is derived from the RoleArn, the (normalised) session name,
ExternalId, DurationSeconds, SerialNumber and the access key id that signed the call; expiries
are `anchor + DurationSeconds`. Signatures are not verified — only the access key id and the
region are taken from the `Credential=` scope. Every STS call and every IMDS/ECS request is
recorded.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit
from xml.sax.saxutils import escape

from tls_intercept import open_tunnel

ACCOUNT = "123456789012"
ECS_PATH = "/ecs/credentials"
IMDS_ROLE = "fake-instance-role"
GENERATED_SESSION = re.compile(r"^botocore-session-(\d+)$")
ROLE_ARN = re.compile(r"^arn:aws:iam::(\d{12}):role/(?:.*/)?([\w+=,.@-]+)$")
CREDENTIAL_SCOPE = re.compile(r"Credential=([^/,\s]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request")

# The STS parameters a profile can produce, in the order they are reported.
STS_PARAMETERS = ("RoleArn", "RoleSessionName", "ExternalId", "DurationSeconds", "SerialNumber")


def derive(*parts: str) -> str:
    """A stable hex digest of `parts` (the fakes' only source of "randomness")."""
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def iso_z(epoch: int) -> str:
    """`YYYY-MM-DDTHH:MM:SSZ`, the form STS, IMDS and ECS send."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def normalise_session_name(name: str | None) -> str | None:
    """`botocore-session-<epoch>` (the generated default) becomes `botocore-session-<epoch>`
    literally, so runs made at different seconds compare equal."""
    if name is not None and GENERATED_SESSION.match(name):
        return "botocore-session-<epoch>"
    return name


@dataclass
class StsCall:
    """One recorded STS request: the action, the profile-derived parameters, what signed it."""

    action: str
    params: dict[str, str]  # every form parameter except Action and Version
    signer: str | None  # access key id from the Credential= scope (None: unsigned)
    region: str | None  # region from the Credential= scope
    security_token: str | None  # X-Amz-Security-Token header
    status: int = 200

    def comparable(self) -> dict:
        """What two clients must agree on (session default normalised, secrets excluded)."""
        out = {"action": self.action, "signer": self.signer, "region": self.region}
        for key in STS_PARAMETERS:
            if key in self.params:
                value = self.params[key]
                out[key] = normalise_session_name(value) if key == "RoleSessionName" else value
        for key in ("TokenCode", "WebIdentityToken"):
            if key in self.params:
                out[key] = self.params[key]
        extra = sorted(set(self.params) - set(STS_PARAMETERS) - {"TokenCode", "WebIdentityToken"})
        if extra:
            out["unexpected"] = extra
        out["with_token"] = self.security_token is not None
        out["status"] = self.status
        return out


@dataclass
class World:
    """The fake's configuration and its record of requests."""

    anchor: int  # epoch seconds; expiries are anchor + lifetime
    imds_mode: str = "ok"  # ok | v1 (token PUT answers 404) | no-role (listing 404) | v2-only
    imds_zone: str | None = "eu-west-2a"  # placement/availability-zone (None: 404)
    tunnels: bool = False  # accept CONNECT to STS host names (TLS terminated here)
    tunnelled: list[str] = field(default_factory=list)  # hosts of the tunnels opened
    ecs_token: str | None = "ecs-auth-token"  # required Authorization value (None: not checked)
    sts_calls: list[StsCall] = field(default_factory=list)
    requests: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, method, path)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, method: str, path: str) -> None:
        with self.lock:
            self.requests.append((kind, method, path))


def issued_credentials(kind: str, *material: str, lifetime: int, anchor: int) -> dict[str, str]:
    """Deterministic temporary credentials for `material`."""
    digest = derive(kind, *material)
    return {
        "AccessKeyId": "ASIA" + digest[:16].upper(),
        "SecretAccessKey": derive("secret", digest)[:40],
        "SessionToken": "FQoGZXIvYXdzE" + derive("token", digest)[:56],
        "Expiration": iso_z(anchor + lifetime),
    }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - quiet test output
        pass

    # -- plumbing ---------------------------------------------------------------------------------

    def _send(self, status: int, body: str | bytes, content_type: str = "text/xml") -> None:
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    # -- dispatch ---------------------------------------------------------------------------------

    def _proxied(self) -> bool:
        """A request meant for another host (the runs point HTTP(S)_PROXY here so that nothing
        leaves the machine): recorded as `proxy` and refused."""
        if self.command == "CONNECT" or not self.path.startswith("/"):
            self.server.world.record("proxy", self.command, self.path)
            self._send(403, "", "text/plain")
            return True
        return False

    def do_CONNECT(self) -> None:  # noqa: N802
        world = self.server.world
        if world.tunnels and open_tunnel(self):
            with world.lock:
                world.tunnelled.append(self.tunnel_host)
            return
        self._proxied()

    def do_PUT(self) -> None:  # noqa: N802
        self._body()
        if self._proxied():
            return
        if urlsplit(self.path).path == "/latest/api/token":
            self._imds_token()
        else:
            self._send(404, "")

    def do_GET(self) -> None:  # noqa: N802
        if self._proxied():
            return
        path = urlsplit(self.path).path
        if path.startswith("/latest/"):
            self._imds_get(path)
        elif path == ECS_PATH:
            self._ecs()
        else:
            self._sts(dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True)))

    def do_POST(self) -> None:  # noqa: N802
        body = self._body().decode("utf-8")
        if self._proxied():
            return
        self._sts(dict(parse_qsl(body, keep_blank_values=True)))

    # -- IMDS -------------------------------------------------------------------------------------

    def _imds_token(self) -> None:
        world = self.server.world
        world.record("imds", "PUT", self.path)
        if world.imds_mode == "v1":
            self._send(404, "", "text/plain")
        elif self.headers.get("x-aws-ec2-metadata-token-ttl-seconds") is None:
            self._send(400, "", "text/plain")
        else:
            self._send(200, "imds-session-token", "text/plain")

    def _imds_get(self, path: str) -> None:
        world = self.server.world
        world.record("imds", "GET", path)
        token = self.headers.get("x-aws-ec2-metadata-token")
        if world.imds_mode == "v2-only" and token != "imds-session-token":
            self._send(401, "", "text/plain")
            return
        prefix = "/latest/meta-data/iam/security-credentials/"
        if path == "/latest/meta-data/placement/availability-zone/":
            if world.imds_zone is None:
                self._send(404, "", "text/plain")
            else:
                self._send(200, world.imds_zone, "text/plain")
        elif path == prefix:
            if world.imds_mode == "no-role":
                self._send(404, "", "text/plain")
            else:
                self._send(200, IMDS_ROLE, "text/plain")
        elif path == prefix + IMDS_ROLE and world.imds_mode != "no-role":
            creds = issued_credentials("imds", IMDS_ROLE, lifetime=6 * 3600, anchor=world.anchor)
            doc = {"Code": "Success", "LastUpdated": iso_z(world.anchor), "Type": "AWS-HMAC", **creds}
            doc["Token"] = doc.pop("SessionToken")
            self._send(200, json.dumps(doc), "text/plain")
        else:
            self._send(404, "", "text/plain")

    # -- ECS --------------------------------------------------------------------------------------

    def _ecs(self) -> None:
        world = self.server.world
        world.record("ecs", "GET", self.path)
        auth = self.headers.get("Authorization")
        if world.ecs_token is not None and auth != world.ecs_token:
            self._send(401, json.dumps({"message": "unauthorized"}), "application/json")
            return
        creds = issued_credentials("ecs", auth or "", lifetime=6 * 3600, anchor=world.anchor)
        doc = {**creds, "Token": creds["SessionToken"], "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/task"}
        doc.pop("SessionToken")
        doc["AccountId"] = ACCOUNT
        self._send(200, json.dumps(doc), "application/json")

    # -- STS --------------------------------------------------------------------------------------

    def _sts_error(self, call: StsCall, status: int, code: str, message: str) -> None:
        call.status = status
        kind = "Sender" if status < 500 else "Receiver"
        self._send(
            status,
            '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
            f"<Error><Type>{kind}</Type><Code>{code}</Code><Message>{escape(message)}</Message></Error>"
            "<RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ErrorResponse>",
        )

    def _sts(self, form: dict[str, str]) -> None:
        world = self.server.world
        action = form.pop("Action", "")
        form.pop("Version", None)
        scope = CREDENTIAL_SCOPE.search(self.headers.get("Authorization") or "")
        call = StsCall(
            action=action,
            params=form,
            signer=scope.group(1) if scope else None,
            region=scope.group(3) if scope else None,
            security_token=self.headers.get("X-Amz-Security-Token"),
        )
        with world.lock:
            world.sts_calls.append(call)
        if action == "AssumeRole":
            self._assume_role(call)
        elif action == "AssumeRoleWithWebIdentity":
            self._assume_role_with_web_identity(call)
        elif action == "GetCallerIdentity":
            self._get_caller_identity(call)
        else:
            self._sts_error(call, 400, "InvalidAction", f"Could not find operation {action}")

    def _validate_role(self, call: StsCall) -> tuple[str, str] | None:
        """(account, role name) of a valid request, else sends the STS error and returns None."""
        arn = call.params.get("RoleArn", "")
        m = ROLE_ARN.match(arn)
        if m is None:
            self._sts_error(call, 400, "ValidationError", f"{arn} is invalid")
            return None
        for param, field_name in (("RoleSessionName", "roleSessionName"), ("ExternalId", "externalId")):
            value = call.params.get(param)
            if value is not None and len(value) < 2:
                self._sts_error(
                    call,
                    400,
                    "ValidationError",
                    f"1 validation error detected: Value '{value}' at '{field_name}' failed to satisfy "
                    "constraint: Member must have length greater than or equal to 2",
                )
                return None
        duration = call.params.get("DurationSeconds")
        if duration is not None:
            if not duration.isdigit() or int(duration) < 900:
                self._sts_error(
                    call,
                    400,
                    "ValidationError",
                    f"1 validation error detected: Value '{duration}' at 'durationSeconds' "
                    "failed to satisfy constraint: Member must have value greater than or equal to 900",
                )
                return None
            if int(duration) > 43200:
                self._sts_error(
                    call,
                    400,
                    "ValidationError",
                    "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
                )
                return None
        if m.group(2).startswith("denied"):
            who = call.signer or "anonymous"
            self._sts_error(
                call,
                403,
                "AccessDenied",
                f"User: {who} is not authorized to perform: sts:{call.action} on resource: {arn}",
            )
            return None
        return m.group(1), m.group(2)

    def _assumed(self, call: StsCall, account: str, role: str, creds: dict[str, str]) -> str:
        session = call.params.get("RoleSessionName", "")
        return (
            "<AssumedRoleUser>"
            f"<AssumedRoleId>AROA{derive(role)[:17].upper()}:{escape(session)}</AssumedRoleId>"
            f"<Arn>arn:aws:sts::{account}:assumed-role/{escape(role)}/{escape(session)}</Arn>"
            "</AssumedRoleUser><Credentials>"
            + "".join(f"<{k}>{escape(v)}</{k}>" for k, v in creds.items())
            + "</Credentials>"
        )

    def _assume_role(self, call: StsCall) -> None:
        world = self.server.world
        if call.signer is None:
            self._sts_error(call, 403, "MissingAuthenticationToken", "Request is missing Authentication Token")
            return
        if "SerialNumber" in call.params and call.params.get("TokenCode") != "123456":
            self._sts_error(
                call, 403, "AccessDenied", "MultiFactorAuthentication failed with invalid MFA one time pass code."
            )
            return
        valid = self._validate_role(call)
        if valid is None:
            return
        p = call.params
        creds = issued_credentials(
            "AssumeRole",
            p["RoleArn"],
            normalise_session_name(p.get("RoleSessionName")) or "",
            p.get("ExternalId", "-"),
            p.get("DurationSeconds", "-"),
            p.get("SerialNumber", "-"),
            call.signer,
            lifetime=int(p.get("DurationSeconds") or 3600),
            anchor=world.anchor,
        )
        self._send(
            200,
            '<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>'
            + self._assumed(call, *valid, creds)
            + "</AssumeRoleResult><ResponseMetadata><RequestId>"
            + derive("rid", p["RoleArn"])[:32]
            + "</RequestId></ResponseMetadata></AssumeRoleResponse>",
        )

    def _assume_role_with_web_identity(self, call: StsCall) -> None:
        world = self.server.world
        token = call.params.get("WebIdentityToken", "")
        if not token.strip():
            self._sts_error(call, 400, "InvalidIdentityToken", "Couldn't retrieve verification key from your identity provider")
            return
        valid = self._validate_role(call)
        if valid is None:
            return
        p = call.params
        creds = issued_credentials(
            "AssumeRoleWithWebIdentity",
            p["RoleArn"],
            normalise_session_name(p.get("RoleSessionName")) or "",
            token,
            lifetime=int(p.get("DurationSeconds") or 3600),
            anchor=world.anchor,
        )
        self._send(
            200,
            '<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
            "<AssumeRoleWithWebIdentityResult>"
            "<SubjectFromWebIdentityToken>system:serviceaccount:default:app</SubjectFromWebIdentityToken>"
            "<Audience>sts.amazonaws.com</Audience><Provider>oidc.example.com</Provider>"
            + self._assumed(call, *valid, creds)
            + "</AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>"
            + derive("rid", p["RoleArn"])[:32]
            + "</RequestId></ResponseMetadata></AssumeRoleWithWebIdentityResponse>",
        )

    def _get_caller_identity(self, call: StsCall) -> None:
        if call.signer is None:
            self._sts_error(call, 403, "MissingAuthenticationToken", "Request is missing Authentication Token")
            return
        self._send(
            200,
            '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
            f"<GetCallerIdentityResult><Arn>arn:aws:iam::{ACCOUNT}:user/{escape(call.signer)}</Arn>"
            f"<UserId>{escape(call.signer)}</UserId><Account>{ACCOUNT}</Account></GetCallerIdentityResult>"
            "<ResponseMetadata><RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId>"
            "</ResponseMetadata></GetCallerIdentityResponse>",
        )


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    world: World


class FakeEndpoints:
    """The three fakes on one ephemeral loopback port; a context manager that stops the server."""

    def __init__(self, world: World):
        self.world = world
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.world = world
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>` (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def sts_url(self) -> str:
        return self.base_url

    @property
    def imds_url(self) -> str:
        return self.base_url + "/"

    @property
    def ecs_url(self) -> str:
        return self.base_url + ECS_PATH

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> "FakeEndpoints":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
