//! The spike decision: is the count of new requests in the sliding window far above its usual
//! level? Pure, so the thresholds can be tested without Redis; the counting is komek-escalation's.
//!
//! The usual level is the mean and standard deviation of the counts of the previous fixed windows
//! (quiet windows count as zeros). A window is a spike when its count reaches every one of:
//! `min_count` (a handful of requests is never a spike, however quiet the baseline),
//! `factor x mean` (far above usual in proportion) and `mean + sigmas x sd` (far above the usual
//! variation, so a naturally bursty category needs a bigger jump).

use crate::Category;

/// The thresholds (settings `[spikes]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    pub min_count: u64,
    pub factor: f64,
    pub sigmas: f64,
}

/// What the decision saw and concluded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verdict {
    pub spike: bool,
    pub mean: f64,
    pub sd: f64,
    /// The count the window had to reach.
    pub threshold: f64,
}

/// Decides whether `count` new requests in the window is a spike against the `baseline` counts.
pub fn decide(count: u64, baseline: &[u64], t: &Thresholds) -> Verdict {
    let (mean, sd) = mean_sd(baseline);
    let threshold = (t.min_count as f64)
        .max(t.factor * mean)
        .max(mean + t.sigmas * sd);
    Verdict {
        spike: count as f64 >= threshold,
        mean,
        sd,
        threshold,
    }
}

/// Mean and population standard deviation; zeros for an empty baseline.
fn mean_sd(xs: &[u64]) -> (f64, f64) {
    if xs.is_empty() {
        return (0.0, 0.0);
    }
    let n = xs.len() as f64;
    let mean = xs.iter().map(|&x| x as f64).sum::<f64>() / n;
    let var = xs.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// The department that works problems of a category, if any (`other`: none until one takes it).
pub fn department_of(category: Category) -> Option<&'static str> {
    match category {
        Category::Billing => Some("billing"),
        Category::Network | Category::Internet => Some("network"),
        Category::Roaming => Some("roaming"),
        Category::Tariff => Some("sales"),
        Category::SimCard => Some("vas"),
        Category::Other => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Thresholds = Thresholds {
        min_count: 10,
        factor: 3.0,
        sigmas: 4.0,
    };

    #[test]
    fn quiet_baseline_needs_min_count() {
        let zeros = [0; 96];
        assert!(!decide(9, &zeros, &T).spike);
        let v = decide(10, &zeros, &T);
        assert!(v.spike);
        assert_eq!(v.threshold, 10.0);
        assert!(decide(10, &[], &T).spike);
    }

    #[test]
    fn busy_category_needs_factor_times_usual() {
        // Steady 20 per window: 3 x 20 = 60 rules (sd is 0).
        let steady = [20; 96];
        assert!(!decide(59, &steady, &T).spike);
        let v = decide(60, &steady, &T);
        assert!(v.spike);
        assert_eq!((v.mean, v.sd, v.threshold), (20.0, 0.0, 60.0));
    }

    #[test]
    fn bursty_category_needs_sigmas_above_usual() {
        // Alternating 0 and 10: mean 5, sd 5; mean + 4 sd = 25 beats 3 x mean = 15.
        let bursty: Vec<u64> = (0..96).map(|i| if i % 2 == 0 { 0 } else { 10 }).collect();
        let v = decide(24, &bursty, &T);
        assert!(!v.spike);
        assert_eq!(v.threshold, 25.0);
        assert!(decide(25, &bursty, &T).spike);
    }

    #[test]
    fn every_category_maps_to_a_department_or_none() {
        assert_eq!(department_of(Category::Internet), Some("network"));
        assert_eq!(department_of(Category::Tariff), Some("sales"));
        assert_eq!(department_of(Category::Other), None);
    }
}
