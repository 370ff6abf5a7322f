//! Value expansions of the Sigma modifiers `windash`, `base64` and `base64offset`.

use super::value::ValueError;

/// Dash characters `windash` substitutes for a leading `-` or `/` of an option.
const DASHES: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];

/// Every variant of `s` with each option-leading `-` or `/` (at the start or after a space)
/// replaced by each of [`DASHES`]. Bounded: more than 4 such positions is refused.
pub fn windash(s: &str) -> Result<Vec<String>, ValueError> {
    let chars: Vec<char> = s.chars().collect();
    let spots: Vec<usize> = (0..chars.len())
        .filter(|&i| (chars[i] == '-' || chars[i] == '/') && (i == 0 || chars[i - 1] == ' '))
        .collect();
    if spots.len() > 4 {
        return Err(ValueError::Misuse {
            modifier: "windash",
            problem: "on a value with more than 4 option dashes",
        });
    }
    let mut out = vec![chars];
    for &i in &spots {
        out = out
            .into_iter()
            .flat_map(|v| {
                DASHES.iter().map(move |d| {
                    let mut w = v.clone();
                    w[i] = *d;
                    w
                })
            })
            .collect();
    }
    Ok(out.into_iter().map(|v| v.into_iter().collect()).collect())
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub fn base64(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(char::from(B64[((n >> (18 - 6 * k)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The three encodings of `v` at byte offsets 0, 1, 2 inside a longer base64 text, with the
/// characters that depend on the unknown neighbouring bytes cut off (Sigma `base64offset`).
pub fn base64offset(v: &[u8]) -> Vec<String> {
    const START: [usize; 3] = [0, 2, 3];
    (0..3)
        .map(|i| {
            let mut data = vec![b' '; i];
            data.extend_from_slice(v);
            let enc = base64(&data);
            let cut = match (v.len() + i) % 3 {
                0 => 0,
                1 => 3,
                _ => 2,
            };
            let end = enc.len().saturating_sub(cut);
            enc.get(START[i]..end).unwrap_or_default().to_owned()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windash_variants_cover_every_dash() {
        let v = windash("x -a /b").expect("two spots");
        assert_eq!(v.len(), 25);
        assert!(v.contains(&"x /a -b".to_owned()));
        assert!(v.contains(&"x \u{2015}a \u{2013}b".to_owned()));
        assert!(windash("-a -b -c -d -e").is_err());
    }

    #[test]
    fn base64_matches_the_standard_alphabet_and_padding() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn base64offset_is_pysigma_s_three_cuts() {
        // Known values for "/bin/sh" at offsets 0, 1, 2.
        assert_eq!(
            base64offset(b"/bin/sh"),
            ["L2Jpbi9za", "9iaW4vc2", "vYmluL3No"]
        );
    }
}
