//! `dbsync man`: the man page (roff, clap_mangen) of dbsync or of one subcommand on stdout, or
//! every page into a directory.

use std::io::Write as _;
use std::path::PathBuf;

use clap::CommandFactory as _;

use crate::args::Cli;
use crate::exit::CliError;

/// `dbsync man [COMMAND...] [--dir DIR]`
#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// The subcommand, as on the command line (`logs export`); none: dbsync itself.
    #[arg(value_name = "COMMAND")]
    pub command: Vec<String>,
    /// Write the pages of the command and of all its subcommands into this directory (created
    /// if missing; pages named like dbsync-logs-export.1 are overwritten) instead of printing
    /// one.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// Prints the page, or writes the pages into `--dir`.
pub fn run(args: &ManArgs) -> Result<(), CliError> {
    let mut root = Cli::command().disable_help_subcommand(true);
    // Building sets each subcommand's display name (`dbsync-logs-export`), the page's name.
    root.build();
    let mut command = root;
    for (depth, name) in args.command.iter().enumerate() {
        let found = command
            .get_subcommands()
            .find(|sub| sub.get_name() == name || sub.get_all_aliases().any(|a| a == name))
            .cloned();
        command = found.ok_or_else(|| {
            CliError::usage(format!(
                "dbsync man: no command `{}`: see `dbsync {}--help`",
                crate::terminal_text::escape_controls(&args.command[..=depth].join(" ")),
                args.command[..depth]
                    .iter()
                    .map(|n| format!("{n} "))
                    .collect::<String>()
            ))
        })?;
    }
    match &args.dir {
        None => {
            let mut stdout = std::io::stdout().lock();
            clap_mangen::Man::new(command)
                .render(&mut stdout)
                .and_then(|()| stdout.flush())
                .map_err(|e| CliError::io("cannot write to stdout", e))
        }
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| CliError::io(format!("cannot create {}", dir.display()), e))?;
            let written = write_all(command, dir)
                .map_err(|e| CliError::io(format!("cannot write into {}", dir.display()), e))?;
            eprintln!("wrote {written} man page(s) into {}", dir.display());
            Ok(())
        }
    }
}

/// Writes the page of `command` and of each subcommand (not hidden) into `dir`; the count.
fn write_all(command: clap::Command, dir: &std::path::Path) -> std::io::Result<usize> {
    let mut written = 0;
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        written += write_all(sub.clone(), dir)?;
    }
    clap_mangen::Man::new(command).generate_to(dir)?;
    Ok(written + 1)
}
