//! Who is calling, by network address: the one rule every rate limit counts by (intake's
//! anti-spam, the staff sign-in throttle).

use std::net::IpAddr;

use actix_web::HttpRequest;

/// The client's address: the connection's peer, or the last `X-Forwarded-For` entry (the one our
/// own reverse proxy added) when `trust_forwarded_for` (`web.trust_forwarded_for`) says a proxy
/// sets it. Earlier entries are the client's own word and are never trusted.
pub fn client_address(req: &HttpRequest, trust_forwarded_for: bool) -> Option<IpAddr> {
    if trust_forwarded_for {
        let forwarded = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .rfind(|v| !v.is_empty())
            .and_then(parse_ip);
        if forwarded.is_some() {
            return forwarded;
        }
    }
    req.peer_addr().map(|a| a.ip())
}

fn parse_ip(s: &str) -> Option<IpAddr> {
    s.parse::<IpAddr>()
        .ok()
        .or_else(|| s.parse::<std::net::SocketAddr>().ok().map(|a| a.ip()))
}

/// What an address is counted as: an IPv4 address, or the /64 of an IPv6 one (a host gets a
/// whole /64 and can change addresses inside it at will).
pub fn address_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn ipv6_counts_by_its_64_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_eq!(address_key(a), "2001:db8:1:2::/64");
        let mapped: IpAddr = "::ffff:10.1.2.3".parse().unwrap();
        assert_eq!(address_key(mapped), "10.1.2.3");
    }

    #[test]
    fn forwarded_addresses_parse_with_or_without_port() {
        assert_eq!(parse_ip("10.0.0.1"), "10.0.0.1".parse().ok());
        assert_eq!(parse_ip("10.0.0.1:5555"), "10.0.0.1".parse().ok());
        assert_eq!(parse_ip("[::1]:80"), "::1".parse().ok());
        assert_eq!(parse_ip("unknown"), None);
    }

    /// Only the proxy's own (last) entry counts, and only when a proxy is trusted to set it.
    #[test]
    fn the_last_forwarded_entry_counts_only_behind_a_trusted_proxy() {
        let req = TestRequest::default()
            .peer_addr("192.0.2.1:4000".parse().unwrap())
            .insert_header(("x-forwarded-for", "203.0.113.9, 198.51.100.7"))
            .to_http_request();
        assert_eq!(client_address(&req, false), "192.0.2.1".parse().ok());
        assert_eq!(client_address(&req, true), "198.51.100.7".parse().ok());
        let plain = TestRequest::default()
            .peer_addr("192.0.2.1:4000".parse().unwrap())
            .to_http_request();
        assert_eq!(client_address(&plain, true), "192.0.2.1".parse().ok());
    }
}
