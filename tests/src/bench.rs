//! Small pieces both benchmark binaries use: settings from the environment, percentiles, report
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
