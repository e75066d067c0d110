//! Where SecCom may call out to (webhooks, device command pushes): public
//! addresses only, so a client's webhook or a device's endpoint can never turn
//! SecCom's functions against loopback, the Lambda runtime API, cloud metadata,
//! or a private network. The address is checked when a URL is saved (IP
//! literals in any spelling, and `localhost`) and again when it is called
//! (every address its name resolves to: see `seccom-outbound`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::values::http_url;

/// Set only in the local stack, whose simulators listen on 127.0.0.1: calls to
/// private and loopback addresses are allowed. Never set it in AWS.
pub const OUTBOUND_ALLOW_PRIVATE: &str = "OUTBOUND_ALLOW_PRIVATE";

/// Which addresses outbound calls may reach.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Destinations {
    /// Loopback and private networks allowed (the local stack only).
    pub allow_private: bool,
}

fn refused_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    Some(match () {
        _ if ip.is_unspecified() || a == 0 => "an unspecified address",
        _ if ip.is_loopback() => "a loopback address",
        _ if ip.is_private() => "a private address",
        _ if ip.is_link_local() => "a link-local address (cloud metadata lives there)",
        _ if a == 100 && (64..128).contains(&b) => "a shared (carrier-grade NAT) address",
        _ if ip.is_multicast() || ip.is_broadcast() || a >= 240 => "a multicast or reserved address",
        _ if a == 192 && b == 0 && ip.octets()[2] == 0 => "an IETF protocol address",
        _ if a == 198 && (18..20).contains(&b) => "a benchmarking address",
        _ => return None,
    })
}

fn refused_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return refused_v4(v4);
    }
    let segments = ip.segments();
    // NAT64 (64:ff9b::/96) and IPv4-compatible (::a.b.c.d) addresses embed an IPv4 one.
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0]
        || (segments[..6] == [0; 6] && !ip.is_loopback() && !ip.is_unspecified())
    {
        let [.., c, d] = segments;
        return refused_v4(Ipv4Addr::new((c >> 8) as u8, c as u8, (d >> 8) as u8, d as u8));
    }
    Some(match segments[0] {
        _ if ip.is_unspecified() => "an unspecified address",
        _ if ip.is_loopback() => "a loopback address",
        first if first & 0xfe00 == 0xfc00 => "a unique-local (private) address",
        first if first & 0xffc0 == 0xfe80 => "a link-local address",
        first if first & 0xff00 == 0xff00 => "a multicast address",
        0x2002 => "a 6to4 address",
        _ => return None,
    })
}

impl Destinations {
    /// Why `ip` may not be called, if it may not.
    pub fn refuses(&self, ip: IpAddr) -> Option<&'static str> {
        if self.allow_private {
            return None;
        }
        match ip {
            IpAddr::V4(v4) => refused_v4(v4),
            IpAddr::V6(v6) => refused_v6(v6),
        }
    }

    /// Accepts an absolute http(s) URL without credentials whose host is not
    /// an address SecCom may not call (IP literals in any spelling; `localhost`).
    pub fn url(&self, raw: &str) -> Result<String, String> {
        let url = http_url(raw)?;
        let parsed = url::Url::parse(&url).map_err(|_| "must be an absolute http(s) URL".to_owned())?;
        let refused = match parsed.host() {
            Some(url::Host::Ipv4(ip)) => self.refuses(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => self.refuses(IpAddr::V6(ip)),
            Some(url::Host::Domain(name)) if !self.allow_private => {
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                (name == "localhost" || name.ends_with(".localhost") || name.ends_with(".internal"))
                    .then_some("a local name")
            }
            _ => None,
        };
        match refused {
            Some(why) => Err(format!("must be a public address, not {why}")),
            None => Ok(url),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_an_inward_address_is_refused() {
        let public = Destinations::default();
        for inward in [
            "http://127.0.0.1:9001/2018-06-01/runtime/invocation/next",
            "http://169.254.169.254/latest/meta-data/",
            "http://0x7f000001/",
            "http://2130706433/",
            "http://0177.0.0.1/",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:a9fe:a9fe]/",
            "http://[fd00:ec2::254]/",
            "http://[fe80::1]/",
            "http://[64:ff9b::a00:1]/",
            "http://localhost:8080/",
            "http://api.localhost/",
            "http://10.0.0.1/",
            "http://172.16.5.4/",
            "http://192.168.1.1/",
            "http://100.64.0.1/",
            "http://0.0.0.0/",
            "http://224.0.0.1/",
            "http://metadata.google.internal/",
        ] {
            assert!(public.url(inward).is_err(), "{inward} accepted");
        }
    }

    #[test]
    fn public_addresses_pass_and_the_local_stack_may_call_loopback() {
        let public = Destinations::default();
        for outward in [
            "https://hooks.example.com/seccom",
            "http://93.184.216.34:8443/x",
            "https://[2606:4700::1]/",
        ] {
            assert!(public.url(outward).is_ok(), "{outward} refused");
        }
        let local = Destinations { allow_private: true };
        assert!(local.url("http://127.0.0.1:4100/commands").is_ok());
    }
}
