//! Human-friendly durations for the command line: `90s`, `15m`, `1h`, `2d`, or plain seconds.

use std::time::Duration;

/// Why a duration did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid duration {text:?}: expected a positive number with s, m, h or d (e.g. 90s, 15m, 1h, 2d)"
)]
pub struct BadDuration {
    pub text: String,
}

/// Parse `<n>[s|m|h|d]` (no unit means seconds). Zero and overflow are errors.
pub fn parse_duration(text: &str) -> Result<Duration, BadDuration> {
    let bad = || BadDuration {
        text: text.to_owned(),
    };
    let t = text.trim();
    let (num, unit) = match t.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => t.split_at(i),
        None => (t, "s"),
    };
    let n: u64 = num.parse().map_err(|_| bad())?;
    let scale = match unit {
        "s" | "sec" | "secs" => 1,
        "m" | "min" | "mins" => 60,
        "h" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86_400,
        _ => return Err(bad()),
    };
    let secs = n.checked_mul(scale).filter(|s| *s > 0).ok_or_else(bad)?;
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        let s = |t| parse_duration(t).map(|d| d.as_secs());
        assert_eq!(s("90s"), Ok(90));
        assert_eq!(s("15m"), Ok(900));
        assert_eq!(s("1h"), Ok(3600));
        assert_eq!(s("2d"), Ok(172_800));
        assert_eq!(s("45"), Ok(45));
        assert_eq!(s(" 3hours "), Ok(10_800));
    }

    #[test]
    fn rejects_garbage_zero_and_overflow() {
        for t in [
            "",
            "h",
            "0",
            "0m",
            "1w",
            "-5s",
            "1.5h",
            "1h30m",
            "99999999999999999999d",
        ] {
            assert!(parse_duration(t).is_err(), "{t:?} should not parse");
        }
        assert!(parse_duration(&format!("{}d", u64::MAX / 86_400 + 1)).is_err());
    }
}
