//! `ferryctl`, the dmctl-compatible control CLI of `ferryd`: its command line ([`args`]), its
//! HTTP client ([`client`]), the files it reads ([`files`]), the human status view
//! ([`human`]) and the commands.

pub mod args;
pub mod client;
mod commands;
pub mod files;
pub mod human;

use std::process::ExitCode;

use clap::Parser;
use serde_json::{json, Value};

use args::{Cli, Cmd};

/// Runs `ferryctl` with the process's arguments.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let human = matches!(cli.cmd, Cmd::QueryStatus { human: true, .. });
    match commands::run(&cli) {
        Ok(v) if human => {
            print!("{}", human::human_status(&v));
            exit_code(&v)
        }
        Ok(v) => {
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            exit_code(&v)
        }
        Err(msg) => {
            eprintln!("ferryctl: {msg}");
            ExitCode::from(1)
        }
    }
}

fn exit_code(v: &Value) -> ExitCode {
    if v.get("result") == Some(&json!(false)) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
