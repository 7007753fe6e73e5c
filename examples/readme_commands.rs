//! Prints README.md's "Supported commands" section, generated from the
//! command table; with `--write`, rewrites that section of README.md.
//!
//! ```sh
//! cargo run --example readme_commands -- --write
//! ```

use oxkey::commands::introspection::{readme_section, readme_with_commands};

fn main() {
    if !std::env::args().any(|a| a == "--write") {
        print!("{}", readme_section());
        return;
    }
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
    let result = std::fs::read_to_string(path).and_then(|readme| std::fs::write(path, readme_with_commands(&readme)));
    if let Err(e) = result {
        eprintln!("{path}: {e}");
        std::process::exit(1);
    }
}
