//! Timestamps as the reference reads and writes them: ISO-8601 with `Z`, `+00:00` or `UTC`,
//! Python `isoformat()` output, and the `YYYY-MM-DDTHH:MM:SSZ` wire form.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// Why a timestamp could not be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    /// Not a date at all (dateutil's wording).
    #[error("Unknown string format: {0}")]
    Unknown(String),
    /// A date without a zone; the reference fails comparing it with the current time.
    #[error("timestamp {0} has no time zone")]
    Naive(String),
}

/// The current time, UTC.
pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// Parses an expiry the way the reference accepts it: RFC 3339 (`Z` or numeric offset, optional
/// fraction, `T` or space), a `UTC`/`GMT` suffix, or a `+HHMM` offset. A zone is required.
/// Fractions finer than a microsecond are truncated, as dateutil's parser does (`_parsems`:
/// the first six digits), so what is read is what Python's `isoformat()` writes back.
pub fn parse(text: &str) -> Result<OffsetDateTime, TimeError> {
    parse_exact(text).map(|t| {
        t.replace_nanosecond(t.nanosecond() / 1_000 * 1_000)
            .expect("a whole number of microseconds is a valid nanosecond")
    })
}

fn parse_exact(text: &str) -> Result<OffsetDateTime, TimeError> {
    // dateutil skips leading dashes and blanks (`-2099-01-01T04:00:00Z` is 2099; checked with
    // botocore 1.43.11's `parse_timestamp`), where the `time` crate would read a negative year
    // and write it back in a form nobody reads (found by the cache_entry fuzz target).
    let s = text
        .trim()
        .trim_start_matches(|c: char| c == '-' || c.is_whitespace());
    // The written offset is kept (Python's isoformat() prints it back).
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Ok(t);
    }
    let s = s.replacen(' ', "T", 1);
    if let Ok(t) = OffsetDateTime::parse(&s, &Rfc3339) {
        return Ok(t);
    }
    for suffix in ["UTC", "GMT", "Z"] {
        if let Some(base) = s.strip_suffix(suffix) {
            let base = base.trim_end();
            if let Some(t) = parse_naive(base) {
                return Ok(t.assume_utc());
            }
        }
    }
    // `+0000` style offsets. The split point must fall between characters: an expiry from a
    // corrupt cache file may end in any text (found by the cache_entry fuzz target).
    if s.len() > 5 && s.is_char_boundary(s.len() - 5) {
        let (base, off) = s.split_at(s.len() - 5);
        let sign = match off.as_bytes()[0] {
            b'+' => Some(1),
            b'-' => Some(-1),
            _ => None,
        };
        // A sign is one ASCII byte, so `off[1..]` starts on a character boundary only then.
        let hhmm = sign.and_then(|_| off[1..].parse::<i32>().ok());
        if let (Some(sign), Some(hhmm)) = (sign, hhmm) {
            if let (Some(t), Ok(offset)) = (
                parse_naive(base),
                UtcOffset::from_whole_seconds(sign * ((hhmm / 100) * 3600 + (hhmm % 100) * 60)),
            ) {
                return Ok(t.assume_offset(offset));
            }
        }
    }
    if parse_naive(&s).is_some() {
        return Err(TimeError::Naive(text.to_string()));
    }
    Err(TimeError::Unknown(text.to_string()))
}

fn parse_naive(s: &str) -> Option<PrimitiveDateTime> {
    // No signed years (the `time` crate reads them; dateutil refuses `+2099-…`).
    if !s.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let with_frac =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond]");
    let plain = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    PrimitiveDateTime::parse(s, &with_frac)
        .or_else(|_| PrimitiveDateTime::parse(s, &plain))
        .ok()
}

/// Python `datetime.isoformat()`: `2026-11-23T07:48:59+00:00` (the time's own offset), with
/// `.ffffff` when there are microseconds.
pub fn format_iso(t: OffsetDateTime) -> String {
    let micros = t.microsecond();
    let off = t.offset();
    let (h, m, _) = off.as_hms();
    let sign = if off.is_negative() { '-' } else { '+' };
    let zone = format!("{sign}{:02}:{:02}", h.unsigned_abs(), m.unsigned_abs());
    let base = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    if micros == 0 {
        format!("{base}{zone}")
    } else {
        format!("{base}.{micros:06}{zone}")
    }
}

/// The wire form `YYYY-MM-DDTHH:MM:SSZ` (fraction dropped).
pub fn format_z(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_finer_than_a_microsecond_are_truncated_as_dateutil_does() {
        // Regression (fuzz/regressions/cache_entry/expiration-seven-digit-fraction): a written
        // entry (microseconds) read back differently from the 7-digit fraction it came from.
        for text in [
            "2099-01-01T00:00:00.7123456+00:00",
            "2099-01-01T00:00:00.712345999Z",
            "2099-01-01 00:00:00.7123459 UTC",
        ] {
            let t = parse(text).unwrap();
            assert_eq!(t.nanosecond(), 712_345_000, "{text}");
            assert_eq!(parse(&format_iso(t)).unwrap(), t, "{text}");
        }
        assert_eq!(
            parse("2099-01-01T00:00:00.5Z").unwrap().nanosecond(),
            500_000_000
        );
    }

    #[test]
    fn leading_dashes_are_skipped_as_dateutil_does() {
        // Regression (fuzz/regressions/cache_entry/expiration-negative-year): `-2099` was read
        // as a negative year, written as `-2099-01-01T04:00:00+00:00` and not read back.
        // botocore's parse_timestamp reads each of these as 2099-01-01T04:00:00Z.
        let want = parse("2099-01-01T04:00:00Z").unwrap();
        for text in [
            "-2099-01-01T04:00:00Z",
            "--2099-01-01T04:00:00Z",
            "- 2099-01-01T04:00:00Z",
            "-2099-01-01T04:00:00+00:00",
            "-2099-01-01T04:00:00+0000",
            "-2099-01-01 04:00:00 UTC",
        ] {
            assert_eq!(parse(text).unwrap(), want, "{text}");
            assert_eq!(parse(&format_iso(want)).unwrap(), want, "{text}");
        }
        // ... and refuses a plus sign.
        assert!(matches!(
            parse("+2099-01-01T04:00:00Z"),
            Err(TimeError::Unknown(_))
        ));
    }

    #[test]
    fn non_ascii_near_the_end_is_an_error_not_a_panic() {
        // Regression (fuzz/regressions/cache_entry/): the `+0000` offset split cut a character.
        for text in [
            "2099-01-01T00:00:00DDD\u{17b}DDDD",
            "-41T00:10:00.1299-01-46+00:002099-01-41T00:10:00.1299-01-46+00:00DDD\u{17b}DDDD",
            "\u{17b}\u{17b}\u{17b}",
            // The five bytes before the end start on a boundary but with a two-byte character
            // where the sign would be (fuzz/regressions/cache_entry/expiration-non-ascii-offset).
            "-929101T00:00:0:0C\u{42c}UTC",
        ] {
            assert!(parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn parses_the_three_cache_forms() {
        let want = parse("2026-11-23T07:48:59Z").unwrap();
        assert_eq!(parse("2026-11-23T07:48:59+00:00").unwrap(), want);
        assert_eq!(parse("2026-11-23T07:48:59UTC").unwrap(), want);
        assert_eq!(parse("2026-11-23 07:48:59 UTC").unwrap(), want);
        assert_eq!(parse("2026-11-23T09:48:59+02:00").unwrap(), want);
        assert_eq!(parse("2026-11-23T09:48:59+0200").unwrap(), want);
        assert_eq!(want.unix_timestamp(), 1795420139);
    }

    #[test]
    fn rejects_garbage_and_naive() {
        assert_eq!(
            parse("garbage").unwrap_err().to_string(),
            "Unknown string format: garbage"
        );
        assert!(matches!(
            parse("2099-01-01T00:00:00"),
            Err(TimeError::Naive(_))
        ));
    }

    #[test]
    fn formats_like_python() {
        let t = parse("2026-11-23T07:48:59Z").unwrap();
        assert_eq!(format_iso(t), "2026-11-23T07:48:59+00:00");
        assert_eq!(format_z(t), "2026-11-23T07:48:59Z");
        let t = parse("2026-11-23T07:48:59.250Z").unwrap();
        assert_eq!(format_iso(t), "2026-11-23T07:48:59.250000+00:00");
        let t = parse("2099-01-01T00:00:00+02:00").unwrap();
        assert_eq!(format_iso(t), "2099-01-01T00:00:00+02:00");
        assert_eq!(format_z(t), "2098-12-31T22:00:00Z");
        assert_eq!(
            format_iso(parse("2026-11-23T07:48:59UTC").unwrap()),
            "2026-11-23T07:48:59+00:00"
        );
    }
}
