//! The `blogql` binary: parse settings, set up logging, then serve (or run a one-off command).

use anyhow::Context;
use blogql::accounts::Accounts;
use blogql::config::Settings;
use blogql::config::{Cli, Command};
use blogql::domain::account::Password;
use blogql::domain::user::Email;
use blogql::startup::Application;
use blogql::telemetry::{get_subscriber, init_subscriber};
use blogql::{db, graphql, log_lines, seed};
use clap::Parser;

/// mimalloc (see `allocator`).
#[global_allocator]
static ALLOCATOR: blogql::allocator::MiMalloc = blogql::allocator::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = cli.settings;
    match cli.command.unwrap_or(Command::Serve) {
        Command::ExportSchema => {
            print!("{}", graphql::schema_builder().finish().sdl());
            Ok(())
        }
        Command::SeedDemo => {
            init_subscriber(get_subscriber(&settings.log, std::io::stderr));
            let db = db::connect(&settings.database).await?;
            db::migrate(&db).await?;
            let accounts = accounts(&settings)?;
            let created = seed::seed_demo(&db, &accounts)
                .await
                .context("seeding demo data")?;
            tracing::info!(created, "demo data loaded");
            println!("Demo accounts (for a local playground only; never on a reachable server):");
            for user in seed::DEMO_USERS {
                println!(
                    "  {} <{}>  password: {}  role: {}",
                    user.name,
                    user.email,
                    user.password,
                    user.role.as_str()
                );
            }
            Ok(())
        }
        Command::GrantAdmin { email } => {
            init_subscriber(get_subscriber(&settings.log, std::io::stderr));
            let db = db::connect(&settings.database).await?;
            db::migrate(&db).await?;
            let email = Email::parse(email).map_err(|err| anyhow::anyhow!("{err}"))?;
            blogql::accounts::grant_admin(&db, &email)
                .await
                .map_err(|err| anyhow::anyhow!("{err}"))?;
            println!("{} is an admin", email.as_str());
            Ok(())
        }
        Command::SetPassword { email } => {
            init_subscriber(get_subscriber(&settings.log, std::io::stderr));
            let db = db::connect(&settings.database).await?;
            db::migrate(&db).await?;
            let email = Email::parse(email).map_err(|err| anyhow::anyhow!("{err}"))?;
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .context("reading the password from standard input")?;
            let password = line.trim_end_matches(['\r', '\n']).to_string();
            let password = Password::parse(password).map_err(|err| anyhow::anyhow!("{err}"))?;
            accounts(&settings)?
                .set_password(&db, &email, password)
                .await
                .map_err(|err| anyhow::anyhow!("{err}"))?;
            println!("the password of {} is set", email.as_str());
            Ok(())
        }
        Command::Serve => {
            // Log lines (one per request) are written by a thread of their own, in batches:
            // a request never waits on stdout (see `log_lines`). The guard writes out what is
            // left when `main` returns.
            let (stdout, _flush_on_exit) = log_lines::to(std::io::stdout())
                .context("starting the thread that writes the log")?;
            init_subscriber(get_subscriber(&settings.log, stdout));
            tracing::info!(database = %db::redact(&settings.database.url), "starting");
            let app = Application::build(&settings).await?;
            let host = settings
                .bind
                .rsplit_once(':')
                .map_or("127.0.0.1", |(host, _)| host);
            tracing::info!(
                "listening on http://{host}:{port} (GraphQL at /graphql, playground at /)",
                port = app.port()
            );
            app.stop_on_shutdown_signals();
            app.run_until_stopped().await?;
            tracing::info!("stopped");
            Ok(())
        }
    }
}

fn accounts(settings: &Settings) -> anyhow::Result<Accounts> {
    Accounts::new(settings.session_ttl).map_err(|err| anyhow::anyhow!("{err}"))
}
