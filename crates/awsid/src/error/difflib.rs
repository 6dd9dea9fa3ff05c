//! Python's `difflib.get_close_matches` (no junk: every word here is far below difflib's
//! 200-element auto-junk threshold), for v2's "Maybe you meant" after an invalid choice.

use std::collections::HashMap;

/// `get_close_matches(word, possibilities, n, cutoff)`: the best `n` candidates whose
/// `SequenceMatcher(None, candidate, word).ratio()` is at least `cutoff`, best first (ties:
/// the larger string first, as `heapq.nlargest` orders `(score, x)` pairs).
pub(crate) fn get_close_matches<'a>(
    word: &str,
    possibilities: &[&'a str],
    n: usize,
    cutoff: f64,
) -> Vec<&'a str> {
    let b: Vec<char> = word.chars().collect();
    let mut scored: Vec<(f64, &str)> = possibilities
        .iter()
        .filter_map(|x| {
            let a: Vec<char> = x.chars().collect();
            let r = ratio(&a, &b);
            (r >= cutoff).then_some((r, *x))
        })
        .collect();
    scored.sort_by(|p, q| {
        q.0.partial_cmp(&p.0)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| q.1.cmp(p.1))
    });
    scored.into_iter().take(n).map(|(_, x)| x).collect()
}

/// `SequenceMatcher(None, a, b).ratio()`: `2 * matches / (len(a) + len(b))`.
fn ratio(a: &[char], b: &[char]) -> f64 {
    let total = a.len() + b.len();
    if total == 0 {
        return 1.0;
    }
    let mut b2j: HashMap<char, Vec<usize>> = HashMap::new();
    for (j, c) in b.iter().enumerate() {
        b2j.entry(*c).or_default().push(j);
    }
    let mut matches = 0;
    let mut queue = vec![(0, a.len(), 0, b.len())];
    while let Some((alo, ahi, blo, bhi)) = queue.pop() {
        let (i, j, k) = longest_match(a, &b2j, alo, ahi, blo, bhi);
        if k > 0 {
            matches += k;
            if alo < i && blo < j {
                queue.push((alo, i, blo, j));
            }
            if i + k < ahi && j + k < bhi {
                queue.push((i + k, ahi, j + k, bhi));
            }
        }
    }
    2.0 * matches as f64 / total as f64
}

/// `SequenceMatcher.find_longest_match`: the longest common block, earliest in `a`, then in
/// `b`.
fn longest_match(
    a: &[char],
    b2j: &HashMap<char, Vec<usize>>,
    alo: usize,
    ahi: usize,
    blo: usize,
    bhi: usize,
) -> (usize, usize, usize) {
    let (mut besti, mut bestj, mut bestsize) = (alo, blo, 0);
    let mut j2len: HashMap<usize, usize> = HashMap::new();
    for (i, c) in a.iter().enumerate().take(ahi).skip(alo) {
        let mut next: HashMap<usize, usize> = HashMap::new();
        for &j in b2j.get(c).map(Vec::as_slice).unwrap_or(&[]) {
            if j < blo {
                continue;
            }
            if j >= bhi {
                break;
            }
            let k = j
                .checked_sub(1)
                .and_then(|p| j2len.get(&p))
                .copied()
                .unwrap_or(0)
                + 1;
            next.insert(j, k);
            if k > bestsize {
                besti = i + 1 - k;
                bestj = j + 1 - k;
                bestsize = k;
            }
        }
        j2len = next;
    }
    (besti, bestj, bestsize)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values from CPython 3.11's `difflib`.
    #[test]
    fn matches_python() {
        let close = |w, p: &[&'static str]| get_close_matches(w, p, 3, 0.8);
        let commands = [
            "configure",
            "sts",
            "sso",
            "serve",
            "mint-web-identity-token",
        ];
        assert_eq!(close("configur", &commands), vec!["configure"]);
        assert_eq!(close("bogus", &commands), Vec::<&str>::new());
        assert_eq!(close("sts", &commands), vec!["sts"]);
        assert_eq!(close("ssx", &commands), Vec::<&str>::new());
        let formats = [
            "process",
            "env",
            "env-no-export",
            "powershell",
            "windows-cmd",
            "fish",
        ];
        assert_eq!(close("proces", &formats), vec!["process"]);
        assert_eq!(close("en", &formats), vec!["env"]);
        assert_eq!(
            get_close_matches("appel", &["ape", "apple", "peach", "puppy"], 3, 0.6),
            vec!["apple", "ape"]
        );
        assert!((ratio(&['a', 'b', 'c', 'd'], &['b', 'c', 'd', 'e']) - 0.75).abs() < 1e-12);
    }
}
