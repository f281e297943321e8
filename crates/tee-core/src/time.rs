//! Verification time as an explicit input.

use core::fmt;

use serde::{Deserialize, Serialize};

/// Seconds since the Unix epoch (UTC). Verification always takes one of
/// these explicitly so results are reproducible.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UnixTime(u64);

impl UnixTime {
    /// From seconds since the epoch.
    pub const fn from_secs(secs: u64) -> Self {
        Self(secs)
    }

    /// Seconds since the epoch.
    pub const fn as_secs(self) -> u64 {
        self.0
    }

    /// The current system time (clamped to the epoch if the clock is before it).
    pub fn now() -> Self {
        Self(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        )
    }

    /// Parse an RFC 3339 UTC timestamp such as `2025-07-01T00:00:00Z`
    /// (fractional seconds and numeric offsets accepted).
    ///
    /// # Errors
    /// [`crate::Error::Malformed`] if the text is not such a timestamp.
    pub fn parse_rfc3339(s: &str) -> crate::Result<Self> {
        let bad = |d: &str| crate::Error::encoding("RFC 3339 timestamp", d);
        let b = s.trim().as_bytes();
        if b.len() < 20 {
            return Err(bad("too short (expected e.g. 2025-07-01T00:00:00Z)"));
        }
        let num = |r: core::ops::Range<usize>| -> crate::Result<i64> {
            let t = core::str::from_utf8(&b[r]).map_err(|_| bad("not ASCII"))?;
            if !t.bytes().all(|c| c.is_ascii_digit()) {
                return Err(bad("expected digits"));
            }
            t.parse::<i64>().map_err(|_| bad("bad number"))
        };
        if b[4] != b'-'
            || b[7] != b'-'
            || !matches!(b[10], b'T' | b't' | b' ')
            || b[13] != b':'
            || b[16] != b':'
        {
            return Err(bad("expected YYYY-MM-DDTHH:MM:SS"));
        }
        let (y, mo, d, h, mi, se) = (
            num(0..4)?,
            num(5..7)?,
            num(8..10)?,
            num(11..13)?,
            num(14..16)?,
            num(17..19)?,
        );
        if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
            return Err(bad("field out of range"));
        }
        let mut i = 19;
        if b.get(i) == Some(&b'.') {
            i += 1;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
        let offset = match b.get(i) {
            Some(b'Z' | b'z') if i + 1 == b.len() => 0,
            Some(sign @ (b'+' | b'-')) if i + 6 == b.len() && b[i + 3] == b':' => {
                let oh = num(i + 1..i + 3)?;
                let om = num(i + 4..i + 6)?;
                let o = oh * 3600 + om * 60;
                if *sign == b'+' { o } else { -o }
            }
            _ => return Err(bad("expected Z or +HH:MM offset at the end")),
        };
        let days = days_from_civil(y, mo, d);
        let secs = days * 86_400 + h * 3600 + mi * 60 + se - offset;
        u64::try_from(secs)
            .map(Self)
            .map_err(|_| bad("before 1970"))
    }
}

/// Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

impl fmt::Display for UnixTime {
    /// RFC 3339 UTC, e.g. `2025-07-01T00:00:00Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = i64::try_from(self.0).unwrap_or(i64::MAX / 2);
        let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
        let r = secs.rem_euclid(86_400);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
            r / 3600,
            r / 60 % 60,
            r % 60
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trip() {
        for s in [
            "1970-01-01T00:00:00Z",
            "2025-07-19T10:00:35Z",
            "2000-02-29T23:59:59Z",
            "2049-12-31T23:59:59Z",
        ] {
            let t = UnixTime::parse_rfc3339(s).unwrap();
            assert_eq!(t.to_string(), s);
        }
        assert_eq!(
            UnixTime::parse_rfc3339("2025-07-01T00:00:00Z")
                .unwrap()
                .as_secs(),
            1_751_328_000
        );
        assert_eq!(
            UnixTime::parse_rfc3339("2025-07-01T02:00:00.123+02:00")
                .unwrap()
                .as_secs(),
            1_751_328_000
        );
    }

    #[test]
    fn rfc3339_rejects_garbage() {
        for s in [
            "",
            "2025-07-01",
            "2025-13-01T00:00:00Z",
            "2025-07-01T00:00:00",
            "x025-07-01T00:00:00Z",
            "1969-12-31T23:59:59Z",
        ] {
            assert!(UnixTime::parse_rfc3339(s).is_err(), "{s}");
        }
    }
}
