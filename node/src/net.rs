//! Outgoing connections between nodes leave from the node's own address, not
//! whatever the kernel picks (on loopback that is always 127.0.0.1): a peer
//! sees who connects, and a firewall rule between two addresses (the fault
//! harness's partitions) cuts exactly the traffic between those two nodes.

use std::net::{IpAddr, SocketAddr};

use tokio::net::{TcpSocket, TcpStream};

/// Connects to `to` from `local` (any port). When `local` cannot be bound
/// (not an address of this machine, say behind NAT) the kernel chooses.
pub async fn connect_from(local: IpAddr, to: SocketAddr) -> std::io::Result<TcpStream> {
    if !local.is_unspecified() && local.is_ipv4() == to.is_ipv4() {
        let socket = if local.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        if socket.bind(SocketAddr::new(local, 0)).is_ok() {
            return socket.connect(to).await;
        }
    }
    TcpStream::connect(to).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_connection_leaves_from_the_given_address() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let to = listener.local_addr().unwrap();
        let from: IpAddr = "127.0.0.7".parse().unwrap();
        let (_client, accepted) = tokio::join!(connect_from(from, to), listener.accept());
        assert_eq!(accepted.unwrap().1.ip(), from);
    }
}
