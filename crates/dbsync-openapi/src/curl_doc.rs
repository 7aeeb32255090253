//! The curl commands of `docs/curl.md`: each sits in a fenced `sh` block, after a comment
//! `# -> <status>` that says what the sandbox answers; a command may continue over lines that
//! end with `\`.

/// The most commands a page may hold.
pub const MAX_COMMANDS: usize = 200;

/// The longest command, in bytes.
pub const MAX_COMMAND_BYTES: usize = 8 * 1024;

/// One command of the page.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CurlCommand {
    /// The line of the page where the command starts (from 1).
    pub line: usize,
    /// The command, continuation lines joined.
    pub command: String,
    /// The status written before it.
    pub expected_status: u16,
}

/// Why the page could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CurlDocError {
    /// A command without `# -> <status>` before it, or a status that is not a number.
    #[error("line {0}: a curl command needs a `# -> <status>` line before it")]
    NoStatus(usize),
    /// A line of a `sh` block that is neither a comment, a curl command nor blank.
    #[error("line {0}: only curl commands, comments and blank lines go in a sh block")]
    NotCurl(usize),
    /// More than [`MAX_COMMANDS`] commands, or one longer than [`MAX_COMMAND_BYTES`].
    #[error(
        "line {0}: over the page's limits ({MAX_COMMANDS} commands of {MAX_COMMAND_BYTES} bytes)"
    )]
    TooLarge(usize),
    /// A `sh` block that never closes.
    #[error("a sh block is not closed")]
    Unclosed,
}

/// The commands of a page, in order.
pub fn parse(markdown: &str) -> Result<Vec<CurlCommand>, CurlDocError> {
    let mut commands = Vec::new();
    let mut in_sh = false;
    let mut status: Option<u16> = None;
    let mut current: Option<CurlCommand> = None;
    for (index, line) in markdown.lines().enumerate() {
        let number = index + 1;
        let trimmed = line.trim();
        if !in_sh {
            in_sh = trimmed == "```sh";
            continue;
        }
        if let Some(mut command) = current.take() {
            command.command.push(' ');
            command
                .command
                .push_str(trimmed.trim_end_matches('\\').trim());
            if command.command.len() > MAX_COMMAND_BYTES {
                return Err(CurlDocError::TooLarge(command.line));
            }
            if trimmed.ends_with('\\') {
                current = Some(command);
            } else {
                commands.push(command);
            }
            continue;
        }
        if trimmed == "```" {
            in_sh = false;
            status = None;
        } else if let Some(rest) = trimmed.strip_prefix("# ->") {
            status = Some(
                rest.trim()
                    .parse()
                    .map_err(|_| CurlDocError::NoStatus(number))?,
            );
        } else if trimmed.is_empty() || trimmed.starts_with('#') {
        } else if trimmed.starts_with("curl ") {
            let expected_status = status.take().ok_or(CurlDocError::NoStatus(number))?;
            if commands.len() >= MAX_COMMANDS {
                return Err(CurlDocError::TooLarge(number));
            }
            let command = CurlCommand {
                line: number,
                command: trimmed.trim_end_matches('\\').trim().to_owned(),
                expected_status,
            };
            if trimmed.ends_with('\\') {
                current = Some(command);
            } else {
                commands.push(command);
            }
        } else {
            return Err(CurlDocError::NotCurl(number));
        }
    }
    if in_sh || current.is_some() {
        return Err(CurlDocError::Unclosed);
    }
    Ok(commands)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_with_their_status_and_continuations() {
        let page = "text\n```sh\n# -> 200\ncurl -s \"$DBSYNC_API_URL/v1/records\"\n\n# create\n# -> 201\ncurl -X POST \\\n  -d '{}' x\n```\n```json\n{}\n```\n";
        let commands = parse(page).unwrap();
        assert_eq!(commands.len(), 2);
        assert_eq!(commands[0].expected_status, 200);
        assert_eq!(commands[0].line, 4);
        assert_eq!(commands[1].command, "curl -X POST -d '{}' x");
        assert_eq!(commands[1].expected_status, 201);
    }

    #[test]
    fn bad_pages_are_refused() {
        assert_eq!(parse("```sh\ncurl x\n```"), Err(CurlDocError::NoStatus(2)));
        assert_eq!(
            parse("```sh\n# -> abc\ncurl x\n```"),
            Err(CurlDocError::NoStatus(2))
        );
        assert_eq!(parse("```sh\nrm -rf /\n```"), Err(CurlDocError::NotCurl(2)));
        assert_eq!(
            parse("```sh\n# -> 200\ncurl x"),
            Err(CurlDocError::Unclosed)
        );
        let many = "```sh\n".to_owned() + &"# -> 200\ncurl x\n".repeat(MAX_COMMANDS + 1) + "```";
        assert!(matches!(parse(&many), Err(CurlDocError::TooLarge(_))));
    }
}
