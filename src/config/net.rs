//! Network addresses as the settings write them: receive connector bindings (`IP:port`), remote
//! IP ranges (a single address, `a-b`, or CIDR `a/n`, as Set-ReceiveConnector accepts) and smart
//! hosts (`host[:port]`, `[IPv6]:port`).

use std::cmp::Ordering;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// An inclusive range of IP addresses of one family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IpRange {
    pub first: IpAddr,
    pub last: IpAddr,
}

impl IpRange {
    /// Parses `192.0.2.7`, `192.0.2.1-192.0.2.99`, `192.0.2.0/24`, `::1`, `2001:db8::/32`.
    pub fn parse(text: &str) -> Result<IpRange, String> {
        let t = text.trim();
        let bad = |why: &str| format!("'{text}' is not an IP range: {why}");
        if let Some((addr, prefix)) = t.split_once('/') {
            let addr: IpAddr = addr
                .trim()
                .parse()
                .map_err(|_| bad("the part before / is not an IP address"))?;
            let prefix: u8 = prefix
                .trim()
                .parse()
                .map_err(|_| bad("the prefix length after / is not a number"))?;
            return match addr {
                IpAddr::V4(a) if prefix <= 32 => {
                    let mask = if prefix == 0 {
                        0
                    } else {
                        u32::MAX << (32 - prefix)
                    };
                    let base = u32::from(a) & mask;
                    Ok(IpRange {
                        first: IpAddr::V4(Ipv4Addr::from(base)),
                        last: IpAddr::V4(Ipv4Addr::from(base | !mask)),
                    })
                }
                IpAddr::V6(a) if prefix <= 128 => {
                    let mask = if prefix == 0 {
                        0
                    } else {
                        u128::MAX << (128 - prefix)
                    };
                    let base = u128::from(a) & mask;
                    Ok(IpRange {
                        first: IpAddr::V6(Ipv6Addr::from(base)),
                        last: IpAddr::V6(Ipv6Addr::from(base | !mask)),
                    })
                }
                _ => Err(bad("the prefix length is too large for the address family")),
            };
        }
        if let Some((a, b)) = t.split_once('-') {
            let first: IpAddr = a
                .trim()
                .parse()
                .map_err(|_| bad("the start of the range is not an IP address"))?;
            let last: IpAddr = b
                .trim()
                .parse()
                .map_err(|_| bad("the end of the range is not an IP address"))?;
            if first.is_ipv4() != last.is_ipv4() {
                return Err(bad("both ends must be IPv4 or both IPv6"));
            }
            if cmp_ip(&first, &last) == Ordering::Greater {
                return Err(bad("the start is after the end"));
            }
            return Ok(IpRange { first, last });
        }
        let one: IpAddr = t
            .parse()
            .map_err(|_| bad("write a single address, a range a-b, or CIDR a/n"))?;
        Ok(IpRange {
            first: one,
            last: one,
        })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        ip.is_ipv4() == self.first.is_ipv4()
            && cmp_ip(&self.first, &ip) != Ordering::Greater
            && cmp_ip(&ip, &self.last) != Ordering::Greater
    }

    /// Number of addresses minus one, as a measure of how specific the range is (smaller is
    /// more specific). IPv4 ranges are scaled into the IPv6 space so both compare.
    pub fn span(&self) -> u128 {
        match (self.first, self.last) {
            (IpAddr::V4(a), IpAddr::V4(b)) => u128::from(u32::from(b) - u32::from(a)) << 96,
            (IpAddr::V6(a), IpAddr::V6(b)) => u128::from(b) - u128::from(a),
            _ => u128::MAX,
        }
    }

    pub fn overlaps(&self, other: &IpRange) -> bool {
        self.first.is_ipv4() == other.first.is_ipv4()
            && cmp_ip(&self.first, &other.last) != Ordering::Greater
            && cmp_ip(&other.first, &self.last) != Ordering::Greater
    }
}

impl fmt::Display for IpRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}-{}", self.first, self.last)
        }
    }
}

/// An IPv4-mapped IPv6 address (`::ffff:1.2.3.4`) is treated as the IPv4 address it carries.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => ip,
        },
        v4 => v4,
    }
}

fn cmp_ip(a: &IpAddr, b: &IpAddr) -> Ordering {
    match (a, b) {
        (IpAddr::V4(x), IpAddr::V4(y)) => x.cmp(y),
        (IpAddr::V6(x), IpAddr::V6(y)) => x.cmp(y),
        (IpAddr::V4(_), IpAddr::V6(_)) => Ordering::Less,
        (IpAddr::V6(_), IpAddr::V4(_)) => Ordering::Greater,
    }
}

/// Parses a receive connector binding `IP:port` (`0.0.0.0:25`, `[::]:25`, `127.0.0.1:2525`).
pub fn parse_binding(text: &str) -> Result<SocketAddr, String> {
    text.trim().parse::<SocketAddr>().map_err(|_| {
        format!("'{text}' is not a binding: write IP:port, for example 0.0.0.0:25 or [::1]:2525")
    })
}

/// Parses a DNS server: an IP address, with `:port` when it is not 53 (`192.0.2.53`,
/// `127.0.0.1:5353`, `2001:db8::53`, `[2001:db8::53]:5353`).
pub fn parse_dns_server(text: &str) -> Result<SocketAddr, String> {
    let t = text.trim();
    if let Ok(ip) = t.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, 53));
    }
    t.parse::<SocketAddr>().map_err(|_| {
        format!(
            "'{text}' is not a DNS server: write an IP address, with :port when it is not 53, for example 192.0.2.53 or 127.0.0.1:5353"
        )
    })
}

/// A smart host: a name or address and a port.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SmartHost {
    pub host: String,
    pub port: u16,
}

impl SmartHost {
    /// Parses `mail.contoso.com`, `mail.contoso.com:2525`, `192.0.2.5:25`, `[2001:db8::5]:25`;
    /// `default_port` applies when none is written.
    pub fn parse(text: &str, default_port: u16) -> Result<SmartHost, String> {
        let t = text.trim();
        let bad = |why: &str| format!("'{text}' is not a smart host: {why}");
        if t.is_empty() {
            return Err(bad("it is empty"));
        }
        if let Some(rest) = t.strip_prefix('[') {
            let (addr, after) = rest
                .split_once(']')
                .ok_or_else(|| bad("a '[' without its ']'"))?;
            let ip: Ipv6Addr = addr
                .parse()
                .map_err(|_| bad("the address in brackets is not IPv6"))?;
            let port = match after.strip_prefix(':') {
                Some(p) => parse_port(p).map_err(|w| bad(&w))?,
                None if after.is_empty() => default_port,
                None => return Err(bad("unexpected text after ']'")),
            };
            return Ok(SmartHost {
                host: ip.to_string(),
                port,
            });
        }
        if let Ok(ip) = t.parse::<Ipv6Addr>() {
            return Ok(SmartHost {
                host: ip.to_string(),
                port: default_port,
            });
        }
        let (host, port) = match t.rsplit_once(':') {
            Some((h, p)) => (h, parse_port(p).map_err(|w| bad(&w))?),
            None => (t, default_port),
        };
        if host.parse::<Ipv4Addr>().is_ok() {
            return Ok(SmartHost {
                host: host.to_string(),
                port,
            });
        }
        let name = super::domain::normalize(host).map_err(|e| bad(&e.why))?;
        Ok(SmartHost { host: name, port })
    }
}

impl fmt::Display for SmartHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

fn parse_port(p: &str) -> Result<u16, String> {
    match p.trim().parse::<u16>() {
        Ok(0) | Err(_) => Err(format!("'{p}' is not a port number (1-65535)")),
        Ok(n) => Ok(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ranges_parse_in_all_three_forms() {
        let r = IpRange::parse("192.0.2.0/24").unwrap();
        assert!(r.contains(ip("192.0.2.255")) && !r.contains(ip("192.0.3.0")));
        let r = IpRange::parse("10.0.0.5-10.0.0.9").unwrap();
        assert!(r.contains(ip("10.0.0.7")) && !r.contains(ip("10.0.0.10")));
        let r = IpRange::parse("127.0.0.1").unwrap();
        assert!(r.contains(ip("127.0.0.1")) && r.contains(ip("::ffff:127.0.0.1")));
        let r = IpRange::parse("::/0").unwrap();
        assert!(r.contains(ip("::1")) && !r.contains(ip("127.0.0.1")));
        assert!(IpRange::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        assert!(
            IpRange::parse("10.0.0.1/32").unwrap().span()
                < IpRange::parse("10.0.0.0/8").unwrap().span()
        );
    }

    #[test]
    fn bad_ranges_say_why() {
        for (text, why) in [
            ("10.0.0.9-10.0.0.1", "after the end"),
            ("10.0.0.1-::1", "both ends"),
            ("10.0.0.0/33", "too large"),
            ("ten", "single address"),
            ("10.0.0.0/x", "prefix length"),
        ] {
            let e = IpRange::parse(text).unwrap_err();
            assert!(e.contains(why), "{text}: {e}");
        }
    }

    #[test]
    fn bindings_and_smart_hosts_parse() {
        assert_eq!(parse_binding("127.0.0.1:2525").unwrap().port(), 2525);
        assert!(parse_binding("[::1]:25").is_ok());
        assert!(parse_binding("localhost:25").is_err());
        assert!(parse_binding("127.0.0.1").is_err());
        let h = SmartHost::parse("Mail.Contoso.com:2626", 25).unwrap();
        assert_eq!((h.host.as_str(), h.port), ("mail.contoso.com", 2626));
        assert_eq!(SmartHost::parse("192.0.2.1", 25).unwrap().port, 25);
        assert_eq!(
            SmartHost::parse("[::1]:587", 25).unwrap().to_string(),
            "[::1]:587"
        );
        assert!(SmartHost::parse("host:0", 25).is_err());
        assert!(SmartHost::parse("bad host:25", 25).is_err());
        assert!(SmartHost::parse("", 25).is_err());
    }
}
