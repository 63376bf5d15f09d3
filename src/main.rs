//! The `mailflow` command: no arguments start the console; subcommands mirror the console's
//! actions (and the Exchange cmdlets) for scripting. Errors print one line and exit non-zero.

mod cli;

fn main() {
    let code = cli::run();
    std::process::exit(code);
}
