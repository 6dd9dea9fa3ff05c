//! SigV4 timestamps (`YYYYMMDDTHHMMSSZ`) and HTTP `Date` headers, without a time crate.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A timestamp that could not be parsed; carries the offending text and the expected format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid date {value:?}: expected {expected}")]
pub struct DateError {
    /// The text that was rejected.
    pub value: String,
    /// A description of the accepted format.
    pub expected: &'static str,
}

const AMZ_FORMAT: &str = "YYYYMMDDTHHMMSSZ (ISO 8601 basic format, UTC)";
const HTTP_FORMAT: &str = "an HTTP date such as \"Sun, 06 Nov 1994 08:49:37 GMT\"";

/// Formats `t` (truncated to whole seconds, UTC) as `YYYYMMDDTHHMMSSZ`.
pub fn format_amz_date(t: SystemTime) -> String {
    let secs = unix_seconds(t);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    if !(0..=9999).contains(&y) {
        return format!(
            "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
            rem / 3600,
            (rem / 60) % 60,
            rem % 60
        );
    }
    // Every field fits its width: digits written directly (this runs on every verification).
    let mut out = [0u8; 16];
    let digits = |out: &mut [u8], mut v: i64| {
        for slot in out.iter_mut().rev() {
            *slot = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    digits(&mut out[0..4], y);
    digits(&mut out[4..6], m as i64);
    digits(&mut out[6..8], d as i64);
    out[8] = b'T';
    digits(&mut out[9..11], rem / 3600);
    digits(&mut out[11..13], (rem / 60) % 60);
    digits(&mut out[13..15], rem % 60);
    out[15] = b'Z';
    String::from_utf8(out.to_vec()).expect("ASCII digits")
}

/// Parses exactly `YYYYMMDDTHHMMSSZ` (UTC) into a `SystemTime`; anything else is an error.
pub fn parse_amz_date(s: &str) -> Result<SystemTime, DateError> {
    let err = || DateError {
        value: s.to_owned(),
        expected: AMZ_FORMAT,
    };
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return Err(err());
    }
    let num = |r: std::ops::Range<usize>| digits(&b[r]).ok_or_else(err);
    let (y, mo, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (h, mi, sec) = (num(9..11)?, num(11..13)?, num(13..15)?);
    to_system_time(y as i64, mo, d, h, mi, sec, 0).ok_or_else(err)
}

/// Parses an HTTP `Date` header value (IMF-fixdate, or RFC 2822 with a numeric zone as
/// Python's `formatdate` writes it, e.g. `Mon, 30 Aug 2015 12:36:00 -0000`).
pub fn parse_http_date(s: &str) -> Result<SystemTime, DateError> {
    let err = || DateError {
        value: s.to_owned(),
        expected: HTTP_FORMAT,
    };
    // The day-of-week prefix carries no information; skip it when present.
    let rest = match s.split_once(',') {
        Some((_, rest)) => rest,
        None => s,
    };
    let mut parts = rest.split_ascii_whitespace();
    let mut next = || parts.next().ok_or_else(err);
    let day = next()?;
    let month = next()?;
    let year = next()?;
    let clock = next()?;
    let zone = next()?;
    if parts.next().is_some() || day.len() > 2 || year.len() != 4 {
        return Err(err());
    }
    let day = digits(day.as_bytes()).ok_or_else(err)?;
    let year = digits(year.as_bytes()).ok_or_else(err)?;
    let month = MONTHS
        .iter()
        .position(|m| m.eq_ignore_ascii_case(month))
        .ok_or_else(err)? as u32
        + 1;
    let c = clock.as_bytes();
    if c.len() != 8 || c[2] != b':' || c[5] != b':' {
        return Err(err());
    }
    let h = digits(&c[0..2]).ok_or_else(err)?;
    let mi = digits(&c[3..5]).ok_or_else(err)?;
    let sec = digits(&c[6..8]).ok_or_else(err)?;
    let offset = zone_offset_secs(zone).ok_or_else(err)?;
    to_system_time(year as i64, month, day, h, mi, sec, offset).ok_or_else(err)
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Seconds east of UTC for `GMT`/`UTC`/`UT`/`Z` or `±HHMM`.
fn zone_offset_secs(zone: &str) -> Option<i64> {
    if ["GMT", "UTC", "UT", "Z"]
        .iter()
        .any(|z| z.eq_ignore_ascii_case(zone))
    {
        return Some(0);
    }
    let b = zone.as_bytes();
    if b.len() != 5 {
        return None;
    }
    let sign = match b[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let hh = digits(&b[1..3])? as i64;
    let mm = digits(&b[3..5])? as i64;
    if hh > 23 || mm > 59 {
        return None;
    }
    Some(sign * (hh * 3600 + mm * 60))
}

/// Parses a run of ASCII digits (at most 9, so it fits a `u32`).
fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || b.len() > 9 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0, |acc, &d| acc * 10 + u32::from(d - b'0')))
}

/// Validates the civil fields and converts a local time at `offset` seconds east of UTC.
fn to_system_time(
    y: i64,
    mo: u32,
    d: u32,
    h: u32,
    mi: u32,
    s: u32,
    offset: i64,
) -> Option<SystemTime> {
    if !(1..=12).contains(&mo) || d == 0 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 59
    {
        return None;
    }
    let secs = days_from_civil(y, mo, d) * 86_400 + i64::from(h * 3600 + mi * 60 + s) - offset;
    Some(from_unix_seconds(secs))
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Whole seconds since the Unix epoch, negative before it (floored).
pub(crate) fn unix_seconds(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => {
            let d = e.duration();
            let whole = d.as_secs() as i64;
            if d.subsec_nanos() > 0 {
                -whole - 1
            } else {
                -whole
            }
        }
    }
}

pub(crate) fn from_unix_seconds(secs: i64) -> SystemTime {
    if secs >= 0 {
        UNIX_EPOCH + Duration::from_secs(secs as u64)
    } else {
        UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
    }
}

/// The year of `t` (UTC).
pub(crate) fn year_of(t: SystemTime) -> i64 {
    civil_from_days(unix_seconds(t).div_euclid(86_400)).0
}

// Days <-> civil date in the proleptic Gregorian calendar (H. Hinnant's algorithms).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> SystemTime {
        from_unix_seconds(secs)
    }

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_amz_date(at(0)), "19700101T000000Z");
        // 2015-08-30T12:36:00Z, the conformance vectors' signing time.
        assert_eq!(format_amz_date(at(1_440_938_160)), "20150830T123600Z");
        assert_eq!(format_amz_date(at(951_782_400)), "20000229T000000Z");
        assert_eq!(format_amz_date(at(-1)), "19691231T235959Z");
        assert_eq!(format_amz_date(at(253_402_300_799)), "99991231T235959Z");
    }

    #[test]
    fn sub_second_precision_is_truncated() {
        let t = at(1_440_938_160) + Duration::from_millis(999);
        assert_eq!(format_amz_date(t), "20150830T123600Z");
    }

    #[test]
    fn parse_round_trips_over_a_wide_range() {
        // Every ~37 hours across 1970..2100, plus both sides of each leap day.
        let mut s = 0i64;
        while s < 4_102_444_800 {
            let t = at(s);
            assert_eq!(parse_amz_date(&format_amz_date(t)).unwrap(), t, "{s}");
            s += 133_337;
        }
    }

    #[test]
    fn parse_rejects_malformed_or_impossible_dates() {
        for bad in [
            "",
            "20150830T123600",
            "20150830 123600Z",
            "2015083OT123600Z",
            "20151330T123600Z",
            "20150230T123600Z",
            "20190229T000000Z",
            "20150830T243600Z",
            "20150830T126000Z",
            "20150830T123660Z",
            "+0150830T123600Z",
            "20150830T123600z",
        ] {
            let e = parse_amz_date(bad).unwrap_err();
            assert_eq!(e.value, bad);
        }
        assert!(parse_amz_date("20200229T000000Z").is_ok());
    }

    #[test]
    fn parses_http_dates() {
        let want = at(1_440_938_160);
        for s in [
            "Sun, 30 Aug 2015 12:36:00 GMT",
            "Sun, 30 Aug 2015 12:36:00 -0000",
            "Sun, 30 Aug 2015 12:36:00 +0000",
            "30 aug 2015 12:36:00 UTC",
            "Sun, 30 Aug 2015 14:36:00 +0200",
            "Sun, 30 Aug 2015 07:36:00 -0500",
        ] {
            assert_eq!(parse_http_date(s).unwrap(), want, "{s}");
        }
        // The old AWS suite's Date header.
        assert_eq!(
            format_amz_date(parse_http_date("Mon, 09 Sep 2011 23:36:00 GMT").unwrap()),
            "20110909T233600Z"
        );
        for bad in [
            "",
            "Sun, 30 Aug 2015 12:36:00",
            "Sun, 30 Foo 2015 12:36:00 GMT",
            "Sun, 31 Sep 2015 12:36:00 GMT",
            "Sun, 30 Aug 15 12:36:00 GMT",
            "Sun, 30 Aug 2015 12:36 GMT",
            "Sun, 30 Aug 2015 12:36:00 GMT extra",
            "Sun, 30 Aug 2015 12:36:00 +2400",
            "20150830T123600Z",
        ] {
            assert!(parse_http_date(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn year_of_reports_utc_year() {
        assert_eq!(year_of(at(0)), 1970);
        assert_eq!(year_of(at(-1)), 1969);
        assert_eq!(year_of(at(1_440_938_160)), 2015);
    }
}
