//! Who the client really is. Behind a reverse proxy every request comes
//! from the proxy's address, so one client's failed sign-ins would lock out
//! everyone; `X-Forwarded-For` names the client, but anyone can send it.
//! It is believed only from proxies the admin lists (`--trusted-proxies`),
//! and then only up to the first hop that is not one of them.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;

/// Addresses and networks (`10.0.0.0/8`, `::1`) whose `X-Forwarded-For` is
/// believed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrustedProxies {
    nets: Vec<(IpAddr, u8)>,
}

/// The client's address as the rest of the server sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientAddress(pub IpAddr);

impl TrustedProxies {
    /// Parses a comma-separated list; the error names the bad entry.
    pub fn parse(list: &str) -> Result<TrustedProxies, String> {
        let mut nets = Vec::new();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (ip, bits) = match entry.split_once('/') {
                Some((ip, bits)) => (ip, Some(bits)),
                None => (entry, None),
            };
            let ip: IpAddr = ip.parse().map_err(|_| format!("{entry:?} is not an IP address or network"))?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            let bits = match bits {
                Some(b) => {
                    b.parse::<u8>().ok().filter(|b| *b <= max).ok_or_else(|| format!("{entry:?}: bad prefix length"))?
                }
                None => max,
            };
            nets.push((ip, bits));
        }
        Ok(TrustedProxies { nets })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        self.nets.iter().any(|(net, bits)| in_net(ip, *net, *bits))
    }

    /// The client behind `peer`: `peer` itself unless it is trusted, else
    /// the right-most `X-Forwarded-For` hop that is not a trusted proxy.
    pub fn client(&self, peer: IpAddr, forwarded_for: &[&str]) -> IpAddr {
        if !self.contains(peer) {
            return peer;
        }
        let hops: Vec<IpAddr> =
            forwarded_for.iter().flat_map(|h| h.split(',')).filter_map(|h| h.trim().parse().ok()).collect();
        hops.into_iter().rev().find(|hop| !self.contains(*hop)).unwrap_or(peer)
    }
}

fn in_net(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let mask = if bits == 0 { 0 } else { u128::MAX << (128 - bits) };
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

/// Puts the real client's [`ClientAddress`] into every request.
pub async fn resolve(State(trusted): State<Arc<TrustedProxies>>, mut request: Request, next: Next) -> Response {
    if let Some(peer) = request.extensions().get::<ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip()) {
        let forwarded: Vec<&str> =
            request.headers().get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect();
        let client = trusted.client(peer, &forwarded);
        request.extensions_mut().insert(ClientAddress(client));
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted = TrustedProxies::parse("10.0.0.0/8, ::1").unwrap();
        assert_eq!(trusted.client(ip("203.0.113.7"), &["198.51.100.1"]), ip("203.0.113.7"), "not a proxy: its own");
        assert_eq!(trusted.client(ip("10.1.2.3"), &["198.51.100.1"]), ip("198.51.100.1"));
        // A client's own forged hops stand left of what the proxies added.
        assert_eq!(trusted.client(ip("10.1.2.3"), &["6.6.6.6, 198.51.100.1, 10.9.9.9"]), ip("198.51.100.1"));
        assert_eq!(trusted.client(ip("10.1.2.3"), &["6.6.6.6", "198.51.100.2"]), ip("198.51.100.2"));
        assert_eq!(trusted.client(ip("::1"), &[]), ip("::1"), "no header: the proxy itself");
        assert_eq!(trusted.client(ip("10.1.2.3"), &["garbage"]), ip("10.1.2.3"));
        assert!(TrustedProxies::default().client(ip("10.1.2.3"), &["1.2.3.4"]) == ip("10.1.2.3"));
    }

    #[test]
    fn bad_entries_are_named() {
        assert!(TrustedProxies::parse("10.0.0.0/33").unwrap_err().contains("10.0.0.0/33"));
        assert!(TrustedProxies::parse("proxy.local").unwrap_err().contains("proxy.local"));
        assert_eq!(TrustedProxies::parse("").unwrap(), TrustedProxies::default());
        assert!(TrustedProxies::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
    }
}
