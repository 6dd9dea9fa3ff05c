//! `--duration`: how long the temporary credentials awsid asks STS for should last.

use std::fmt;
use std::str::FromStr;

/// The shortest session STS issues (15 minutes).
pub(crate) const MIN_SECS: i64 = 900;
/// The longest session STS issues (`GetSessionToken` for an IAM user: 36 hours).
pub(crate) const MAX_SECS: i64 = 129_600;

/// A session duration in whole seconds, 15 minutes to 36 hours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SessionDuration(i64);

impl SessionDuration {
    /// The duration in seconds.
    pub(crate) fn secs(self) -> i64 {
        self.0
    }
}

impl FromStr for SessionDuration {
    type Err = String;

    /// `3600`, `3600s`, `90m`, `1h`, `1h30m`, `2h15m30s`: units `h`, `m`, `s`, each at most
    /// once and in that order; a bare number is seconds.
    fn from_str(text: &str) -> Result<SessionDuration, String> {
        let bad = || {
            format!(
                "{text:?} is not a duration: use seconds (3600) or units h, m, s (1h, 90m, 1h30m)"
            )
        };
        let t = text.trim();
        if t.is_empty() {
            return Err(bad());
        }
        let secs = if t.bytes().all(|b| b.is_ascii_digit()) {
            t.parse::<i64>().map_err(|_| bad())?
        } else {
            let mut total: i64 = 0;
            let mut number = String::new();
            let mut last_unit = 0usize;
            for c in t.chars() {
                if c.is_ascii_digit() {
                    number.push(c);
                    continue;
                }
                let (rank, factor) = match c {
                    'h' => (1, 3600),
                    'm' => (2, 60),
                    's' => (3, 1),
                    _ => return Err(bad()),
                };
                if number.is_empty() || rank <= last_unit {
                    return Err(bad());
                }
                let n: i64 = number.parse().map_err(|_| bad())?;
                total = n
                    .checked_mul(factor)
                    .and_then(|v| total.checked_add(v))
                    .ok_or_else(bad)?;
                number.clear();
                last_unit = rank;
            }
            if !number.is_empty() {
                return Err(bad());
            }
            total
        };
        if !(MIN_SECS..=MAX_SECS).contains(&secs) {
            return Err(format!(
                "{text:?} is {secs} seconds; STS issues sessions of 15 minutes (900) to 36 hours \
                 ({MAX_SECS})"
            ));
        }
        Ok(SessionDuration(secs))
    }
}

impl fmt::Display for SessionDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}s", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_seconds_and_units() {
        for (text, secs) in [
            ("3600", 3600),
            ("900s", 900),
            ("90m", 5400),
            ("1h", 3600),
            ("1h30m", 5400),
            ("2h15m30s", 8130),
            ("36h", 129_600),
            (" 12h ", 43_200),
        ] {
            assert_eq!(
                text.parse::<SessionDuration>().unwrap().secs(),
                secs,
                "{text}"
            );
        }
    }

    #[test]
    fn refuses_what_sts_would_and_nonsense() {
        for text in [
            "", "h", "1x", "1m1h", "1h1h", "10", "899", "37h", "-1h", "1.5h", "5m",
        ] {
            assert!(text.parse::<SessionDuration>().is_err(), "{text}");
        }
        let e = "10m".parse::<SessionDuration>().unwrap_err();
        assert!(e.contains("600 seconds") && e.contains("15 minutes"), "{e}");
        let e = "soon".parse::<SessionDuration>().unwrap_err();
        assert!(e.contains("not a duration"), "{e}");
    }
}
