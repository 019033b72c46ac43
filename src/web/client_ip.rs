//! Which client a request comes from, for throttling. Behind a reverse proxy every
//! request arrives from the proxy, so the address the proxy says it forwarded for is
//! believed, but only from the proxies listed in `ICSAT_TRUSTED_PROXIES`: anyone else
//! could write any address into those headers.

use std::net::IpAddr;

use actix_web::HttpRequest;
use ipnet::IpNet;

/// The client of `req`: the TCP peer, or, when the peer is a trusted proxy, the
/// rightmost address of the forwarding chain that is not itself a trusted proxy
/// (addresses to the left of it were written by the client and prove nothing).
pub fn client(req: &HttpRequest, trusted: &[IpNet]) -> IpAddr {
    let peer = req
        .peer_addr()
        .map(|a| a.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]));
    if !is_trusted(peer, trusted) {
        return peer;
    }
    // X-Forwarded-For first: the header nginx, Caddy, HAProxy and Traefik set. A proxy
    // passes headers it does not set through unchanged, so reading `Forwarded` while the
    // proxy writes X-Forwarded-For would believe whatever the client wrote there.
    let x_forwarded: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .collect();
    let chain = if x_forwarded.is_empty() {
        let forwarded: Vec<&str> = req
            .headers()
            .get_all("forwarded")
            .filter_map(|v| v.to_str().ok())
            .collect();
        forwarded_for(&forwarded)
    } else {
        x_forwarded_for(&x_forwarded)
    };
    rightmost_untrusted(peer, chain, trusted)
}

fn is_trusted(address: IpAddr, trusted: &[IpNet]) -> bool {
    let address = canonical(address);
    trusted.iter().any(|net| net.contains(&address))
}

/// IPv4 addresses seen through an IPv6 socket (`::ffff:a.b.c.d`) as IPv4.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

/// Walks the chain from the right; the first address that is not a trusted proxy is
/// the client. A part that does not parse ends the walk at the last address believed.
fn rightmost_untrusted(peer: IpAddr, chain: Vec<Option<IpAddr>>, trusted: &[IpNet]) -> IpAddr {
    let mut client = canonical(peer);
    for hop in chain.into_iter().rev() {
        let Some(hop) = hop else { return client };
        client = canonical(hop);
        if !is_trusted(client, trusted) {
            return client;
        }
    }
    client
}

/// `X-Forwarded-For: client, proxy1, proxy2` (several headers read as one list).
fn x_forwarded_for(values: &[&str]) -> Vec<Option<IpAddr>> {
    values
        .iter()
        .flat_map(|v| v.split(','))
        .map(|part| parse_address(part.trim()))
        .collect()
}

/// `Forwarded: for=192.0.2.1;proto=https, for="[2001:db8::1]:4711"` (RFC 7239); an
/// element without `for=` counts as unparseable.
fn forwarded_for(values: &[&str]) -> Vec<Option<IpAddr>> {
    values
        .iter()
        .flat_map(|v| v.split(','))
        .map(|element| {
            element.split(';').find_map(|pair| {
                let (name, value) = pair.split_once('=')?;
                name.trim()
                    .eq_ignore_ascii_case("for")
                    .then(|| parse_address(value.trim().trim_matches('"')))?
            })
        })
        .collect()
}

/// `1.2.3.4`, `1.2.3.4:80`, `2001:db8::1`, `[2001:db8::1]`, `[2001:db8::1]:80`.
fn parse_address(text: &str) -> Option<IpAddr> {
    if let Ok(address) = text.parse::<IpAddr>() {
        return Some(address);
    }
    if let Some(rest) = text.strip_prefix('[') {
        let (inside, _) = rest.split_once(']')?;
        return inside.parse().ok();
    }
    let (host, port) = text.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

/// Parses `ICSAT_TRUSTED_PROXIES`: comma-separated CIDRs or single addresses.
pub fn parse_trusted(text: &str) -> Result<Vec<IpNet>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| {
            part.parse::<IpNet>()
                .or_else(|_| part.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    format!("{part:?} is not an address or CIDR; write e.g. 10.0.0.0/8,127.0.0.1")
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn request(peer: &str, headers: &[(&str, &str)]) -> HttpRequest {
        let mut req = TestRequest::default().peer_addr(format!("{peer}:5000").parse().unwrap());
        for &(name, value) in headers {
            req = req.append_header((name, value));
        }
        req.to_http_request()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn headers_count_only_from_trusted_proxies() {
        let trusted = parse_trusted("10.0.0.0/8, 192.168.1.1").unwrap();
        let spoof = [("x-forwarded-for", "203.0.113.9")];
        // From an untrusted peer, its own address, whatever it writes.
        assert_eq!(
            client(&request("198.51.100.7", &spoof), &trusted),
            ip("198.51.100.7")
        );
        // Through a trusted proxy, the address it forwarded for.
        assert_eq!(
            client(&request("10.1.2.3", &spoof), &trusted),
            ip("203.0.113.9")
        );
        // The rightmost untrusted address: what the client wrote to the left is ignored.
        let chained = [("x-forwarded-for", "1.1.1.1, 203.0.113.9, 192.168.1.1")];
        assert_eq!(
            client(&request("10.1.2.3", &chained), &trusted),
            ip("203.0.113.9")
        );
        // Nobody trusted: headers are ignored.
        assert_eq!(client(&request("10.1.2.3", &spoof), &[]), ip("10.1.2.3"));
        // No header from a trusted proxy: the proxy itself.
        assert_eq!(client(&request("10.1.2.3", &[]), &trusted), ip("10.1.2.3"));
    }

    #[test]
    fn forwarded_header_and_malformed_values() {
        let trusted = parse_trusted("10.0.0.0/8").unwrap();
        let rfc = [(
            "forwarded",
            "for=1.1.1.1, for=\"[2001:db8::7]:4711\";proto=https",
        )];
        assert_eq!(
            client(&request("10.0.0.1", &rfc), &trusted),
            ip("2001:db8::7")
        );
        let with_port = [("forwarded", "for=203.0.113.9:8080")];
        assert_eq!(
            client(&request("10.0.0.1", &with_port), &trusted),
            ip("203.0.113.9")
        );
        // Garbage at the right end: the proxy is the client.
        let garbage = [("x-forwarded-for", "1.1.1.1, not-an-ip")];
        assert_eq!(
            client(&request("10.0.0.1", &garbage), &trusted),
            ip("10.0.0.1")
        );
        let unknown = [("forwarded", "for=unknown")];
        assert_eq!(
            client(&request("10.0.0.1", &unknown), &trusted),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn the_setting_says_what_to_write() {
        assert_eq!(parse_trusted("").unwrap(), vec![]);
        assert_eq!(parse_trusted("::1,127.0.0.1/32").unwrap().len(), 2);
        let err = parse_trusted("10.0.0.0/8,proxy.local").unwrap_err();
        assert!(err.contains("\"proxy.local\""), "{err}");
    }
}
