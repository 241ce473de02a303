//! `dapp completions SHELL` and `dapp man`: generated from the clap definition, so they always
//! match the commands and options of this binary.

use std::io::Write;

use clap::CommandFactory;

use crate::cli::{Cli, Shell};

/// Writes the completion script for `shell`.
pub fn completions(shell: Shell, out: &mut dyn Write) -> std::io::Result<()> {
    use clap_complete::Shell as S;
    let s = match shell {
        Shell::Bash => S::Bash,
        Shell::Zsh => S::Zsh,
        Shell::Fish => S::Fish,
        Shell::Powershell => S::PowerShell,
    };
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(s, &mut cmd, "dapp", &mut buf);
    out.write_all(&buf)
}

/// Writes the man page (roff): `dapp` with every subcommand's options in one page.
pub fn man(out: &mut dyn Write) -> std::io::Result<()> {
    let cmd = Cli::command();
    let mut buf = Vec::new();
    let page = clap_mangen::Man::new(cmd.clone());
    page.render_title(&mut buf)?;
    page.render_name_section(&mut buf)?;
    page.render_synopsis_section(&mut buf)?;
    page.render_description_section(&mut buf)?;
    page.render_options_section(&mut buf)?;
    // One section per command, `dapp db upgrade` and the others, with its own options.
    render_subcommands(&cmd, "dapp", &mut buf)?;
    page.render_version_section(&mut buf)?;
    out.write_all(&buf)
}

fn render_subcommands(cmd: &clap::Command, path: &str, buf: &mut Vec<u8>) -> std::io::Result<()> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("{path} {}", sub.get_name());
        let title = roff_escape(&name);
        writeln!(buf, ".SH \"{}\"", title.to_uppercase())?;
        if let Some(about) = sub.get_about() {
            writeln!(buf, "{}", roff_escape(&about.to_string()))?;
        }
        let args: Vec<&clap::Arg> = sub.get_arguments().filter(|a| !a.is_hide_set()).collect();
        for a in args {
            let value = a
                .get_value_names()
                .and_then(|v| v.first())
                .map(|v| v.to_string())
                .unwrap_or_else(|| a.get_id().to_string().to_uppercase());
            let long = a.get_long().map(roff_escape);
            let mut flag = match (a.get_short(), long) {
                (Some(s), Some(l)) => format!("\\-{s}, \\-\\-{l}"),
                (None, Some(l)) => format!("\\-\\-{l}"),
                (Some(s), None) => format!("\\-{s}"),
                (None, None) => format!("<{value}>"),
            };
            if !a.is_positional() && a.get_action().takes_values() {
                flag.push_str(&format!(" <{value}>"));
            }
            writeln!(buf, ".TP\n\\fB{flag}\\fR")?;
            if let Some(h) = a.get_help() {
                writeln!(buf, "{}", roff_escape(&h.to_string()))?;
            }
        }
        if let Some(after) = sub.get_after_help() {
            writeln!(buf, ".PP\n.nf\n{}\n.fi", roff_escape(&after.to_string()))?;
        }
        render_subcommands(sub, &name, buf)?;
    }
    Ok(())
}

/// Text made safe for roff: backslashes and hyphens escaped, no line starting with a control
/// character.
fn roff_escape(s: &str) -> String {
    let t = s.replace('\\', "\\e").replace('-', "\\-");
    t.lines()
        .map(|l| {
            if l.starts_with('.') || l.starts_with('\'') {
                format!("\\&{l}")
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roff_escape_protects_control_lines() {
        assert_eq!(roff_escape(".x -y\\"), "\\&.x \\-y\\e");
    }
}
