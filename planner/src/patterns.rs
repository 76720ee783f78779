//! Regexes for llama.cpp's tensor buffer-type overrides (`--override-tensor`, `add_cpu_buft_override`).
//!
//! llama.cpp tests each tensor name with `std::regex_search` (ECMAScript). A CPU override of group `g` for
//! layers `[a, b)` becomes `^blk\.(<a..b−1>)\.<group>`, where the layer range is a compact decimal-range
//! regex (`1[0-9]|2[0-7]` for 10..=27) rather than a list of numbers.

use crate::model::TensorGroup;

/// One position of a decimal pattern: an inclusive digit range.
type Piece = Vec<(u8, u8)>;

/// Alternatives matching exactly the decimal numbers in `lo..=hi` (no leading zeros).
fn range_pieces(lo: u32, hi: u32) -> Vec<Piece> {
    let mut out = Vec::new();
    if lo > hi {
        return out;
    }
    let digits = |n: u32| n.to_string().len();
    for d in digits(lo)..=digits(hi) {
        let d32 = d as u32;
        let min_d = if d == 1 { 0 } else { 10u32.pow(d32 - 1) };
        let max_d = 10u32.pow(d32) - 1;
        let a = lo.max(min_d);
        let b = hi.min(max_d);
        if a <= b {
            out.extend(same_len(a.to_string().as_bytes(), b.to_string().as_bytes()));
        }
    }
    out
}

fn same_len(a: &[u8], b: &[u8]) -> Vec<Piece> {
    let n = a.len();
    let (a0, b0) = (a[0] - b'0', b[0] - b'0');
    if n == 1 {
        return vec![vec![(a0, b0)]];
    }
    let (ar, br) = (&a[1..], &b[1..]);
    let prefix = |d: u8, rest: Vec<Piece>| -> Vec<Piece> {
        rest.into_iter()
            .map(|p| {
                let mut q = vec![(d, d)];
                q.extend(p);
                q
            })
            .collect()
    };
    if a0 == b0 {
        return prefix(a0, same_len(ar, br));
    }
    let zeros = vec![b'0'; n - 1];
    let nines = vec![b'9'; n - 1];
    let mut out = Vec::new();
    let mut lo_d = a0;
    let mut hi_d = b0;
    if ar != zeros.as_slice() {
        out.extend(prefix(a0, same_len(ar, &nines)));
        lo_d += 1;
    }
    let tail_full = br == nines.as_slice();
    if !tail_full {
        hi_d -= 1;
    }
    if lo_d <= hi_d {
        let mut p = vec![(lo_d, hi_d)];
        p.extend(std::iter::repeat_n((0, 9), n - 1));
        out.push(p);
    }
    if !tail_full {
        out.extend(prefix(b0, same_len(&zeros, br)));
    }
    out
}

fn render(pieces: &[Piece]) -> String {
    pieces
        .iter()
        .map(|p| {
            let mut s = String::new();
            let mut i = 0;
            while i < p.len() {
                let (x, y) = p[i];
                // collapse runs of [0-9]
                if (x, y) == (0, 9) {
                    let run = p[i..].iter().take_while(|&&r| r == (0, 9)).count();
                    s.push_str("[0-9]");
                    if run > 1 {
                        s.push_str(&format!("{{{run}}}"));
                    }
                    i += run;
                    continue;
                }
                if x == y {
                    s.push(char::from(b'0' + x));
                } else {
                    s.push_str(&format!("[{x}-{y}]"));
                }
                i += 1;
            }
            s
        })
        .collect::<Vec<_>>()
        .join("|")
}

/// A regex alternative matching exactly the layer numbers `lo..=hi`.
pub fn layer_range_regex(lo: u32, hi: u32) -> String {
    render(&range_pieces(lo, hi))
}

/// The override regex keeping group `g` of layers `[from, to)` on the CPU, or None for an empty range.
pub fn cpu_override(g: TensorGroup, from: u32, to: u32) -> Option<String> {
    if from >= to {
        return None;
    }
    Some(format!(
        r"^blk\.({})\.{}",
        layer_range_regex(from, to - 1),
        g.name_pattern()
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn matches(pieces: &[Piece], n: u32) -> bool {
        let s = n.to_string();
        pieces.iter().any(|p| {
            p.len() == s.len()
                && p.iter()
                    .zip(s.bytes())
                    .all(|(&(x, y), c)| (x..=y).contains(&(c - b'0')))
        })
    }

    #[test]
    fn ranges_match_exactly() {
        for lo in 0..130 {
            for hi in lo..130 {
                let pieces = range_pieces(lo, hi);
                for n in 0..300 {
                    assert_eq!(
                        matches(&pieces, n),
                        (lo..=hi).contains(&n),
                        "{lo}..={hi} n={n} {}",
                        render(&pieces)
                    );
                }
            }
        }
    }

    #[test]
    fn rendering() {
        assert_eq!(layer_range_regex(10, 27), "1[0-9]|2[0-7]");
        assert_eq!(layer_range_regex(0, 9), "[0-9]");
        assert_eq!(layer_range_regex(5, 5), "5");
        assert_eq!(layer_range_regex(8, 12), "[8-9]|1[0-2]");
        assert_eq!(layer_range_regex(100, 199), "1[0-9]{2}");
        assert_eq!(
            cpu_override(TensorGroup::Ffn, 3, 7).unwrap(),
            r"^blk\.([3-6])\.ffn_(up|gate|down|gate_up)\."
        );
        assert!(cpu_override(TensorGroup::Ffn, 7, 7).is_none());
    }
}
