//! Durations and sizes written the way DM (Go) writes them: `"1m30s"`, `"500m"`, `"64"`.

use std::time::Duration;

/// Parses a Go duration (`time.ParseDuration`): a sequence of decimal numbers with units
/// `ns`, `us` (or `µs`), `ms`, `s`, `m`, `h`, e.g. `"60s"`, `"1h30m"`, `"1.5s"`; `"0"` alone
/// is zero. Negative durations are refused.
pub fn parse_go_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let bad = |why: &str| format!("invalid duration `{t}`: {why}");
    if t.is_empty() {
        return Err(bad("empty"));
    }
    let t = t.strip_prefix('+').unwrap_or(t);
    if let Some(negative) = t.strip_prefix('-') {
        if negative.trim_start_matches(['0', '.']).is_empty() {
            return Ok(Duration::ZERO);
        }
        return Err(bad("negative"));
    }
    if t == "0" {
        return Ok(Duration::ZERO);
    }
    let mut total_nanos: f64 = 0.0;
    let mut rest = t;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return Err(bad("expected a number"));
        }
        let number: f64 = rest[..num_len]
            .parse()
            .map_err(|_| bad("expected a number"))?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let scale = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => return Err(bad("missing unit (ns, us, ms, s, m, h)")),
            _ => return Err(bad("unknown unit (ns, us, ms, s, m, h)")),
        };
        total_nanos += number * scale;
    }
    if !total_nanos.is_finite() || total_nanos > u64::MAX as f64 {
        return Err(bad("too large"));
    }
    Ok(Duration::from_nanos(total_nanos as u64))
}

/// Parses a byte size like Docker's `RAMInBytes` (used by DM for `max-pending-row-size`
/// and Lightning's `disk-quota`): a number with an optional unit `b`, `k`, `m`, `g`, `t`,
/// `p` (optionally followed by `b` or `ib`), case-insensitive, binary multiples.
/// A bare number is `bare_unit` bytes (1 for most settings, 1 MiB for `chunk-filesize`).
pub fn parse_byte_size(text: &str, bare_unit: u64) -> Result<u64, String> {
    let t = text.trim();
    let bad =
        || format!("invalid size `{t}`: expected a number with an optional unit (k, m, g, t, p)");
    let num_len = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    if num_len == 0 {
        return Err(bad());
    }
    let number: f64 = t[..num_len].parse().map_err(|_| bad())?;
    let unit = t[num_len..].trim().to_ascii_lowercase();
    let scale: f64 = match unit.as_str() {
        "" => bare_unit as f64,
        "b" => 1.0,
        "k" | "kb" | "kib" => 1024.0,
        "m" | "mb" | "mib" => 1024.0 * 1024.0,
        "g" | "gb" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tb" | "tib" => 1024f64.powi(4),
        "p" | "pb" | "pib" => 1024f64.powi(5),
        _ => return Err(bad()),
    };
    let bytes = number * scale;
    if !bytes.is_finite() || bytes > u64::MAX as f64 {
        return Err(bad());
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("60s").unwrap(), Duration::from_secs(60));
        assert_eq!(parse_go_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(
            parse_go_duration("1.5h").unwrap(),
            Duration::from_secs(5400)
        );
        assert_eq!(parse_go_duration("0s").unwrap(), Duration::ZERO);
        assert_eq!(parse_go_duration("0").unwrap(), Duration::ZERO);
        assert_eq!(
            parse_go_duration("250ms").unwrap(),
            Duration::from_millis(250)
        );
        assert!(parse_go_duration("60").is_err());
        assert!(parse_go_duration("5x").is_err());
        assert!(parse_go_duration("").is_err());
        assert!(parse_go_duration("-1s").is_err());
    }

    #[test]
    fn byte_sizes() {
        assert_eq!(parse_byte_size("500m", 1).unwrap(), 500 * 1024 * 1024);
        assert_eq!(parse_byte_size("64", 1 << 20).unwrap(), 64 << 20);
        assert_eq!(parse_byte_size("1GiB", 1).unwrap(), 1 << 30);
        assert_eq!(parse_byte_size("0", 1).unwrap(), 0);
        assert!(parse_byte_size("lots", 1).is_err());
        assert!(parse_byte_size("5q", 1).is_err());
    }
}
