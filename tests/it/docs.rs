//! The documentation stays true to the code it describes: every setting, policy key and command
//! is named on its reader's page, and no page points outside the repository.

use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn page(name: &str) -> String {
    let path = root().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn missing<'a>(page_text: &str, names: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    names
        .into_iter()
        .filter(|n| {
            // Named in code (`ttl`) or as a YAML key (`ttl: 3d`), not merely as a word.
            !page_text.contains(&format!("`{n}`")) && !page_text.contains(&format!("{n}:"))
        })
        .collect()
}

#[test]
fn every_setting_is_on_the_configuration_page() {
    let text = page("docs/configuration.md");
    let names: Vec<&str> = gangway::config::SETTINGS.iter().map(|s| s.0).collect();
    assert!(names.len() > 10, "the settings table was read");
    let absent: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| !text.contains(&format!("`{n}`")) && !text.contains(&format!("`GANGWAY_{n}`")))
        .collect();
    assert!(absent.is_empty(), "docs/configuration.md lacks {absent:?}");
}

#[test]
fn every_policy_key_is_on_the_policy_page() {
    use gangway::policy::{
        FORKS_KEYS, PERMISSIONS_KEYS, PREVIEW_KEYS, PROMOTION_KEYS, SECTIONS, TRAIN_KEYS,
        VERIFY_KEYS,
    };
    let text = page("docs/policy.md");
    let keys = SECTIONS
        .iter()
        .chain(PREVIEW_KEYS)
        .chain(FORKS_KEYS)
        .chain(PERMISSIONS_KEYS)
        .chain(PROMOTION_KEYS)
        .chain(TRAIN_KEYS)
        .chain(VERIFY_KEYS)
        .copied();
    let absent = missing(&text, keys);
    assert!(absent.is_empty(), "docs/policy.md lacks {absent:?}");
}

#[test]
fn every_command_is_on_the_commands_page() {
    let text = page("docs/commands.md");
    let words = gangway::engine::commands::Command::ALL
        .iter()
        .map(|c| c.word())
        .collect::<Vec<_>>();
    assert!(words.contains(&"stage"));
    let absent: Vec<&str> = words
        .into_iter()
        .filter(|w| !text.contains(&format!("/{w}")))
        .collect();
    assert!(absent.is_empty(), "docs/commands.md lacks {absent:?}");
}

fn markdown_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable directory") {
        let path = entry.expect("directory entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if path.is_dir() {
            if !matches!(name, "target" | ".git" | "node_modules") {
                markdown_files(&path, out);
            }
        } else if name.ends_with(".md") {
            out.push(path);
        }
    }
}

/// The relative link targets of a Markdown text: `[text](target)`, without `#anchor`.
fn relative_links(text: &str) -> Vec<String> {
    let mut links = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("](") {
        rest = &rest[at + 2..];
        let Some(end) = rest.find(')') else { break };
        let target = rest[..end].split('#').next().unwrap_or("").trim();
        if !target.is_empty() && !target.contains("://") && !target.starts_with("mailto:") {
            links.push(target.to_owned());
        }
    }
    links
}

#[test]
fn every_link_stays_inside_the_repository_and_resolves() {
    let mut files = Vec::new();
    markdown_files(root(), &mut files);
    assert!(files.iter().any(|f| f.ends_with("docs/ARCHITECTURE.md")));
    let repo = root().canonicalize().expect("repository root");
    let mut broken = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("markdown file");
        // The names of the design notes that lived beside the repository, spelled in two parts
        // so that this guard is not itself a mention of them.
        let outside = [concat!("..", "/shared"), concat!("DESIGN", ".md")];
        if outside.iter().any(|name| text.contains(name)) {
            broken.push(format!(
                "{}: names a document outside the repository",
                file.display()
            ));
        }
        let dir = file.parent().expect("a file has a folder");
        for link in relative_links(&text) {
            match dir.join(&link).canonicalize() {
                Ok(target) if target.starts_with(&repo) => {}
                Ok(_) => broken.push(format!("{}: {link} leaves the repository", file.display())),
                Err(_) => broken.push(format!("{}: {link} does not exist", file.display())),
            }
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

/// Source paths a page names in code spans (`executor/deploy.rs`, `src/jobs.rs`), with a folder.
fn source_paths(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(|span| span.split_whitespace().next().unwrap_or(""))
        .filter(|w| {
            w.ends_with(".rs")
                && w.contains('/')
                && w.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_/.-".contains(c))
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_source_file_a_page_names_exists() {
    let mut files = Vec::new();
    markdown_files(root(), &mut files);
    let mut named = 0;
    let mut missing = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("markdown file");
        for path in source_paths(&text) {
            named += 1;
            let found = [root().join(&path), root().join("src").join(&path)]
                .iter()
                .any(|p| p.exists());
            if !found {
                missing.push(format!("{}: {path}", file.display()));
            }
        }
    }
    assert!(named > 20, "the pages' source paths were read ({named})");
    assert!(
        missing.is_empty(),
        "named but missing:\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_path_reader_takes_code_spans_with_a_folder() {
    let paths = source_paths("`engine/echo.rs` (`origin`), `rest.rs`, `src/jobs.rs`, `a b.rs`");
    assert_eq!(
        paths,
        vec!["engine/echo.rs".to_owned(), "src/jobs.rs".to_owned()]
    );
}

#[test]
fn the_link_reader_sees_relative_links_only() {
    let links = relative_links("[a](docs/x.md#y) [b](https://example.org) [c](../z.md)");
    assert_eq!(links, vec!["docs/x.md".to_owned(), "../z.md".to_owned()]);
}
