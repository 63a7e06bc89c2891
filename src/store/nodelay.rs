//! `TCP_NODELAY` on PostgreSQL connections, which sqlx 0.9.0 no longer sets
//! (transact-rs/sqlx#4335).
//!
//! Without it, any message larger than the socket's send buffer (a 28 KB webhook body is one) goes
//! out in two writes, and Nagle's algorithm holds the second until the server's delayed ACK:
//! 40 ms per such statement. sqlx offers no hook on the socket, so after each connection is made
//! this finds this process's TCP sockets connected to the database's port and turns Nagle off on
//! those that still have it. Setting it on a socket that is not sqlx's (another client to the same
//! port) only makes that socket send small writes at once, which is harmless. Linux only (it reads
//! `/proc/self/fd`); elsewhere it does nothing. Remove once a sqlx release sets it again.

use std::str::FromStr;

/// The TCP port to look for, or `None` for a Unix-socket connection or an unparsable URL.
pub(super) fn tcp_port(url: &str) -> Option<u16> {
    let options = sqlx::postgres::PgConnectOptions::from_str(url).ok()?;
    if options.get_host().starts_with('/') || options.get_socket().is_some() {
        return None;
    }
    Some(options.get_port())
}

/// Turns Nagle off on every TCP socket of this process whose peer port is `port`. Returns how many
/// sockets it changed.
#[cfg(target_os = "linux")]
pub(super) fn apply(port: u16) -> usize {
    let Ok(entries) = std::fs::read_dir("/proc/self/fd") else {
        return 0;
    };
    entries
        .filter_map(|entry| {
            entry
                .ok()?
                .file_name()
                .to_str()?
                .parse::<libc::c_int>()
                .ok()
        })
        .filter(|&fd| peer_port(fd) == Some(port) && set_nodelay(fd))
        .count()
}

#[cfg(not(target_os = "linux"))]
pub(super) fn apply(_port: u16) -> usize {
    0
}

/// The peer's port if `fd` is a connected IPv4/IPv6 stream socket.
#[cfg(target_os = "linux")]
fn peer_port(fd: libc::c_int) -> Option<u16> {
    // SAFETY: `getpeername` writes at most `len` bytes into `storage`, which is a zeroed
    // `sockaddr_storage` of exactly that size; a descriptor that is not a socket (or was closed
    // since the directory was read) makes it fail with an error, which is handled.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    let rc = unsafe {
        libc::getpeername(
            fd,
            (&mut storage as *mut libc::sockaddr_storage).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return None;
    }
    match libc::c_int::from(storage.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a `sockaddr_in`.
            let addr = unsafe {
                &*(&storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>()
            };
            Some(u16::from_be(addr.sin_port))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says the storage holds a `sockaddr_in6`.
            let addr = unsafe {
                &*(&storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
            };
            Some(u16::from_be(addr.sin6_port))
        }
        _ => None,
    }
}

/// Sets `TCP_NODELAY` unless already set; true when it changed the socket.
#[cfg(target_os = "linux")]
fn set_nodelay(fd: libc::c_int) -> bool {
    let mut current: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: reads one `c_int` option into `current`, whose size is passed.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_NODELAY,
            (&mut current as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if rc != 0 || current != 0 {
        return false;
    }
    let on: libc::c_int = 1;
    // SAFETY: writes one `c_int` option from `on`, whose size is passed.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_NODELAY,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    rc == 0
}

#[cfg(test)]
#[path = "nodelay_tests.rs"]
mod tests;
