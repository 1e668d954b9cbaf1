//! Small pieces the benchmark binaries share: settings from the environment, percentiles, report
//! headings, and the one way a benchmark gives up during set-up.

use std::str::FromStr;

/// The program's name, for messages.
fn program() -> String {
    std::env::args()
        .next()
        .and_then(|p| p.rsplit('/').next().map(str::to_owned))
        .unwrap_or_else(|| "komek-bench".into())
}

/// `name` from the environment, or `default`; a value that does not parse stops the benchmark.
pub fn env_or<T: FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) => v.trim().parse().unwrap_or_else(|_| {
            eprintln!(
                "{}: {name}={v:?} is not a valid value; setup failed",
                program()
            );
            std::process::exit(2);
        }),
        Err(_) => default,
    }
}

/// Set-up failed: the only case where a benchmark exits non-zero.
pub fn setup_failed(what: &str, e: &dyn std::fmt::Display) -> ! {
    eprintln!("{}: setup failed: could not {what}: {e}", program());
    std::process::exit(1);
}

/// Nearest-rank percentile of an ascending slice (0 when empty).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// A report section title, underlined.
pub fn heading(title: &str) {
    println!();
    println!("{title}");
    println!("{}", "-".repeat(title.chars().count()));
}

/// Percentiles of a set of samples in milliseconds, for a report line and its JSON.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stats {
    pub n: usize,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
}

impl Stats {
    pub fn of(mut samples: Vec<f64>) -> Self {
        samples.sort_by(f64::total_cmp);
        let n = samples.len();
        let mean = if n == 0 {
            0.0
        } else {
            samples.iter().sum::<f64>() / n as f64
        };
        Self {
            n,
            p50: percentile(&samples, 50.0),
            p90: percentile(&samples, 90.0),
            p99: percentile(&samples, 99.0),
            max: samples.last().copied().unwrap_or(0.0),
            mean,
        }
    }

    /// `p50 … p90 … p99 … max … (mean …, n …)`, two decimals.
    pub fn line(&self) -> String {
        format!(
            "p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}  (mean {:.2}, n {})",
            self.p50, self.p90, self.p99, self.max, self.mean, self.n
        )
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "n": self.n,
            "p50_ms": round2(self.p50),
            "p90_ms": round2(self.p90),
            "p99_ms": round2(self.p99),
            "max_ms": round2(self.max),
            "mean_ms": round2(self.mean),
        })
    }
}

/// Milliseconds since the Unix epoch (the scores of Komek's time-ordered sets).
pub fn epoch_ms(t: time::OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// Lines of a service's JSON log at WARN or ERROR.
pub fn count_warnings(log: &std::path::Path) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("\"level\":\"WARN\"") || l.contains("\"level\":\"ERROR\""))
        .count()
}
