//! The networks a consumer may call from (`allowed_networks` in the registry), in CIDR
//! notation as `ipnet` reads it, plus the two rules of our own: a bare address is a /32 or
//! /128, and an IPv4 client on a dual-stack socket (`::ffff:10.1.2.3`) matches IPv4
//! networks.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;

/// An IP network in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`); a bare address is a /32
/// or /128. IPv4-mapped IPv6 client addresses (`::ffff:10.1.2.3`) match IPv4 networks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNetwork(IpNet);

impl IpNetwork {
    pub fn contains(&self, address: IpAddr) -> bool {
        // A dual-stack listener reports IPv4 clients as IPv4-mapped IPv6 addresses.
        let address = match address {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
            v4 => v4,
        };
        self.0.contains(&address)
    }
}

impl FromStr for IpNetwork {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let network = match text.contains('/') {
            true => text.parse::<IpNet>().ok(),
            false => text.parse::<IpAddr>().ok().map(IpNet::from),
        };
        network
            .map(IpNetwork)
            .ok_or_else(|| format!("{text:?} is not an IP network like \"10.0.0.0/8\""))
    }
}

impl fmt::Display for IpNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_parse_and_match_v4_v6_and_mapped_addresses() {
        let net: IpNetwork = "10.0.0.0/8".parse().unwrap();
        assert!(net.contains("10.200.1.2".parse().unwrap()));
        assert!(net.contains("::ffff:10.1.2.3".parse().unwrap()));
        assert!(!net.contains("11.0.0.1".parse().unwrap()));
        let host: IpNetwork = "127.0.0.1".parse().unwrap();
        assert_eq!(host.to_string(), "127.0.0.1/32");
        assert!(!host.contains("127.0.0.2".parse().unwrap()));
        let v6: IpNetwork = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains("2001:db8:1::5".parse().unwrap()) && !v6.contains("2001:db9::1".parse().unwrap()));
        assert!("0.0.0.0/0".parse::<IpNetwork>().unwrap().contains("8.8.8.8".parse().unwrap()));
        for bad in ["10.0.0.0/33", "10.0.0/8", "any", "::/129", ""] {
            assert!(bad.parse::<IpNetwork>().is_err(), "{bad}");
        }
    }
}
