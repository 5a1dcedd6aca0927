//! Many datagrams per system call: `sendmmsg` and `recvmmsg` on Linux, a
//! loop of `sendto`/`recvfrom` elsewhere. A worker forwards one publisher
//! packet to K subscribers, so what it sends each round is a burst to many
//! destinations, which one `sendmmsg` carries.

use std::io;
use std::net::{SocketAddr, UdpSocket};

/// Most datagrams handed to the kernel in one call.
pub const BATCH: usize = 64;

/// What one send round did.
#[derive(Default, Debug, PartialEq, Eq)]
pub struct Sent {
    /// Datagrams the kernel took.
    pub datagrams: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Datagrams dropped: the socket's buffer was full, or the kernel
    /// refused that destination.
    pub dropped: u64,
    /// System calls made.
    pub calls: u64,
}

/// Send every `(destination, contents)` of `packets` without blocking; what
/// the socket cannot take now is dropped.
pub fn send_all<'a>(
    sock: &UdpSocket,
    packets: impl ExactSizeIterator<Item = (SocketAddr, &'a [u8])>,
) -> Sent {
    imp::send_all(sock, packets)
}

/// Read up to [`BATCH`] datagrams that are waiting, without blocking, into
/// `bufs`; calls `each(source, contents)` for each. Returns how many were read.
pub fn recv_some(
    sock: &UdpSocket,
    bufs: &mut RecvBuffers,
    each: &mut dyn FnMut(SocketAddr, &[u8]),
) -> usize {
    imp::recv_some(sock, bufs, each)
}

/// Room for [`BATCH`] datagrams of up to 2048 bytes (the largest the SFU takes).
pub struct RecvBuffers {
    data: Vec<[u8; 2048]>,
}

impl Default for RecvBuffers {
    fn default() -> Self {
        RecvBuffers {
            data: vec![[0u8; 2048]; BATCH],
        }
    }
}

#[cfg(target_os = "linux")]
mod imp {
    use std::mem::{size_of, zeroed};
    use std::os::fd::AsRawFd;

    use socket2::SockAddr;

    use super::*;

    pub fn send_all<'a>(
        sock: &UdpSocket,
        packets: impl ExactSizeIterator<Item = (SocketAddr, &'a [u8])>,
    ) -> Sent {
        let mut sent = Sent::default();
        let mut addrs: Vec<SockAddr> = Vec::with_capacity(BATCH);
        let mut lens: Vec<usize> = Vec::with_capacity(BATCH);
        let mut iovs: Vec<libc::iovec> = Vec::with_capacity(BATCH);
        let mut packets = packets.peekable();
        while packets.peek().is_some() {
            addrs.clear();
            lens.clear();
            iovs.clear();
            for (dst, data) in packets.by_ref().take(BATCH) {
                addrs.push(SockAddr::from(dst));
                lens.push(data.len());
                iovs.push(libc::iovec {
                    iov_base: data.as_ptr() as *mut libc::c_void,
                    iov_len: data.len(),
                });
            }
            // SAFETY: an all-zero mmsghdr is valid (no control data, no flags).
            let mut msgs: Vec<libc::mmsghdr> =
                (0..iovs.len()).map(|_| unsafe { zeroed() }).collect();
            for (i, m) in msgs.iter_mut().enumerate() {
                m.msg_hdr.msg_name = addrs[i].as_ptr() as *mut libc::c_void;
                m.msg_hdr.msg_namelen = addrs[i].len();
                m.msg_hdr.msg_iov = &mut iovs[i];
                m.msg_hdr.msg_iovlen = 1;
            }
            let mut at = 0;
            while at < msgs.len() {
                sent.calls += 1;
                // SAFETY: msgs[at..] point at addrs, iovs and the packets'
                // contents, all alive until this call returns.
                let n = unsafe {
                    libc::sendmmsg(
                        sock.as_raw_fd(),
                        msgs[at..].as_mut_ptr(),
                        (msgs.len() - at) as libc::c_uint,
                        libc::MSG_DONTWAIT,
                    )
                };
                if n > 0 {
                    let n = n as usize;
                    sent.datagrams += n as u64;
                    sent.bytes += lens[at..at + n].iter().sum::<usize>() as u64;
                    at += n;
                    continue;
                }
                let err = io::Error::last_os_error();
                match err.kind() {
                    io::ErrorKind::Interrupted => continue,
                    // The buffer is full: the rest of this round waits for
                    // nothing, as a single send would not.
                    io::ErrorKind::WouldBlock => {
                        let rest = (msgs.len() - at) as u64 + packets.len() as u64;
                        sent.dropped += rest;
                        return sent;
                    }
                    // This destination is refused (unreachable, say): skip it.
                    _ => {
                        sent.dropped += 1;
                        at += 1;
                    }
                }
            }
        }
        sent
    }

    /// The IPv4 or IPv6 address the kernel wrote into `name`.
    fn socket_addr(name: &libc::sockaddr_storage) -> Option<SocketAddr> {
        use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
        match i32::from(name.ss_family) {
            libc::AF_INET => {
                // SAFETY: the family says the storage holds a sockaddr_in.
                let a = unsafe { &*(name as *const _ as *const libc::sockaddr_in) };
                let ip = Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr));
                Some(SocketAddrV4::new(ip, u16::from_be(a.sin_port)).into())
            }
            libc::AF_INET6 => {
                // SAFETY: the family says the storage holds a sockaddr_in6.
                let a = unsafe { &*(name as *const _ as *const libc::sockaddr_in6) };
                let ip = Ipv6Addr::from(a.sin6_addr.s6_addr);
                let port = u16::from_be(a.sin6_port);
                Some(SocketAddrV6::new(ip, port, a.sin6_flowinfo, a.sin6_scope_id).into())
            }
            _ => None,
        }
    }

    pub fn recv_some(
        sock: &UdpSocket,
        bufs: &mut RecvBuffers,
        each: &mut dyn FnMut(SocketAddr, &[u8]),
    ) -> usize {
        // SAFETY: all-zero sockaddr_storage and mmsghdr are valid.
        let mut names: [libc::sockaddr_storage; BATCH] = unsafe { zeroed() };
        let mut iovs: Vec<libc::iovec> = bufs
            .data
            .iter_mut()
            .map(|b| libc::iovec {
                iov_base: b.as_mut_ptr() as *mut libc::c_void,
                iov_len: b.len(),
            })
            .collect();
        let mut msgs: [libc::mmsghdr; BATCH] = unsafe { zeroed() };
        for (i, m) in msgs.iter_mut().enumerate() {
            m.msg_hdr.msg_name = &mut names[i] as *mut _ as *mut libc::c_void;
            m.msg_hdr.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            m.msg_hdr.msg_iov = &mut iovs[i];
            m.msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: every header points at a live name and buffer of the sizes given.
        let n = unsafe {
            libc::recvmmsg(
                sock.as_raw_fd(),
                msgs.as_mut_ptr(),
                BATCH as libc::c_uint,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if n <= 0 {
            return 0;
        }
        let n = n as usize;
        for (i, m) in msgs[..n].iter().enumerate() {
            // Truncated datagrams (longer than the buffer) are not the SFU's.
            if m.msg_hdr.msg_flags & libc::MSG_TRUNC != 0 {
                continue;
            }
            if let Some(src) = socket_addr(&names[i]) {
                each(src, &bufs.data[i][..m.msg_len as usize]);
            }
        }
        n
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    pub use super::one_by_one::{recv_some, send_all};
}

/// One system call per datagram: where there is no `sendmmsg`, and for
/// comparison (`sfu_batch_io = false`).
pub mod one_by_one {
    use super::*;

    /// As [`super::send_all`], one `sendto` per datagram.
    pub fn send_all<'a>(
        sock: &UdpSocket,
        packets: impl ExactSizeIterator<Item = (SocketAddr, &'a [u8])>,
    ) -> Sent {
        let mut sent = Sent::default();
        for (dst, data) in packets {
            sent.calls += 1;
            match sock.send_to(data, dst) {
                Ok(_) => {
                    sent.datagrams += 1;
                    sent.bytes += data.len() as u64;
                }
                Err(_) => sent.dropped += 1,
            }
        }
        sent
    }

    /// As [`super::recv_some`], one `recvfrom` per datagram.
    pub fn recv_some(
        sock: &UdpSocket,
        bufs: &mut RecvBuffers,
        each: &mut dyn FnMut(SocketAddr, &[u8]),
    ) -> usize {
        let mut n = 0;
        while n < BATCH {
            let Ok((len, src)) = sock.recv_from(&mut bufs.data[0]) else {
                break;
            };
            each(src, &bufs.data[0][..len]);
            n += 1;
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn socket() -> UdpSocket {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        s.set_nonblocking(true).unwrap();
        s
    }

    /// Read everything waiting on `s`, allowing the kernel a moment to deliver.
    fn drain(s: &UdpSocket, bufs: &mut RecvBuffers, want: usize) -> Vec<(SocketAddr, Vec<u8>)> {
        let mut got = vec![];
        for _ in 0..200 {
            recv_some(s, bufs, &mut |src, data| got.push((src, data.to_vec())));
            if got.len() >= want {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        got
    }

    #[test]
    fn a_batch_to_several_destinations_arrives_whole_and_in_order() {
        let from = socket();
        let (a, b) = (socket(), socket());
        let payloads: Vec<Vec<u8>> = (0..150u16)
            .map(|i| i.to_be_bytes().repeat(100 + usize::from(i)))
            .collect();
        let packets = payloads.iter().enumerate().map(|(i, p)| {
            let to = if i % 3 == 0 { &a } else { &b };
            (to.local_addr().unwrap(), p.as_slice())
        });
        let sent = send_all(&from, packets.collect::<Vec<_>>().into_iter());
        assert_eq!(sent.datagrams, 150, "more than two batches");
        #[cfg(target_os = "linux")]
        assert_eq!(sent.calls, 3, "one call per batch of {BATCH}");
        assert_eq!(sent.dropped, 0);
        assert_eq!(
            sent.bytes,
            payloads.iter().map(|p| p.len() as u64).sum::<u64>()
        );
        let mut bufs = RecvBuffers::default();
        let at_a = drain(&a, &mut bufs, 50);
        let at_b = drain(&b, &mut bufs, 100);
        assert_eq!(at_a.len(), 50);
        assert_eq!(at_b.len(), 100);
        assert!(at_a
            .iter()
            .all(|(src, _)| *src == from.local_addr().unwrap()));
        let expected_a: Vec<&Vec<u8>> = payloads.iter().step_by(3).collect();
        assert_eq!(at_a.iter().map(|(_, d)| d).collect::<Vec<_>>(), expected_a);
    }

    #[test]
    fn one_call_per_datagram_sends_and_reads_the_same() {
        let (from, to) = (socket(), socket());
        let packets: Vec<(SocketAddr, &[u8])> = vec![
            (to.local_addr().unwrap(), b"one"),
            (to.local_addr().unwrap(), b"two"),
        ];
        let sent = one_by_one::send_all(&from, packets.into_iter());
        assert_eq!((sent.datagrams, sent.bytes, sent.calls), (2, 6, 2));
        let mut got = vec![];
        for _ in 0..200 {
            one_by_one::recv_some(&to, &mut RecvBuffers::default(), &mut |src, d| {
                got.push((src, d.to_vec()))
            });
            if got.len() == 2 {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let from_addr = from.local_addr().unwrap();
        assert_eq!(
            got,
            [(from_addr, b"one".to_vec()), (from_addr, b"two".to_vec())]
        );
    }

    #[test]
    fn a_refused_destination_costs_only_its_own_datagram() {
        let from = socket();
        let to = socket();
        let v6: SocketAddr = "[::1]:9".parse().unwrap(); // an IPv4 socket cannot send here
        let packets = vec![(v6, &b"lost"[..]), (to.local_addr().unwrap(), &b"kept"[..])];
        let sent = send_all(&from, packets.into_iter());
        assert_eq!((sent.datagrams, sent.dropped), (1, 1));
        let got = drain(&to, &mut RecvBuffers::default(), 1);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].1, b"kept");
    }

    #[test]
    fn an_oversized_datagram_is_skipped_and_the_rest_read() {
        let from = socket();
        let to = socket();
        from.send_to(&[1u8; 3000], to.local_addr().unwrap())
            .unwrap();
        from.send_to(b"fits", to.local_addr().unwrap()).unwrap();
        let got = drain(&to, &mut RecvBuffers::default(), 1);
        assert_eq!(
            got.iter().map(|(_, d)| d.as_slice()).collect::<Vec<_>>(),
            [b"fits"]
        );
    }
}
