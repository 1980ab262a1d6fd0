//! Paired statistics of alternated runs: medians, the saving and its sign-test interval.
//!
//! Each changed run is paired with the baseline run just before it, so load that drifts
//! over the minutes of a whatif hits both sides of a pair alike; the saving is the median
//! of the pairs' differences, not the difference of two medians.

use serde::{Deserialize, Serialize};

/// Median, min, max and count of a set of wall times, ms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub n: usize,
}

impl Spread {
    pub fn of(values: &[f64]) -> Spread {
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        Spread {
            median: median_sorted(&v),
            min: v.first().copied().unwrap_or(0.0),
            max: v.last().copied().unwrap_or(0.0),
            n: v.len(),
        }
    }
}

fn median_sorted(v: &[f64]) -> f64 {
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    median_sorted(&v)
}

/// What a change did, from the paired differences (baseline minus changed, ms).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Saving {
    /// Median of the pairs' differences; negative when the change costs.
    pub median_ms: f64,
    /// 95% sign-test interval of that median.
    pub low_ms: f64,
    pub high_ms: f64,
}

/// The saving and its distribution-free 95% interval: the sign-test interval of the
/// median difference, between order statistics k and n+1-k where k is the largest rank
/// with P(Binomial(n, ½) < k) ≤ 2.5%. It assumes nothing of the shape of the noise (run
/// times have long right tails); below 6 pairs no such interval exists and the whole range
/// of the differences is given.
pub fn saving(differences: &[f64]) -> Saving {
    let mut d = differences.to_vec();
    d.sort_by(f64::total_cmp);
    let median_ms = median_sorted(&d);
    let n = d.len();
    if n == 0 {
        return Saving {
            median_ms,
            low_ms: 0.0,
            high_ms: 0.0,
        };
    }
    let k = sign_test_rank(n);
    Saving {
        median_ms,
        low_ms: d[k - 1],
        high_ms: d[n - k],
    }
}

/// The 1-based rank k of the lower bound of the sign-test 95% interval for n values; 1
/// (the whole range) when n is too small for one.
fn sign_test_rank(n: usize) -> usize {
    // P(X <= j) for X ~ Binomial(n, 1/2), summed in f64: exact enough for any n a
    // whatif runs (the terms are exact binomial coefficients up to n = 1000).
    let mut k = 1;
    let mut term = 0.5f64.powi(n as i32); // P(X = 0)
    let mut below = 0.0; // P(X < j)
    for j in 0..n {
        // [x(j+1), x(n-j)] misses the median with probability 2 P(X <= j).
        below += term;
        if 2.0 * below > 0.05 || j + 1 > n / 2 {
            break;
        }
        k = j + 1;
        term = term * (n - j) as f64 / (j + 1) as f64;
    }
    k
}

/// `saves`, `costs` or `within_noise`: whether the interval leaves out zero, and which side.
pub fn verdict(s: &Saving) -> &'static str {
    if s.low_ms > 0.0 {
        "saves"
    } else if s.high_ms < 0.0 {
        "costs"
    } else {
        "within_noise"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clear_saving_leaves_zero_out_of_its_interval() {
        let d = [100.0, 104.0, 97.0, 101.0, 99.0, 103.0, 98.0];
        let s = saving(&d);
        assert_eq!(s.median_ms, 100.0);
        assert!(s.low_ms > 90.0 && s.high_ms < 110.0, "{s:?}");
        assert_eq!(verdict(&s), "saves");
    }

    #[test]
    fn differences_around_zero_are_within_noise_and_a_cost_is_a_cost() {
        let noise = [-5.0, 4.0, -3.0, 6.0, 1.0, -2.0, 0.5];
        assert_eq!(verdict(&saving(&noise)), "within_noise");
        let cost = [-40.0, -35.0, -42.0, -38.0, -41.0];
        assert_eq!(verdict(&saving(&cost)), "costs");
    }

    #[test]
    fn sign_test_ranks_match_the_binomial_tables() {
        // Published 95% sign-test ranks: n=6 -> 1, 10 -> 2, 15 -> 4, 20 -> 6, 30 -> 10.
        for (n, k) in [(5, 1), (6, 1), (9, 2), (10, 2), (15, 4), (20, 6), (30, 10)] {
            assert_eq!(sign_test_rank(n), k, "n={n}");
        }
    }

    #[test]
    fn one_slow_outlier_does_not_move_the_interval_off_zero() {
        let d = [
            -3.0, 2.0, -1.0, 4.0, 0.5, -2.0, 1.0, -0.5, 3.0, 250.0, -4.0, 1.5, -1.5, 2.5, 0.0,
        ];
        let s = saving(&d);
        assert!(s.low_ms < 0.0 && s.high_ms > 0.0, "{s:?}");
    }

    #[test]
    fn spread_of_even_and_empty_sets() {
        let s = Spread::of(&[4.0, 1.0, 3.0, 2.0]);
        assert_eq!((s.median, s.min, s.max, s.n), (2.5, 1.0, 4.0, 4));
        assert_eq!(Spread::of(&[]).n, 0);
        assert_eq!(saving(&[]).median_ms, 0.0);
    }
}
