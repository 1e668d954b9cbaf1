//! pods-journey: the Kazakh journey ([`komek_e2e::journey::kazakh`]) against Komek services that
//! are already running, such as the chart's pods started by `make chart-up` (`make pods-journey`
//! does both, then `make chart-down`).
//!
//! ```text
//! cargo run -p komek-e2e --bin pods-journey [INTAKE WORKSPACE ESCALATION SURVEY]
//! ```
//!
//! ```text
//! cargo run -p komek-e2e --bin pods-journey -- --clean PREFIX
//! ```
//!
//! removes a run's Redis keys and RabbitMQ queues and exchanges (the machine's Redis and RabbitMQ,
//! as values-local.yaml has them): `make pods-journey` gives each run a prefix of its own.
//!
//! The four base URLs default to http://127.0.0.1:8081 .. 8084. The services need the demo logins
//! (seed.demo = true, as values-local.yaml has). Each run writes as a customer number of its own,
//! so a run never joins the open request of an earlier one. Waits up to a minute for every
//! `/readyz`; panics (exit status 101) at the first step of the journey that does not happen.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use komek_e2e::{Endpoints, SERVICES, wait_until_ok};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, prefix] = args.as_slice()
        && flag == "--clean"
    {
        let mut s = komek_testkit::test_settings("pods");
        s.redis.prefix = prefix.clone();
        s.amqp.prefix = prefix.clone();
        komek_testkit::cleanup(&s).await;
        println!("pods-journey: removed the keys and queues of {prefix}");
        return;
    }
    let ep = match args.len() {
        0 => Endpoints::on_ports([8081, 8082, 8083, 8084]),
        4 => Endpoints {
            bases: std::array::from_fn(|i| args[i].trim_end_matches('/').to_owned()),
        },
        _ => {
            eprintln!("usage: pods-journey [INTAKE WORKSPACE ESCALATION SURVEY] (base URLs)");
            std::process::exit(2);
        }
    };
    let http = reqwest::Client::new();
    let start = Instant::now();
    for svc in SERVICES {
        let url = ep.url(svc, "/readyz");
        wait_until_ok(
            &http,
            &url,
            Duration::from_secs(60),
            &format!("{url} ready"),
        )
        .await;
    }
    // A customer number of this run (701 and seven digits from the clock): the same customer
    // writing the same text within the duplicate window would join an earlier run's request.
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let msisdn = format!("701{:07}", nanos / 1_000 % 10_000_000);
    let journey = komek_e2e::journey::kazakh(&ep, &http, &msisdn, None).await;
    println!(
        "pods-journey: request {} ({}) went web -> agent -> billing -> resolved -> survey -> reopened in {:.1} s",
        journey.number,
        journey.id,
        start.elapsed().as_secs_f64()
    );
}
