//! The impairment proxy with real loopback UDP sockets: transparency, loss,
//! delay with jitter, recovery, duplication, the bandwidth limit, path
//! switches, the client cap and shutdown.
//!
//! Every wait is bounded by a timeout, and senders pace themselves so the
//! kernel's socket buffers never overflow (which would look like loss).

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::*;
use hotline_netsim::{Impairment, ProxyStats, UdpImpairmentProxy, HEADER_BYTES, MAX_CLIENTS};
use tokio::net::UdpSocket;
use tokio::time::{sleep, timeout};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transparent_without_impairment_and_one_mapping_per_client() {
    let (server, seen, echo) = echo_server().await;
    let proxy = UdpImpairmentProxy::start(server, Impairment::default())
        .await
        .unwrap();
    assert!(proxy.local_addr().ip().is_loopback());
    assert_eq!(proxy.upstream(), server);

    let a = bind().await;
    let b = bind().await;
    for seq in 0..1000 {
        assert!(
            round_trip(&a, proxy.local_addr(), seq).await,
            "round trip {seq} lost"
        );
    }
    assert!(round_trip(&b, proxy.local_addr(), 5000).await);
    assert!(round_trip(&a, proxy.local_addr(), 1000).await);

    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "one upstream address per client: {seen:?}");
    for addr in &seen {
        assert!(addr.ip().is_loopback());
        assert_ne!(*addr, a.local_addr().unwrap());
        assert_ne!(*addr, b.local_addr().unwrap());
        assert_ne!(*addr, proxy.local_addr());
    }
    assert_eq!(
        proxy.stats(),
        ProxyStats {
            forwarded_up: 1002,
            forwarded_down: 1002,
            ..Default::default()
        }
    );
    echo.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loss_drops_about_the_configured_fraction_each_way() {
    const N: u32 = 2000;
    let server = bind().await;
    let client = bind().await;
    let impairment = Impairment {
        loss: 0.2,
        ..Default::default()
    };
    let proxy = UdpImpairmentProxy::start_with_seed(server.local_addr().unwrap(), impairment, 7)
        .await
        .unwrap();
    let mut at_server = Collector::spawn(server.clone());
    let mut at_client = Collector::spawn(client.clone());

    // Up: client → server.
    send_paced(&client, proxy.local_addr(), 0..N, 20).await;
    let s = settle(&proxy, N.into(), 0).await;
    let up = at_server.take(s.forwarded_up as usize).await;
    at_server.assert_quiet().await;
    let fraction = up.len() as f64 / f64::from(N);
    assert!((0.74..0.86).contains(&fraction), "up delivered {fraction}");
    assert_eq!(s.forwarded_up + s.dropped_up, u64::from(N));
    let mapped = up[0].from;
    assert!(up.iter().all(|r| r.from == mapped));
    let distinct: HashSet<u32> = up.iter().map(|r| r.seq).collect();
    assert_eq!(distinct.len(), up.len(), "no duplicates");

    // Down: server → client through the client's mapping.
    send_paced(&server, mapped, 0..N, 20).await;
    let s = settle(&proxy, N.into(), N.into()).await;
    let down = at_client.take(s.forwarded_down as usize).await;
    at_client.assert_quiet().await;
    let fraction = down.len() as f64 / f64::from(N);
    assert!(
        (0.74..0.86).contains(&fraction),
        "down delivered {fraction}"
    );
    assert!(down.iter().all(|r| r.from == proxy.local_addr()));

    let s = proxy.stats();
    assert_eq!(s.forwarded_up, up.len() as u64);
    assert_eq!(s.forwarded_down, down.len() as u64);
    assert_eq!(s.dropped_up, u64::from(N) - up.len() as u64);
    assert_eq!(s.dropped_down, u64::from(N) - down.len() as u64);
    assert_eq!(s.duplicated, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delay_and_jitter_delay_every_packet_and_reorder() {
    const N: u32 = 300;
    let base = Duration::from_millis(20);
    let server = bind().await;
    let client = bind().await;
    let impairment = Impairment {
        delay_ms: 20,
        jitter_ms: 50,
        ..Default::default()
    };
    let proxy = UdpImpairmentProxy::start_with_seed(server.local_addr().unwrap(), impairment, 11)
        .await
        .unwrap();
    let mut at_server = Collector::spawn(server.clone());
    let mut at_client = Collector::spawn(client.clone());

    let check = |dir: &str, sent: &[Instant], got: &[Received]| {
        let seqs: HashSet<u32> = got.iter().map(|r| r.seq).collect();
        assert_eq!(seqs.len(), N as usize, "{dir}: every packet exactly once");
        for r in got {
            let took = r.at - sent[r.seq as usize];
            assert!(took >= base, "{dir}: packet {} took only {took:?}", r.seq);
            assert!(
                took < Duration::from_secs(2),
                "{dir}: packet {} took {took:?}",
                r.seq
            );
        }
        let reordered = got.windows(2).filter(|w| w[1].seq < w[0].seq).count();
        assert!(reordered > 0, "{dir}: jitter should reorder packets");
    };

    let sent = send_paced(&client, proxy.local_addr(), 0..N, 1).await;
    let up = at_server.take(N as usize).await;
    check("up", &sent, &up);

    let sent = send_paced(&server, up[0].from, 0..N, 1).await;
    let down = at_client.take(N as usize).await;
    check("down", &sent, &down);

    at_server.assert_quiet().await;
    at_client.assert_quiet().await;
    let s = proxy.stats();
    assert_eq!((s.forwarded_up, s.forwarded_down), (N.into(), N.into()));
    assert_eq!((s.dropped_up, s.dropped_down), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clearing_the_impairment_stops_loss() {
    let server = bind().await;
    let client = bind().await;
    let lossy = Impairment {
        loss: 0.5,
        ..Default::default()
    };
    let proxy = UdpImpairmentProxy::start_with_seed(server.local_addr().unwrap(), lossy.clone(), 3)
        .await
        .unwrap();
    assert_eq!(proxy.impairment(), lossy);
    let mut at_server = Collector::spawn(server.clone());

    send_paced(&client, proxy.local_addr(), 0..200, 20).await;
    let s = settle(&proxy, 200, 0).await;
    assert!(s.dropped_up > 50 && s.forwarded_up > 50, "{s:?}");
    at_server.take(s.forwarded_up as usize).await;

    proxy.set_impairment(Impairment::default());
    assert!(proxy.impairment().is_none());
    send_paced(&client, proxy.local_addr(), 1000..1500, 20).await;
    let got = at_server.take(500).await;
    assert!(
        got.iter().map(|r| r.seq).eq(1000..1500),
        "all 500, in order"
    );
    at_server.assert_quiet().await;
    let after = proxy.stats();
    assert_eq!(after.dropped_up, s.dropped_up);
    assert_eq!(after.forwarded_up, s.forwarded_up + 500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplication_sends_copies_and_counts_them() {
    const N: u32 = 100;
    let server = bind().await;
    let client = bind().await;
    let impairment = Impairment {
        duplicate: 1.0,
        jitter_ms: 5,
        ..Default::default()
    };
    let proxy = UdpImpairmentProxy::start_with_seed(server.local_addr().unwrap(), impairment, 5)
        .await
        .unwrap();
    let mut at_server = Collector::spawn(server.clone());
    send_paced(&client, proxy.local_addr(), 0..N, 10).await;
    let got = at_server.take(2 * N as usize).await;
    at_server.assert_quiet().await;
    for seq in 0..N {
        assert_eq!(
            got.iter().filter(|r| r.seq == seq).count(),
            2,
            "packet {seq}"
        );
    }
    let s = proxy.stats();
    assert_eq!(
        (s.forwarded_up, s.duplicated, s.dropped_up),
        (2 * u64::from(N), N.into(), 0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bandwidth_limit_paces_queues_and_drops_what_does_not_fit() {
    const N: u32 = 2000;
    const KBPS: u32 = 800;
    let server = bind().await;
    let client = bind().await;
    let impairment = Impairment {
        bandwidth_kbps: KBPS,
        queue_ms: 100,
        ..Default::default()
    };
    let proxy = UdpImpairmentProxy::start(server.local_addr().unwrap(), impairment)
        .await
        .unwrap();
    let mut at_server = Collector::spawn(server.clone());

    // Far faster than 800 kbps however loaded the machine is: the 2.6 s the
    // link needs for all of them is sent in a small fraction of that.
    let sent = send_paced(&client, proxy.local_addr(), 0..N, 20).await;
    let s = settle(&proxy, N.into(), 0).await;
    assert!(s.queue_full > 0, "the queue overflowed: {s:?}");
    assert_eq!(s.dropped_up, s.queue_full, "only the queue dropped: {s:?}");
    let got = at_server.take(s.forwarded_up as usize).await;
    at_server.assert_quiet().await;
    assert!(
        got.windows(2).all(|w| w[0].seq < w[1].seq),
        "a queue keeps the order"
    );
    // The link never goes faster than its rate: the last datagram cannot
    // arrive before the link has had time to send all of them since the
    // first was sent (a bound a slow machine cannot break: it only makes
    // delivery later).
    let per_datagram = Duration::from_nanos(
        (PAYLOAD as u64 + HEADER_BYTES) * 8 * 1_000_000_000 / (u64::from(KBPS) * 1000),
    );
    let took = got.last().unwrap().at - sent[0];
    let least = per_datagram * got.len() as u32;
    assert!(
        took >= least,
        "{} datagrams in {took:?}, faster than the link allows ({least:?})",
        got.len()
    );

    // Within the rate, nothing is lost.
    let before = proxy.stats();
    for seq in N..N + 50 {
        client
            .send_to(&packet(seq), proxy.local_addr())
            .await
            .unwrap();
        sleep(Duration::from_millis(5)).await; // 128 bytes per 5 ms: 205 kbps
    }
    let got = at_server.take(50).await;
    assert!(got.iter().map(|r| r.seq).eq(N..N + 50));
    assert_eq!(proxy.stats().queue_full, before.queue_full);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_path_switch_moves_every_client_to_a_new_address() {
    let server = bind().await;
    let client = bind().await;
    let proxy = UdpImpairmentProxy::start(server.local_addr().unwrap(), Impairment::default())
        .await
        .unwrap();
    let mut at_server = Collector::spawn(server.clone());
    let mut at_client = Collector::spawn(client.clone());

    client
        .send_to(&packet(1), proxy.local_addr())
        .await
        .unwrap();
    let old_path = at_server.take(1).await[0].from;
    proxy.switch_path();
    client
        .send_to(&packet(2), proxy.local_addr())
        .await
        .unwrap();
    let new_path = at_server.take(1).await[0].from;
    assert_ne!(new_path, old_path, "the client arrives from a new port");
    assert!(new_path.ip().is_loopback());
    assert_eq!(proxy.stats().path_switches, 1);

    // Replies to the old address are lost; the new one reaches the client.
    server.send_to(&packet(3), old_path).await.unwrap();
    at_client.assert_quiet().await;
    server.send_to(&packet(4), new_path).await.unwrap();
    let reply = at_client.take(1).await;
    assert_eq!((reply[0].seq, reply[0].from), (4, proxy.local_addr()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_mappings_are_capped() {
    let (server, seen, echo) = echo_server().await;
    let proxy = UdpImpairmentProxy::start(server, Impairment::default())
        .await
        .unwrap();
    let mut clients = Vec::new();
    for i in 0..MAX_CLIENTS as u32 {
        let c = bind().await;
        assert!(round_trip(&c, proxy.local_addr(), i).await, "client {i}");
        clients.push(c);
    }
    let extra = bind().await;
    extra
        .send_to(&packet(999), proxy.local_addr())
        .await
        .unwrap();
    let mut buf = [0u8; 2048];
    assert!(
        timeout(QUIET, extra.recv_from(&mut buf)).await.is_err(),
        "over the cap"
    );
    assert_eq!(seen.lock().unwrap().len(), MAX_CLIENTS);
    assert_eq!(proxy.stats().dropped_up, 1);
    // Existing clients still work.
    assert!(round_trip(&clients[0], proxy.local_addr(), 1234).await);
    echo.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_proxy_closes_its_sockets() {
    let (server, seen, echo) = echo_server().await;
    let proxy = UdpImpairmentProxy::start(
        server,
        Impairment {
            delay_ms: 300,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let front = proxy.local_addr();
    let client = bind().await;
    client.send_to(&packet(1), front).await.unwrap();
    // Let the proxy map the client; the datagram itself is still delayed.
    sleep(Duration::from_millis(50)).await;
    proxy.stop();

    // The front socket is released once the tasks are gone.
    let deadline = Instant::now() + WAIT;
    let rebound = loop {
        if let Ok(s) = UdpSocket::bind(front).await {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "front socket still bound after stop"
        );
        sleep(Duration::from_millis(10)).await;
    };
    drop(rebound);
    // The delayed datagram was never delivered.
    sleep(Duration::from_millis(400)).await;
    assert!(seen.lock().unwrap().is_empty());
    echo.abort();
}

#[tokio::test]
async fn only_loopback_upstreams_are_accepted() {
    let err = UdpImpairmentProxy::start("192.0.2.1:5000".parse().unwrap(), Impairment::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(
        UdpImpairmentProxy::start("[::1]:5000".parse().unwrap(), Impairment::default())
            .await
            .is_ok()
    );
}
