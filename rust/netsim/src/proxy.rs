//! The proxy: a front socket for clients, one upstream socket per client,
//! and a delay queue shared by both directions.

use std::cmp::Ordering as CmpOrdering;
use std::collections::{BinaryHeap, HashMap};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::SeedableRng;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{sleep, sleep_until, Instant};

use crate::bottleneck::Bottleneck;
use crate::clients::{ClientBytes, ClientTable};
use crate::{bind_udp, Impairment};

/// Most distinct client source addresses the proxy maps; datagrams from
/// further clients are dropped (and counted in `dropped_up`). Also the most
/// per-client overrides held, and clients listed by
/// [`UdpImpairmentProxy::clients`].
pub const MAX_CLIENTS: usize = 64;

/// Most delayed datagrams held at once (both directions together); the
/// excess is dropped and counted.
pub const MAX_IN_FLIGHT: usize = 10_000;

/// Most bytes of delayed datagrams held at once (both directions together);
/// the excess is dropped and counted.
pub const MAX_IN_FLIGHT_BYTES: usize = 16 << 20;

/// Largest UDP payload.
const MAX_DATAGRAM: usize = 65_535;

/// Seed offset for the downstream generator, so the two directions draw
/// independent streams from one seed.
const DOWN_SEED_SALT: u64 = 0x9E37_79B9_7F4A_7C15;

/// Counters of what the proxy did, as returned by
/// [`UdpImpairmentProxy::stats`].
///
/// "Up" is client → upstream, "down" is upstream → client. A datagram is
/// counted as forwarded when it is handed to the kernel, so after traffic has
/// settled `forwarded_*` is what the other side can receive (duplicates
/// included). Drops count random loss, the [`MAX_CLIENTS`] and
/// [`MAX_IN_FLIGHT`] caps and send errors.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProxyStats {
    /// Datagrams sent to the upstream (duplicates included).
    pub forwarded_up: u64,
    /// Datagrams sent back to clients (duplicates included).
    pub forwarded_down: u64,
    /// Client datagrams that were not forwarded.
    pub dropped_up: u64,
    /// Upstream datagrams that were not forwarded.
    pub dropped_down: u64,
    /// Extra copies made by duplication, both directions.
    pub duplicated: u64,
    /// Datagrams dropped because a bandwidth limit's queue was full, both
    /// directions (also counted in `dropped_up` / `dropped_down`).
    pub queue_full: u64,
    /// Path switches so far ([`UdpImpairmentProxy::switch_path`]).
    pub path_switches: u64,
}

/// A UDP proxy on `127.0.0.1` that forwards clients' datagrams to one
/// upstream address and the replies back, impairing both directions.
///
/// Must be started inside a tokio runtime (it spawns tasks on it). Dropping
/// it, or calling [`stop`](Self::stop), aborts those tasks and closes its
/// sockets.
#[derive(Debug)]
pub struct UdpImpairmentProxy {
    local_addr: SocketAddr,
    upstream: SocketAddr,
    shared: Arc<Shared>,
    _front: AbortOnDrop,
    _scheduler: AbortOnDrop,
}

impl UdpImpairmentProxy {
    /// Starts a proxy in front of `upstream` (which must be a loopback
    /// address), with its random generator seeded from the OS.
    ///
    /// Clients send to [`local_addr`](Self::local_addr).
    pub async fn start(upstream: SocketAddr, impairment: Impairment) -> io::Result<Self> {
        Self::start_inner(upstream, impairment, None).await
    }

    /// Like [`start`](Self::start), but with a seeded random generator so a
    /// test's losses, jitter and duplicates are reproducible (for a given
    /// sequence of datagrams per direction).
    pub async fn start_with_seed(
        upstream: SocketAddr,
        impairment: Impairment,
        seed: u64,
    ) -> io::Result<Self> {
        Self::start_inner(upstream, impairment, Some(seed)).await
    }

    async fn start_inner(
        upstream: SocketAddr,
        impairment: Impairment,
        seed: Option<u64>,
    ) -> io::Result<Self> {
        if !upstream.ip().is_loopback() || upstream.port() == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("netsim proxies only loopback addresses, not {upstream}"),
            ));
        }
        let front = Arc::new(bind_udp((Ipv4Addr::LOCALHOST, 0).into())?);
        let local_addr = front.local_addr()?;
        let (rng_up, rng_down) = match seed {
            Some(s) => (
                StdRng::seed_from_u64(s),
                StdRng::seed_from_u64(s ^ DOWN_SEED_SALT),
            ),
            None => (StdRng::from_entropy(), StdRng::from_entropy()),
        };
        let (queue_tx, queue_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            impairment: Mutex::new(impairment),
            clients: Mutex::new(ClientTable::default()),
            rng_up: Mutex::new(rng_up),
            rng_down: Mutex::new(rng_down),
            counters: Counters::default(),
            in_flight: AtomicUsize::new(0),
            in_flight_bytes: AtomicUsize::new(0),
            next_seq: AtomicU64::new(0),
            path: AtomicU64::new(0),
            queue: queue_tx,
        });
        let scheduler = AbortOnDrop(tokio::spawn(run_scheduler(queue_rx, shared.clone())));
        let front_task = AbortOnDrop(tokio::spawn(run_front(front, upstream, shared.clone())));
        log::debug!("netsim proxy {local_addr} -> {upstream} started");
        Ok(Self {
            local_addr,
            upstream,
            shared,
            _front: front_task,
            _scheduler: scheduler,
        })
    }

    /// The address clients send to (on `127.0.0.1`). For the SFU, set the
    /// server's media public address to this.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The address datagrams are forwarded to.
    pub fn upstream(&self) -> SocketAddr {
        self.upstream
    }

    /// Replaces the impairment for datagrams received from now on (datagrams
    /// already delayed keep their delivery time). Clients with an override
    /// ([`set_client_impairment`](Self::set_client_impairment)) keep theirs.
    pub fn set_impairment(&self, impairment: Impairment) {
        *lock(&self.shared.impairment) = impairment;
    }

    /// The current proxy-wide impairment.
    pub fn impairment(&self) -> Impairment {
        lock(&self.shared.impairment).clone()
    }

    /// Gives one client its own impairment (`Some`), in both directions,
    /// instead of the proxy-wide one, or returns it to the proxy-wide one
    /// (`None`): to cap one phone while the others in the call stay well.
    ///
    /// `client` is the address the client sends from to
    /// [`local_addr`](Self::local_addr) (see [`clients`](Self::clients)), or
    /// that IP with port 0 for every client on it that has no override of
    /// its own (a TURN relay's allocations, a second "network"). It
    /// may be set before that client's first datagram, applies to datagrams
    /// received from now on, and survives [`switch_path`](Self::switch_path),
    /// which moves only the upstream side. A bandwidth limit still uses the
    /// client's own queue, as when the proxy-wide one changes. At most
    /// [`MAX_CLIENTS`] overrides are held: a new one beyond that is ignored
    /// (with a warning); replacing or removing one always works.
    pub fn set_client_impairment(&self, client: SocketAddr, impairment: Option<Impairment>) {
        if !lock(&self.shared.clients).set(client, impairment) {
            log::warn!("netsim: more than {MAX_CLIENTS} client overrides, ignoring {client}");
        }
    }

    /// `client`'s override, if it has one (`None` means it gets the
    /// proxy-wide [`impairment`](Self::impairment)).
    pub fn client_impairment(&self, client: SocketAddr) -> Option<Impairment> {
        lock(&self.shared.clients).get(client).cloned()
    }

    /// The client source addresses the proxy has mapped, in the order it
    /// first saw them (at most [`MAX_CLIENTS`]; path switches add none):
    /// how a test finds a phone's address for
    /// [`set_client_impairment`](Self::set_client_impairment).
    pub fn clients(&self) -> Vec<SocketAddr> {
        lock(&self.shared.clients).list()
    }

    /// The bytes `client` has sent to the proxy and been sent back, before
    /// any impairment: a test tells a phone's video-carrying connection
    /// from its others by these.
    pub fn client_bytes(&self, client: SocketAddr) -> ClientBytes {
        lock(&self.shared.clients).bytes(client)
    }

    /// From now on every client's datagrams reach the upstream from a new
    /// address and port, as when a phone moves from Wi-Fi to cellular or a
    /// NAT rebinds: each client gets a new upstream socket on its next
    /// datagram, and replies to the old one are lost. Datagrams already
    /// delayed still leave from the old path. Per-client overrides stay (the
    /// client side does not move), but bandwidth queues start empty.
    pub fn switch_path(&self) {
        self.shared.path.fetch_add(1, Ordering::AcqRel);
        log::debug!("netsim proxy {}: path switch", self.local_addr);
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> ProxyStats {
        let c = &self.shared.counters;
        ProxyStats {
            forwarded_up: c.forwarded_up.load(Ordering::Relaxed),
            forwarded_down: c.forwarded_down.load(Ordering::Relaxed),
            dropped_up: c.dropped_up.load(Ordering::Relaxed),
            dropped_down: c.dropped_down.load(Ordering::Relaxed),
            duplicated: c.duplicated.load(Ordering::Relaxed),
            queue_full: c.queue_full.load(Ordering::Relaxed),
            path_switches: self.shared.path.load(Ordering::Relaxed),
        }
    }

    /// Stops the proxy: same as dropping it.
    pub fn stop(self) {}
}

impl Drop for UdpImpairmentProxy {
    fn drop(&mut self) {
        log::debug!("netsim proxy {} stopped", self.local_addr);
    }
}

/// Aborts a task when dropped. The front task owns the per-client reader
/// tasks through these, so aborting it ends them too.
#[derive(Debug)]
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dir {
    Up,
    Down,
}

#[derive(Debug, Default)]
struct Counters {
    forwarded_up: AtomicU64,
    forwarded_down: AtomicU64,
    dropped_up: AtomicU64,
    dropped_down: AtomicU64,
    duplicated: AtomicU64,
    queue_full: AtomicU64,
}

impl Counters {
    fn forwarded(&self, dir: Dir) {
        match dir {
            Dir::Up => &self.forwarded_up,
            Dir::Down => &self.forwarded_down,
        }
        .fetch_add(1, Ordering::Relaxed);
    }

    fn dropped(&self, dir: Dir) {
        match dir {
            Dir::Up => &self.dropped_up,
            Dir::Down => &self.dropped_down,
        }
        .fetch_add(1, Ordering::Relaxed);
    }
}

/// State shared by the proxy handle and its tasks.
#[derive(Debug)]
struct Shared {
    impairment: Mutex<Impairment>,
    /// Clients seen and their overrides; outlives path switches.
    clients: Mutex<ClientTable>,
    rng_up: Mutex<StdRng>,
    rng_down: Mutex<StdRng>,
    counters: Counters,
    in_flight: AtomicUsize,
    in_flight_bytes: AtomicUsize,
    next_seq: AtomicU64,
    /// Bumped by `switch_path`; the front task starts new mappings when it
    /// sees a new value.
    path: AtomicU64,
    queue: mpsc::UnboundedSender<Delayed>,
}

/// One client's link: a bottleneck per direction, so each client's bandwidth
/// limit is its own, as each phone has its own access link.
#[derive(Debug)]
struct ClientLink {
    /// The client's source address, which picks its override.
    client: SocketAddr,
    up: Mutex<Bottleneck>,
    down: Mutex<Bottleneck>,
}

impl ClientLink {
    fn new(client: SocketAddr) -> Self {
        Self {
            client,
            up: Mutex::default(),
            down: Mutex::default(),
        }
    }

    fn bottleneck(&self, dir: Dir) -> &Mutex<Bottleneck> {
        match dir {
            Dir::Up => &self.up,
            Dir::Down => &self.down,
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    /// The impairment for a datagram of `len` bytes to or from `client`
    /// (its override, or the proxy-wide one), counting the bytes.
    fn impairment_for(&self, client: SocketAddr, dir: Dir, len: usize) -> Impairment {
        let mut clients = lock(&self.clients);
        clients.count(client, dir == Dir::Up, len);
        if let Some(imp) = clients.get(client) {
            return imp.clone();
        }
        drop(clients);
        lock(&self.impairment).clone()
    }

    /// Applies the client's impairment to one datagram and sends it now,
    /// queues it for later, or drops it.
    async fn dispatch(
        &self,
        dir: Dir,
        link: &ClientLink,
        socket: &Arc<UdpSocket>,
        to: SocketAddr,
        data: &[u8],
    ) {
        // Read once, so the loss, delay and bandwidth of one datagram all come
        // from the same impairment; the queue state is the client's either way.
        let impairment = self.impairment_for(link.client, dir, data.len());
        let fate = {
            let rng = match dir {
                Dir::Up => &self.rng_up,
                Dir::Down => &self.rng_down,
            };
            impairment.decide(&mut *lock(rng))
        };
        let Some((first, copy)) = fate else {
            self.counters.dropped(dir);
            return;
        };
        if copy.is_some() {
            self.counters.duplicated.fetch_add(1, Ordering::Relaxed);
        }
        for mut delay in std::iter::once(first).chain(copy) {
            if let Some((rate_bps, max_queue)) = impairment.bottleneck() {
                let now = Instant::now();
                let admitted =
                    lock(link.bottleneck(dir)).admit(now, data.len(), rate_bps, max_queue);
                let Some(sent) = admitted else {
                    self.counters.queue_full.fetch_add(1, Ordering::Relaxed);
                    self.counters.dropped(dir);
                    continue;
                };
                delay += sent - now;
            }
            if delay.is_zero() {
                self.send(dir, socket, to, data).await;
            } else {
                self.enqueue(dir, socket, to, data, delay);
            }
        }
    }

    async fn send(&self, dir: Dir, socket: &UdpSocket, to: SocketAddr, data: &[u8]) {
        match socket.send_to(data, to).await {
            Ok(_) => self.counters.forwarded(dir),
            Err(e) => {
                log::debug!("netsim send {dir:?} to {to} failed: {e}");
                self.counters.dropped(dir);
            }
        }
    }

    fn enqueue(
        &self,
        dir: Dir,
        socket: &Arc<UdpSocket>,
        to: SocketAddr,
        data: &[u8],
        delay: Duration,
    ) {
        if !self.reserve(data.len()) {
            self.counters.dropped(dir);
            return;
        }
        let packet = Delayed {
            due: Instant::now() + delay,
            seq: self.next_seq.fetch_add(1, Ordering::Relaxed),
            dir,
            socket: socket.clone(),
            to,
            data: data.to_vec(),
        };
        if self.queue.send(packet).is_err() {
            self.release(data.len());
            self.counters.dropped(dir);
        }
    }

    /// Takes room for one delayed datagram of `len` bytes, if the caps allow.
    fn reserve(&self, len: usize) -> bool {
        if self.in_flight.fetch_add(1, Ordering::AcqRel) >= MAX_IN_FLIGHT {
            self.in_flight.fetch_sub(1, Ordering::AcqRel);
            return false;
        }
        if self.in_flight_bytes.fetch_add(len, Ordering::AcqRel) + len > MAX_IN_FLIGHT_BYTES {
            self.in_flight_bytes.fetch_sub(len, Ordering::AcqRel);
            self.in_flight.fetch_sub(1, Ordering::AcqRel);
            return false;
        }
        true
    }

    fn release(&self, len: usize) {
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
        self.in_flight_bytes.fetch_sub(len, Ordering::AcqRel);
    }
}

/// A datagram waiting for its delivery time.
#[derive(Debug)]
struct Delayed {
    due: Instant,
    seq: u64,
    dir: Dir,
    socket: Arc<UdpSocket>,
    to: SocketAddr,
    data: Vec<u8>,
}

// Ordered so that `BinaryHeap` (a max-heap) pops the earliest due first,
// first-queued first among equals.
impl Ord for Delayed {
    fn cmp(&self, other: &Self) -> CmpOrdering {
        (other.due, other.seq).cmp(&(self.due, self.seq))
    }
}

impl PartialOrd for Delayed {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Delayed {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == CmpOrdering::Equal
    }
}

impl Eq for Delayed {}

/// Sends delayed datagrams when they are due.
async fn run_scheduler(mut queue: mpsc::UnboundedReceiver<Delayed>, shared: Arc<Shared>) {
    let mut heap: BinaryHeap<Delayed> = BinaryHeap::new();
    loop {
        let next_due = heap.peek().map(|p| p.due);
        tokio::select! {
            packet = queue.recv() => match packet {
                Some(p) => heap.push(p),
                None => return,
            },
            _ = sleep_until(next_due.unwrap_or_else(Instant::now)), if next_due.is_some() => {
                let now = Instant::now();
                while heap.peek().is_some_and(|p| p.due <= now) {
                    let Some(p) = heap.pop() else { break };
                    shared.release(p.data.len());
                    shared.send(p.dir, &p.socket, p.to, &p.data).await;
                }
            }
        }
    }
}

/// One client's upstream socket and the task reading its replies.
struct Mapping {
    socket: Arc<UdpSocket>,
    link: Arc<ClientLink>,
    _reader: AbortOnDrop,
}

/// Reads clients' datagrams from the front socket and forwards them, making
/// a mapping for each new client.
async fn run_front(front: Arc<UdpSocket>, upstream: SocketAddr, shared: Arc<Shared>) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut clients: HashMap<SocketAddr, Mapping> = HashMap::new();
    let mut full_warned = false;
    let mut path = shared.path.load(Ordering::Acquire);
    loop {
        let (n, from) = match front.recv_from(&mut buf).await {
            Ok(r) => r,
            Err(e) => {
                log::debug!("netsim front recv failed: {e}");
                sleep(Duration::from_millis(1)).await;
                continue;
            }
        };
        if !from.ip().is_loopback() {
            shared.counters.dropped(Dir::Up);
            continue;
        }
        let current_path = shared.path.load(Ordering::Acquire);
        if current_path != path {
            // Dropping the mappings closes their sockets and readers; each
            // client gets a new source port on this datagram.
            path = current_path;
            clients.clear();
        }
        let (socket, link) = match clients.get(&from) {
            Some(m) => (m.socket.clone(), m.link.clone()),
            None => {
                if clients.len() >= MAX_CLIENTS {
                    if !std::mem::replace(&mut full_warned, true) {
                        log::warn!("netsim: more than {MAX_CLIENTS} clients, dropping {from}");
                    }
                    shared.counters.dropped(Dir::Up);
                    continue;
                }
                let bind_ip = match upstream.ip() {
                    IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                    IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
                };
                let socket = match bind_udp((bind_ip, 0).into()) {
                    Ok(s) => Arc::new(s),
                    Err(e) => {
                        log::warn!("netsim: cannot bind upstream socket for {from}: {e}");
                        shared.counters.dropped(Dir::Up);
                        continue;
                    }
                };
                let link = Arc::new(ClientLink::new(from));
                let reader = tokio::spawn(run_upstream_reader(
                    socket.clone(),
                    link.clone(),
                    front.clone(),
                    from,
                    upstream,
                    shared.clone(),
                ));
                log::debug!(
                    "netsim: client {from} mapped to {:?}",
                    socket.local_addr().ok()
                );
                lock(&shared.clients).seen(from);
                clients.insert(
                    from,
                    Mapping {
                        socket: socket.clone(),
                        link: link.clone(),
                        _reader: AbortOnDrop(reader),
                    },
                );
                (socket, link)
            }
        };
        shared
            .dispatch(Dir::Up, &link, &socket, upstream, &buf[..n])
            .await;
    }
}

/// Reads the upstream's replies on one client's socket and forwards them to
/// that client from the front socket.
async fn run_upstream_reader(
    socket: Arc<UdpSocket>,
    link: Arc<ClientLink>,
    front: Arc<UdpSocket>,
    client: SocketAddr,
    upstream: SocketAddr,
    shared: Arc<Shared>,
) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let (n, from) = match socket.recv_from(&mut buf).await {
            Ok(r) => r,
            Err(e) => {
                log::debug!("netsim upstream recv for {client} failed: {e}");
                sleep(Duration::from_millis(1)).await;
                continue;
            }
        };
        if from != upstream {
            // Only the upstream may talk through the mapping.
            continue;
        }
        shared
            .dispatch(Dir::Down, &link, &front, client, &buf[..n])
            .await;
    }
}
