//! `komek-admin`: see the library's documentation (`komek_admin`) and `komek-admin --help`.

use std::process::ExitCode;

use clap::Parser;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = komek_admin::Cli::parse();
    let settings = match komek_settings::Settings::load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("komek-admin: settings: {e}");
            return ExitCode::from(2);
        }
    };
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut out = std::io::stdout();
    match komek_admin::run(cli, &settings, &mut input, &mut out).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("komek-admin: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
