//! UDP sockets with room to absorb a descheduled reader.

use std::io;
use std::net::SocketAddr;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;

/// Receive and send buffer size asked of the kernel (it caps the size at
/// `net.core.rmem_max` / `wmem_max`).
pub const SOCKET_BUFFER_BYTES: usize = 4 << 20;

/// A UDP socket bound to `addr` with [`SOCKET_BUFFER_BYTES`] buffers. With
/// the default buffers (about 200 KiB, a few hundred small datagrams) a task
/// descheduled for ten milliseconds on a loaded machine turns into loss that
/// no impairment asked for. Must be called inside a Tokio runtime.
pub fn bind_udp(addr: SocketAddr) -> io::Result<UdpSocket> {
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    // Best effort: a smaller buffer than asked still works, as before.
    let _ = socket.set_recv_buffer_size(SOCKET_BUFFER_BYTES);
    let _ = socket.set_send_buffer_size(SOCKET_BUFFER_BYTES);
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    UdpSocket::from_std(socket.into())
}
