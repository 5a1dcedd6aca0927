//! Per-client overrides with real loopback UDP sockets: two clients share one
//! proxy, one of them is impaired on its own, in both directions, and the
//! other is not.
//!
//! Assertions are on counts only. The bandwidth cap is slow enough (one
//! datagram per 512 ms, 100 ms of queue) that however loaded the machine, a
//! burst cannot get more than a few datagrams through it.

mod common;

use std::net::SocketAddr;

use common::*;
use hotline_netsim::{Impairment, UdpImpairmentProxy, MAX_CLIENTS};
use tokio::net::UdpSocket;
use tokio::time::{sleep, Duration};

/// Datagrams per client and direction in each burst.
const N: u32 = 200;
/// Client A's sequence numbers are below this, client B's start at it.
const B: u32 = 100_000;

fn drop_all() -> Impairment {
    Impairment {
        loss: 1.0,
        ..Default::default()
    }
}

/// 128 bytes on the wire (100 + 28) at 2 kbit/s: 512 ms per datagram, and a
/// queue shorter than that, so a burst loses all but about one per 400 ms.
fn slow_link() -> Impairment {
    Impairment {
        bandwidth_kbps: 2,
        queue_ms: 100,
        ..Default::default()
    }
}

/// Sends `n` datagrams on each `(socket, to, first seq)` flow, the flows
/// taking turns, pausing every few rounds so the receivers keep up.
async fn interleave(flows: &[(&UdpSocket, SocketAddr, u32)], n: u32) {
    for i in 0..n {
        for (sock, to, first) in flows {
            sock.send_to(&packet(first + i), *to).await.unwrap();
        }
        if (i + 1) % 10 == 0 {
            sleep(Duration::from_millis(1)).await;
        }
    }
}

/// Sends one datagram from `client` through the proxy and returns the
/// address it reached the server from (its upstream mapping).
async fn mapping(
    proxy: &UdpImpairmentProxy,
    client: &UdpSocket,
    at_server: &mut Collector,
    seq: u32,
) -> SocketAddr {
    client
        .send_to(&packet(seq), proxy.local_addr())
        .await
        .unwrap();
    let got = at_server.take(1).await;
    assert_eq!(got[0].seq, seq);
    got[0].from
}

fn seqs(got: &[Received]) -> Vec<u32> {
    got.iter().map(|r| r.seq).collect()
}

/// Asserts a capped flow of `N` lost most of its datagrams (`dropped`), but
/// not the first (the link starts idle), and that what passed kept its order.
fn assert_capped(dir: &str, passed: &[u32], dropped: u64) {
    assert!(
        !passed.is_empty() && passed.len() < N as usize / 2,
        "{dir}: {} of {N} passed the cap",
        passed.len()
    );
    assert_eq!(passed.len() as u64 + dropped, u64::from(N), "{dir}");
    assert!(passed.windows(2).all(|w| w[0] < w[1]), "{dir}: order kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loss_override_drops_one_client_both_ways_until_removed() {
    let (server, a, b) = (bind().await, bind().await, bind().await);
    let (a_addr, b_addr) = (a.local_addr().unwrap(), b.local_addr().unwrap());
    let proxy = UdpImpairmentProxy::start(server.local_addr().unwrap(), Impairment::default())
        .await
        .unwrap();
    let front = proxy.local_addr();
    let mut at_server = Collector::spawn(server.clone());
    let mut at_a = Collector::spawn(a.clone());
    let mut at_b = Collector::spawn(b.clone());

    // Both clients are mapped before the override (set after the first
    // datagram).
    let a_up = mapping(&proxy, &a, &mut at_server, 0).await;
    let b_up = mapping(&proxy, &b, &mut at_server, B).await;
    assert_eq!(proxy.clients(), [a_addr, b_addr]);
    proxy.set_client_impairment(a_addr, Some(drop_all()));
    assert_eq!(proxy.client_impairment(a_addr), Some(drop_all()));
    assert_eq!(proxy.client_impairment(b_addr), None);
    assert!(
        proxy.impairment().is_none(),
        "the proxy-wide one is unchanged"
    );

    // Up: only B's arrive.
    interleave(&[(&a, front, 1), (&b, front, B + 1)], N).await;
    let s = settle(&proxy, 2 + 2 * u64::from(N), 0).await;
    let got = at_server.take(N as usize).await;
    at_server.assert_quiet().await;
    assert_eq!(seqs(&got), (B + 1..=B + N).collect::<Vec<_>>());
    assert!(got.iter().all(|r| r.from == b_up));
    assert_eq!((s.forwarded_up, s.dropped_up), (2 + u64::from(N), N.into()));

    // Down: only B's arrive.
    interleave(&[(&server, a_up, 1), (&server, b_up, B + 1)], N).await;
    let s = settle(&proxy, 0, 2 * u64::from(N)).await;
    let got = at_b.take(N as usize).await;
    at_b.assert_quiet().await;
    at_a.assert_quiet().await;
    assert_eq!(seqs(&got), (B + 1..=B + N).collect::<Vec<_>>());
    assert_eq!((s.forwarded_down, s.dropped_down), (N.into(), N.into()));

    // Removing the override restores A, both ways, on the same mapping.
    proxy.set_client_impairment(a_addr, None);
    assert_eq!(proxy.client_impairment(a_addr), None);
    interleave(&[(&a, front, 1000)], N).await;
    let got = at_server.take(N as usize).await;
    assert_eq!(seqs(&got), (1000..1000 + N).collect::<Vec<_>>());
    assert!(got.iter().all(|r| r.from == a_up));
    interleave(&[(&server, a_up, 1000)], N).await;
    let got = at_a.take(N as usize).await;
    assert_eq!(seqs(&got), (1000..1000 + N).collect::<Vec<_>>());
    at_server.assert_quiet().await;
    at_a.assert_quiet().await;
    let after = proxy.stats();
    assert_eq!((after.dropped_up, after.dropped_down), (N.into(), N.into()));
    assert_eq!(proxy.clients(), [a_addr, b_addr]);
    // Bytes are counted as offered, dropped ones too, per client.
    let bytes = |n: u32| u64::from(n) * PAYLOAD as u64;
    let a_bytes = proxy.client_bytes(a_addr);
    assert_eq!((a_bytes.up, a_bytes.down), (bytes(2 * N + 1), bytes(2 * N)));
    let b_bytes = proxy.client_bytes(b_addr);
    assert_eq!((b_bytes.up, b_bytes.down), (bytes(N + 1), bytes(N)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bandwidth_override_set_before_the_first_datagram_caps_only_that_client() {
    let (server, a, b) = (bind().await, bind().await, bind().await);
    let (a_addr, b_addr) = (a.local_addr().unwrap(), b.local_addr().unwrap());
    let proxy = UdpImpairmentProxy::start(server.local_addr().unwrap(), Impairment::default())
        .await
        .unwrap();
    let front = proxy.local_addr();
    let mut at_server = Collector::spawn(server.clone());
    let mut at_a = Collector::spawn(a.clone());
    let mut at_b = Collector::spawn(b.clone());

    proxy.set_client_impairment(a_addr, Some(slow_link()));
    assert!(proxy.clients().is_empty(), "no datagram yet");

    // Up: A's burst overflows its own queue; B's all pass.
    interleave(&[(&a, front, 0), (&b, front, B)], N).await;
    let s = settle(&proxy, 2 * u64::from(N), 0).await;
    let got = at_server.take(s.forwarded_up as usize).await;
    at_server.assert_quiet().await;
    let (got_a, got_b): (Vec<_>, Vec<_>) = got.iter().partition(|r| r.seq < B);
    let b_seqs: Vec<u32> = got_b.iter().map(|r| r.seq).collect();
    assert_eq!(b_seqs, (B..B + N).collect::<Vec<_>>());
    let a_seqs: Vec<u32> = got_a.iter().map(|r| r.seq).collect();
    assert_capped("up", &a_seqs, s.queue_full);
    assert_eq!(s.dropped_up, s.queue_full, "only A's queue dropped");
    assert_eq!(proxy.clients(), [a_addr, b_addr]);
    let (a_up, b_up) = (got_a[0].from, got_b[0].from);

    // Down: A's own downstream queue caps it too; B's all pass.
    interleave(&[(&server, a_up, 0), (&server, b_up, B)], N).await;
    let s2 = settle(&proxy, 0, 2 * u64::from(N)).await;
    let got = at_b.take(N as usize).await;
    assert_eq!(seqs(&got), (B..B + N).collect::<Vec<_>>());
    let got = at_a.take(s2.forwarded_down as usize - N as usize).await;
    at_a.assert_quiet().await;
    at_b.assert_quiet().await;
    assert_capped("down", &seqs(&got), s2.dropped_down);
    assert_eq!(s2.dropped_down, s2.queue_full - s.queue_full);

    // Both directions at once: each has its own queue, so each lets its
    // first datagram through (one queue for both would take only one).
    let flows = [
        (&*a, front, 1000),
        (&*server, a_up, 1000),
        (&*b, front, B + 1000),
        (&*server, b_up, B + 1000),
    ];
    interleave(&flows, N).await;
    let s3 = settle(&proxy, 4 * u64::from(N), 4 * u64::from(N)).await;
    let up = at_server
        .take((s3.forwarded_up - s2.forwarded_up) as usize)
        .await;
    let down_b = at_b.take(N as usize).await;
    let down_a = at_a
        .take((s3.forwarded_down - s2.forwarded_down) as usize - N as usize)
        .await;
    at_server.assert_quiet().await;
    at_a.assert_quiet().await;
    at_b.assert_quiet().await;
    let (up_a, up_b): (Vec<_>, Vec<_>) = up.iter().partition(|r| r.seq < B);
    assert_eq!(up_b.len(), N as usize);
    assert_eq!(seqs(&down_b), (B + 1000..B + 1000 + N).collect::<Vec<_>>());
    let up_a: Vec<u32> = up_a.iter().map(|r| r.seq).collect();
    assert_capped("up, both at once", &up_a, s3.dropped_up - s2.dropped_up);
    let down_dropped = s3.dropped_down - s2.dropped_down;
    assert_capped("down, both at once", &seqs(&down_a), down_dropped);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_override_survives_a_path_switch() {
    let (server, a, b) = (bind().await, bind().await, bind().await);
    let (a_addr, b_addr) = (a.local_addr().unwrap(), b.local_addr().unwrap());
    let proxy = UdpImpairmentProxy::start(server.local_addr().unwrap(), Impairment::default())
        .await
        .unwrap();
    let front = proxy.local_addr();
    let mut at_server = Collector::spawn(server.clone());
    let mut at_a = Collector::spawn(a.clone());
    let mut at_b = Collector::spawn(b.clone());
    let a_old = mapping(&proxy, &a, &mut at_server, 0).await;
    let b_old = mapping(&proxy, &b, &mut at_server, B).await;

    // Duplicating every datagram makes the override visible in exact counts
    // while still letting the server learn A's new mapping.
    let twice = Impairment {
        duplicate: 1.0,
        ..Default::default()
    };
    proxy.set_client_impairment(a_addr, Some(twice.clone()));
    proxy.switch_path();

    interleave(&[(&a, front, 1), (&b, front, B + 1)], N).await;
    let got = at_server.take(3 * N as usize).await;
    at_server.assert_quiet().await;
    let (got_a, got_b): (Vec<_>, Vec<_>) = got.iter().partition(|r| r.seq < B);
    let (a_new, b_new) = (got_a[0].from, got_b[0].from);
    assert!(a_new != a_old && b_new != b_old, "both moved");
    assert!(got_a.iter().all(|r| r.from == a_new));
    assert!(got_b.iter().all(|r| r.from == b_new));
    for seq in 1..=N {
        assert_eq!(got_a.iter().filter(|r| r.seq == seq).count(), 2, "A {seq}");
    }
    assert_eq!(got_b.len(), N as usize, "B's once each");
    assert_eq!(proxy.stats().duplicated, u64::from(N));

    interleave(&[(&server, a_new, 1), (&server, b_new, B + 1)], N).await;
    let got = at_a.take(2 * N as usize).await;
    for seq in 1..=N {
        assert_eq!(got.iter().filter(|r| r.seq == seq).count(), 2, "A {seq}");
    }
    assert_eq!(at_b.take(N as usize).await.len(), N as usize);
    at_a.assert_quiet().await;
    at_b.assert_quiet().await;
    let s = proxy.stats();
    assert_eq!(
        (s.duplicated, s.dropped_up, s.dropped_down),
        (2 * u64::from(N), 0, 0)
    );
    assert_eq!(proxy.clients(), [a_addr, b_addr], "no new clients");
    assert_eq!(proxy.client_impairment(a_addr), Some(twice));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_override_can_spare_one_client_of_an_impaired_proxy() {
    let (server, a, b) = (bind().await, bind().await, bind().await);
    let proxy = UdpImpairmentProxy::start(server.local_addr().unwrap(), drop_all())
        .await
        .unwrap();
    let front = proxy.local_addr();
    let mut at_server = Collector::spawn(server.clone());
    let mut at_a = Collector::spawn(a.clone());
    proxy.set_client_impairment(a.local_addr().unwrap(), Some(Impairment::default()));

    interleave(&[(&a, front, 0), (&b, front, B)], N).await;
    let got = at_server.take(N as usize).await;
    at_server.assert_quiet().await;
    assert_eq!(seqs(&got), (0..N).collect::<Vec<_>>());
    interleave(&[(&server, got[0].from, 0)], N).await;
    assert_eq!(
        seqs(&at_a.take(N as usize).await),
        (0..N).collect::<Vec<_>>()
    );
    at_a.assert_quiet().await;
    let s = settle(&proxy, 2 * u64::from(N), N.into()).await;
    assert_eq!((s.dropped_up, s.dropped_down), (N.into(), 0));
}

#[tokio::test]
async fn overrides_are_capped_at_max_clients() {
    let proxy = UdpImpairmentProxy::start("127.0.0.1:9".parse().unwrap(), Impairment::default())
        .await
        .unwrap();
    let addr = |i: usize| SocketAddr::from(([127, 0, 0, 1], 20_000 + i as u16));
    for i in 0..MAX_CLIENTS {
        proxy.set_client_impairment(addr(i), Some(drop_all()));
    }
    proxy.set_client_impairment(addr(MAX_CLIENTS), Some(drop_all()));
    assert_eq!(proxy.client_impairment(addr(MAX_CLIENTS)), None, "ignored");
    assert_eq!(proxy.client_impairment(addr(0)), Some(drop_all()));
    // Removing one makes room.
    proxy.set_client_impairment(addr(0), None);
    proxy.set_client_impairment(addr(MAX_CLIENTS), Some(drop_all()));
    assert_eq!(proxy.client_impairment(addr(MAX_CLIENTS)), Some(drop_all()));
    assert!(proxy.clients().is_empty(), "overrides alone add no clients");
}
