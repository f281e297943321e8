//! A minimal DER writer: definite lengths, primitive values, SEQUENCE/SET.

use const_oid::ObjectIdentifier;

/// A DER TLV: `tag`, definite (minimal) length, `content`.
pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = content.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes = n.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        let len = bytes.get(skip..).unwrap_or_default();
        out.push(0x80 | len.len() as u8);
        out.extend_from_slice(len);
    }
    out.extend_from_slice(content);
    out
}

/// A SEQUENCE of already-encoded parts (borrowed).
pub fn seq(parts: &[&[u8]]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

/// A SEQUENCE of already-encoded parts (owned).
pub fn seq_of(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

/// An OBJECT IDENTIFIER.
pub fn oid_of(o: &ObjectIdentifier) -> Vec<u8> {
    tlv(0x06, o.as_bytes())
}

/// An OBJECT IDENTIFIER from dotted text.
///
/// # Panics
/// If `dotted` is not a valid OID (a broken test, never an input).
#[allow(clippy::panic)]
pub fn oid(dotted: &str) -> Vec<u8> {
    match ObjectIdentifier::new(dotted) {
        Ok(o) => oid_of(&o),
        Err(e) => panic!("test OID {dotted}: {e}"),
    }
}

/// A non-negative INTEGER, minimally encoded.
pub fn int(v: u64) -> Vec<u8> {
    let b = v.to_be_bytes();
    let skip = b.iter().take_while(|x| **x == 0).count().min(7);
    let mut c = b.get(skip..).unwrap_or_default().to_vec();
    if c.first().is_some_and(|x| x & 0x80 != 0) {
        c.insert(0, 0);
    }
    tlv(0x02, &c)
}

/// An OCTET STRING.
pub fn octets(b: &[u8]) -> Vec<u8> {
    tlv(0x04, b)
}

/// A BIT STRING with no unused bits.
pub fn bits(b: &[u8]) -> Vec<u8> {
    let mut c = vec![0];
    c.extend_from_slice(b);
    tlv(0x03, &c)
}

/// A UTF8String.
pub fn utf8(s: &str) -> Vec<u8> {
    tlv(0x0C, s.as_bytes())
}

/// A Name: one RDN (a SET of one attribute, UTF8String value) per
/// `(dotted OID, value)`, in order.
pub fn name(rdns: &[(&str, &str)]) -> Vec<u8> {
    let sets: Vec<Vec<u8>> = rdns
        .iter()
        .map(|(o, v)| tlv(0x31, &seq(&[&oid(o), &utf8(v)])))
        .collect();
    seq_of(&sets)
}

/// A UTCTime from its text (`YYMMDDHHMMSSZ`), unchecked so tests can write
/// malformed times.
pub fn utc_text(s: &str) -> Vec<u8> {
    tlv(0x17, s.as_bytes())
}

/// A UTCTime for `secs` since the Unix epoch (years 1950..=2049).
pub fn utc_secs(secs: u64) -> Vec<u8> {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    utc_text(&format!(
        "{:02}{m:02}{d:02}{:02}{:02}{:02}Z",
        y % 100,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    ))
}

/// An X.509 extension (non-critical): OID and OCTET STRING value.
pub fn ext(dotted: &str, value: &[u8]) -> Vec<u8> {
    seq(&[&oid(dotted), &octets(value)])
}

// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_and_integers() {
        assert_eq!(tlv(4, &[1, 2]), [4, 2, 1, 2]);
        assert_eq!(tlv(4, &[0; 0x80])[..3], [4, 0x81, 0x80]);
        assert_eq!(tlv(4, &[0; 0x100])[..4], [4, 0x82, 1, 0]);
        assert_eq!(int(0), [2, 1, 0]);
        assert_eq!(int(0x80), [2, 2, 0, 0x80]);
        assert_eq!(int(0x1234), [2, 2, 0x12, 0x34]);
        assert_eq!(oid("2.5.4.3"), [6, 3, 0x55, 4, 3]);
    }

    #[test]
    fn utc_times() {
        assert_eq!(utc_secs(0), utc_text("700101000000Z"));
        assert_eq!(utc_secs(1_700_000_000), utc_text("231114221320Z"));
        assert_eq!(utc_secs(2_200_000_000), utc_text("390918230640Z"));
        assert_eq!(utc_secs(951_782_400), utc_text("000229000000Z"));
    }
}
