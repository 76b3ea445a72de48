//! What the command-line tests share: running the `deadbolt` binary and
//! keeping its exit code and output.
#![allow(dead_code)] // each test crate uses a part

use assert_cmd::Command;

/// One run of the binary.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn of(out: std::process::Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// The binary built for these tests.
pub fn deadbolt() -> Command {
    Command::cargo_bin("deadbolt").expect("binary built")
}

/// `deadbolt ARGS...` in the crate's directory.
pub fn run(args: &[&str]) -> Run {
    Run::of(deadbolt().args(args).output().expect("runs"))
}
