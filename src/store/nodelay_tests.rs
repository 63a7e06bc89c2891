use super::*;

#[test]
fn tcp_port_reads_the_url_and_skips_unix_sockets() {
    assert_eq!(tcp_port("postgres://u:p@127.0.0.1:6543/db"), Some(6543));
    assert_eq!(tcp_port("postgres://u@localhost/db"), Some(5432));
    assert_eq!(tcp_port("postgres:///db?host=/var/run/postgresql"), None);
    assert_eq!(tcp_port("not a url"), None);
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn nagle_is_turned_off_on_sockets_to_the_port_and_only_those() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let other = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let to_db = tokio::net::TcpStream::connect(listener.local_addr().expect("addr"))
        .await
        .expect("connect");
    let elsewhere = tokio::net::TcpStream::connect(other.local_addr().expect("addr"))
        .await
        .expect("connect");
    assert!(!to_db.nodelay().expect("read"), "Nagle is on by default");

    assert_eq!(apply(port), 1, "exactly the one socket to the port changes");
    assert!(to_db.nodelay().expect("read"));
    assert!(
        !elsewhere.nodelay().expect("read"),
        "other peers are left alone"
    );
    assert_eq!(apply(port), 0, "already set: nothing to change");
}
