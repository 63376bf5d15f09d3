//! `mailflow account …`: the users that may authenticate with SMTP AUTH on a receive connector
//! with BasicAuth. Passwords are read from a file or standard input, never from the command
//! line (where other users could see them in the process list).

use super::output::{date, table};
use super::{CliError, CliResult, data_dir, now};
use clap::Subcommand;
use mailflow::admin;
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum AccountCommand {
    /// Add an account (the password from --password-file or --password-stdin)
    Add {
        name: String,
        #[arg(long, conflicts_with = "password_stdin")]
        password_file: Option<PathBuf>,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Give an account a new password
    Password {
        name: String,
        #[arg(long, conflicts_with = "password_stdin")]
        password_file: Option<PathBuf>,
        #[arg(long)]
        password_stdin: bool,
    },
    /// List the accounts
    List,
    /// Remove an account
    Remove { name: String },
}

fn required_password(
    file: &Option<PathBuf>,
    stdin: bool,
) -> Result<zeroize::Zeroizing<String>, CliError> {
    super::cert::password(file, stdin)?.ok_or_else(|| {
        CliError(
            "give the password with --password-file FILE or --password-stdin (never on the command line)"
                .into(),
        )
    })
}

pub fn run_account(dir: &Option<PathBuf>, cmd: &AccountCommand) -> CliResult {
    let d = data_dir(dir);
    if !d.settings().exists() {
        return Err(CliError(
            mailflow::store::StoreError::NotInitialized(d.root().to_path_buf()).to_string(),
        ));
    }
    match cmd {
        AccountCommand::Add {
            name,
            password_file,
            password_stdin,
        } => {
            let pw = required_password(password_file, *password_stdin)?;
            admin::add_account(&d, name, &pw, now())?;
            println!("Added account {name}: it may authenticate on connectors with BasicAuth");
        }
        AccountCommand::Password {
            name,
            password_file,
            password_stdin,
        } => {
            let pw = required_password(password_file, *password_stdin)?;
            admin::set_account_password(&d, name, &pw)?;
            println!("Changed the password of {name}");
        }
        AccountCommand::List => {
            let rows: Vec<Vec<String>> = admin::list_accounts(&d)?
                .into_iter()
                .map(|a| {
                    let created = time::OffsetDateTime::from_unix_timestamp(a.created)
                        .map(date)
                        .unwrap_or_default();
                    vec![a.name, created]
                })
                .collect();
            if rows.is_empty() {
                println!("No accounts: add one with `mailflow account add NAME --password-stdin`");
            } else {
                table(&["Name", "Created"], &rows);
            }
        }
        AccountCommand::Remove { name } => {
            let removed = admin::remove_account(&d, name)?;
            println!("Removed account {removed}");
        }
    }
    Ok(())
}
