//! README.md's "Supported commands" table must be the one generated from
//! the command table, and list exactly what a running server reports in
//! COMMAND LIST.

mod common;

use common::{Resp, TestServer};
use oxkey::commands::introspection::{readme_section, readme_with_commands};

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("read README.md")
}

#[test]
fn readme_command_table_is_up_to_date() {
    let readme = readme();
    if readme_with_commands(&readme) != readme {
        panic!(
            "README.md's \"Supported commands\" section is out of date.\n\
             Run `cargo run --example readme_commands -- --write`, or replace the section with:\n\n{}",
            readme_section()
        );
    }
}

#[test]
fn readme_lists_what_the_server_runs() {
    let readme = readme();
    // The rows of the commands section only: other sections have tables too.
    let section = readme.split("\n## Supported commands").nth(1).expect("README has a Supported commands section");
    let section = section.split("\n## ").next().unwrap_or(section);
    let mut listed: Vec<String> = section
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .map(|name| name.to_ascii_lowercase().replace(' ', "|"))
        .collect();
    listed.sort();

    let srv = TestServer::start();
    let mut c = srv.raw();
    let Resp::Array(Some(names)) = c.cmd(&["COMMAND", "LIST"]) else { panic!("COMMAND LIST is not an array") };
    let mut runnable: Vec<String> = Vec::new();
    for n in names {
        let Resp::Bulk(Some(name)) = n else { panic!("COMMAND LIST entry {n:?}") };
        let name = String::from_utf8_lossy(&name).into_owned();
        // A container is a row of its own only if it runs without a
        // subcommand (COMMAND, arity -1); CONFIG is listed as its
        // subcommands.
        let Resp::Array(Some(info)) = c.cmd(&["COMMAND", "INFO", &name]) else { panic!("COMMAND INFO {name}") };
        let Resp::Array(Some(entry)) = &info[0] else { panic!("COMMAND INFO {name}: {info:?}") };
        let is_container = matches!(&entry[9], Resp::Array(Some(subs)) if !subs.is_empty());
        if !is_container || entry[1] == Resp::Int(-1) {
            runnable.push(name);
        }
    }
    runnable.sort();
    assert_eq!(listed, runnable, "README command table vs COMMAND LIST");
}
