//! The local identity plane: a declarative world, policy evaluation, a stateless credential
//! issuer and the HTTP endpoints (IMDS, ECS container credentials, STS) real AWS clients use;
//! and [`relay`], which serves credentials obtained elsewhere over IMDS and the container protocol.
//!
//! Start everything with [`start`] inside a tokio runtime, or with [`spawn_local`] from
//! synchronous code (tests of other crates): both bind the listeners first and return the
//! actual addresses, so port 0 works.

pub mod api;
pub mod authz_message;
pub mod autoscaling;
pub mod console;
pub mod decisions;
pub mod ec2;
pub mod ecs;
pub mod faults;
pub mod http;
pub mod iam;
pub mod imds;
pub mod issuer;
pub mod jwt;
pub mod launch;
pub mod live;
pub mod metrics;
pub mod peer;
pub mod policy;
pub mod query;
pub mod relay;
pub mod sessions;
pub mod signin;
pub mod sso;
pub mod state;
pub mod store;
pub mod sts;
pub mod totp;
pub mod web;
pub mod world;

use std::net::SocketAddr;
use std::sync::atomic::AtomicU32;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;

pub use issuer::Issuer;
pub use state::{Clock, State};
pub use world::World;

/// The tokio runtime `awsid serve` uses: multi-threaded, two workers by default (the
/// `AWSID_SERVER_THREADS` environment variable overrides).
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let threads = std::env::var("AWSID_SERVER_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n: &usize| *n > 0)
        .unwrap_or(2);
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
}

/// What to listen on. `None` leaves an endpoint off.
#[derive(Clone, Debug, Default)]
pub struct Listen {
    /// The API listener (STS, the SSO portal and SSO-OIDC).
    pub api: Option<SocketAddr>,
    /// The ECS container-credentials listener.
    pub ecs: Option<SocketAddr>,
    /// One IMDS listener per instance, by index in the world's instance list; instances not
    /// listed use their world `listen` address, else `127.0.0.1:0`.
    pub imds: Vec<(usize, SocketAddr)>,
    /// Serve IMDS for every instance (with the fallback addresses above).
    pub all_instances: bool,
    /// When set, every IMDS listener serves only local peers whose socket belongs to one of
    /// these OS users (by UID); others get IMDS's 403.
    pub imds_allowed_uids: Option<Vec<u32>>,
}

impl Listen {
    /// Every endpoint on `127.0.0.1` with ephemeral ports.
    pub fn loopback() -> Listen {
        let any: SocketAddr = "127.0.0.1:0".parse().expect("literal address");
        Listen {
            api: Some(any),
            ecs: Some(any),
            imds: Vec::new(),
            all_instances: true,
            imds_allowed_uids: None,
        }
    }
}

/// The addresses actually bound.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bound {
    /// The API (STS) address.
    pub api: Option<SocketAddr>,
    /// The ECS address.
    pub ecs: Option<SocketAddr>,
    /// `(instance id, address)` of each IMDS listener, in world order.
    pub imds: Vec<(String, SocketAddr)>,
}

/// A running server: its addresses and a way to stop it.
#[derive(Debug)]
pub struct Server {
    /// Bound addresses at start.
    pub bound: Bound,
    /// The shared state (tests move the clock through it).
    pub state: Arc<State>,
    /// The IP TTL last applied to an IMDS connection, by IMDS listener bound at start (tests
    /// of the hop limit).
    pub applied_ttl: Vec<Arc<AtomicU32>>,
    /// Bumped whenever IMDS listeners start or stop (instances launched or terminated).
    pub listeners_changed: watch::Receiver<u64>,
    shutdown: watch::Sender<bool>,
    tasks: tokio::task::JoinSet<()>,
}

impl Server {
    /// The addresses bound now (IMDS listeners follow instances as they start and stop).
    pub fn bound_now(&self) -> Bound {
        current_bound(&self.state, &self.bound)
    }

    /// Stops accepting, lets in-flight requests finish (≤ 5 s) and returns.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        while self.tasks.join_next().await.is_some() {}
    }
}

fn current_bound(state: &State, at_start: &Bound) -> Bound {
    let world = state.world();
    let endpoints = state
        .imds_endpoints
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    Bound {
        api: at_start.api,
        ecs: at_start.ecs,
        imds: world
            .instances
            .iter()
            .filter_map(|i| Some((i.id.clone(), *endpoints.get(&i.id)?)))
            .collect(),
    }
}

/// One running IMDS listener.
struct ImdsTask {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

/// Binds an instance's IMDS listener: the one reserved at launch, else `addr`; falls back to
/// a free port when a persisted address is taken (after a restart).
async fn bind_imds(
    state: &State,
    id: &str,
    addr: SocketAddr,
    strict: bool,
) -> std::io::Result<TcpListener> {
    let reserved = state
        .reserved_imds
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(id);
    if let Some(l) = reserved {
        return TcpListener::from_std(l);
    }
    match bind(addr, &format!("IMDS of {id}")).await {
        Ok(l) => Ok(l),
        Err(e) if !strict => {
            tracing::warn!(instance = id, %addr, error = %e, "IMDS address taken; using a free port");
            bind(
                "127.0.0.1:0".parse().expect("literal"),
                &format!("IMDS of {id}"),
            )
            .await
        }
        Err(e) => Err(e),
    }
}

fn spawn_imds(
    state: &Arc<State>,
    id: &str,
    listener: TcpListener,
    limits: http::Limits,
    applied: Option<Arc<AtomicU32>>,
    allowed: Option<Arc<peer::UidAllowList>>,
) -> std::io::Result<ImdsTask> {
    let addr = listener.local_addr()?;
    state
        .imds_endpoints
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .insert(id.to_string(), addr);
    let (stop, rx) = watch::channel(false);
    let h = Arc::new(faults::Faulty::new(
        imds::ImdsHandler::new(state.clone(), id).with_allowed_users(allowed),
        state.clone(),
        faults::Listener::Imds(id.to_string()),
    ));
    let task = tokio::spawn(http::serve(listener, h, limits, rx, applied));
    Ok(ImdsTask { stop, task })
}

/// Follows the world: starts an IMDS listener for every instance that starts running and
/// stops the listener of every instance that stops, until `shutdown`.
async fn follow_instances(
    state: Arc<State>,
    mut running: std::collections::BTreeMap<String, ImdsTask>,
    limits: http::Limits,
    mut shutdown: watch::Receiver<bool>,
    changed: watch::Sender<u64>,
    allowed: Option<Arc<peer::UidAllowList>>,
) {
    let mut world_changed = state.live.subscribe();
    loop {
        let wanted: Vec<(String, Option<String>)> = state
            .world()
            .instances
            .iter()
            .filter(|i| i.state == world::InstanceState::Running)
            .map(|i| (i.id.clone(), i.listen.clone()))
            .collect();
        let mut touched = false;
        let gone: Vec<String> = running
            .keys()
            .filter(|id| !wanted.iter().any(|(w, _)| w == *id))
            .cloned()
            .collect();
        for id in gone {
            if let Some(t) = running.remove(&id) {
                let _ = t.stop.send(true);
                let _ = t.task.await;
            }
            state
                .imds_endpoints
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&id);
            touched = true;
        }
        for (id, listen) in wanted {
            if running.contains_key(&id) {
                continue;
            }
            let addr = listen
                .as_deref()
                .and_then(|a| a.parse().ok())
                .unwrap_or_else(|| "127.0.0.1:0".parse().expect("literal"));
            match bind_imds(&state, &id, addr, false).await {
                Ok(l) => match spawn_imds(&state, &id, l, limits, None, allowed.clone()) {
                    Ok(t) => {
                        running.insert(id, t);
                        touched = true;
                    }
                    Err(e) => tracing::error!(instance = %id, error = %e, "IMDS listener failed"),
                },
                Err(e) => tracing::error!(instance = %id, error = %e, "cannot bind IMDS"),
            }
        }
        if touched {
            changed.send_modify(|n| *n += 1);
        }
        tokio::select! {
            r = world_changed.changed() => if r.is_err() { break },
            _ = shutdown.changed() => break,
        }
    }
    for (_, t) in running {
        let _ = t.stop.send(true);
        let _ = t.task.await;
    }
}

/// Binds every listener of `listen` and starts serving `state`; IMDS listeners then follow
/// the instances of the live world. Must run inside a tokio runtime.
pub async fn start(state: Arc<State>, listen: &Listen) -> std::io::Result<Server> {
    let (tx, rx) = watch::channel(false);
    let limits = http::Limits::default();
    let mut tasks = tokio::task::JoinSet::new();
    let mut bound = Bound {
        api: None,
        ecs: None,
        imds: Vec::new(),
    };
    let mut applied_ttl = Vec::new();
    let world = state.world();
    let mut imds_addrs: Vec<(usize, SocketAddr)> = listen.imds.clone();
    if listen.all_instances {
        for (i, inst) in world.instances.iter().enumerate() {
            if inst.state != world::InstanceState::Running {
                continue;
            }
            if !imds_addrs.iter().any(|(j, _)| *j == i) {
                let addr = inst
                    .listen
                    .as_deref()
                    .and_then(|a| a.parse().ok())
                    .unwrap_or_else(|| "127.0.0.1:0".parse().expect("literal address"));
                imds_addrs.push((i, addr));
            }
        }
    }
    imds_addrs.sort_by_key(|(i, _)| *i);
    // Bind everything before serving anything, so a bind error leaves nothing running.
    let api = match listen.api {
        Some(a) => Some(bind(a, "API").await?),
        None => None,
    };
    let ecs = match listen.ecs {
        Some(a) => Some(bind(a, "ECS").await?),
        None => None,
    };
    let mut imds = Vec::new();
    for (i, addr) in imds_addrs {
        let inst = world.instances.get(i).ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("no instance #{i} in the world"),
            )
        })?;
        // An address from the command line must be bound; a persisted one may have been
        // taken since (then any free port does).
        let strict = listen.imds.iter().any(|(j, _)| *j == i);
        let l = bind_imds(&state, &inst.id, addr, strict).await?;
        imds.push((inst.id.clone(), l));
    }
    if let Some(l) = api {
        bound.api = Some(l.local_addr()?);
        let h = Arc::new(faults::Faulty::new(
            api::ApiHandler::new(state.clone()),
            state.clone(),
            faults::Listener::Api,
        ));
        tasks.spawn(http::serve(l, h, limits, rx.clone(), None));
    }
    if let Some(l) = ecs {
        bound.ecs = Some(l.local_addr()?);
        let h = Arc::new(faults::Faulty::new(
            ecs::EcsHandler::new(state.clone()),
            state.clone(),
            faults::Listener::Ecs,
        ));
        tasks.spawn(http::serve(l, h, limits, rx.clone(), None));
    }
    let allowed = listen
        .imds_allowed_uids
        .as_ref()
        .map(|uids| Arc::new(peer::UidAllowList::new(uids.iter().copied())));
    let mut running = std::collections::BTreeMap::new();
    for (id, l) in imds {
        bound.imds.push((id.clone(), l.local_addr()?));
        let applied = Arc::new(AtomicU32::new(0));
        applied_ttl.push(applied.clone());
        running.insert(
            id.clone(),
            spawn_imds(&state, &id, l, limits, Some(applied), allowed.clone())?,
        );
    }
    let (changed_tx, changed_rx) = watch::channel(0u64);
    if listen.all_instances {
        tasks.spawn(follow_instances(
            state.clone(),
            running,
            limits,
            rx.clone(),
            changed_tx,
            allowed,
        ));
    } else {
        // Only the listed instances: keep their listeners until shutdown.
        let mut rx2 = rx.clone();
        tasks.spawn(async move {
            let _ = rx2.changed().await;
            for (_, t) in running {
                let _ = t.stop.send(true);
                let _ = t.task.await;
            }
            drop(changed_tx);
        });
    }
    Ok(Server {
        bound,
        state,
        applied_ttl,
        listeners_changed: changed_rx,
        shutdown: tx,
        tasks,
    })
}

async fn bind(addr: SocketAddr, what: &str) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|e| {
        std::io::Error::new(e.kind(), format!("cannot listen on {addr} for {what}: {e}"))
    })
}

/// A server running on its own thread and runtime, for synchronous callers; dropping it (or
/// calling [`LocalServer::stop`]) shuts it down.
#[derive(Debug)]
pub struct LocalServer {
    /// Bound addresses.
    pub bound: Bound,
    /// The shared state.
    pub state: Arc<State>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl LocalServer {
    /// The addresses bound now (IMDS listeners follow instances as they start and stop).
    pub fn bound_now(&self) -> Bound {
        current_bound(&self.state, &self.bound)
    }

    /// Shuts the server down and waits for its thread.
    pub fn stop(mut self) {
        self.stop_inner();
    }

    fn stop_inner(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        self.stop_inner();
    }
}

/// Starts `world` on `127.0.0.1` with ephemeral ports (API, ECS, and IMDS for every instance)
/// and a fresh random master key, on a background thread; returns once listening.
pub fn spawn_local(world: World) -> std::io::Result<LocalServer> {
    let state = Arc::new(State::new(world, Arc::new(Issuer::random())));
    spawn_local_with(state, Listen::loopback())
}

/// [`spawn_local`] with explicit state and listen addresses.
pub fn spawn_local_with(state: Arc<State>, listen: Listen) -> std::io::Result<LocalServer> {
    let rt = runtime()?;
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel();
    let st = state.clone();
    let thread = std::thread::Builder::new()
        .name("awsid-server".into())
        .spawn(move || {
            rt.block_on(async move {
                match start(st, &listen).await {
                    Ok(server) => {
                        let _ = ready_tx.send(Ok(server.bound.clone()));
                        let _ = stop_rx.await;
                        server.shutdown().await;
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                    }
                }
            });
        })?;
    let bound = ready_rx
        .recv()
        .map_err(|_| std::io::Error::other("server thread died"))??;
    Ok(LocalServer {
        bound,
        state,
        stop: Some(stop_tx),
        thread: Some(thread),
    })
}

#[cfg(test)]
pub(crate) mod testutil;
