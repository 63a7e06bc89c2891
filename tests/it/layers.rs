//! The layers of docs/ARCHITECTURE.md, checked: which top-level module of `src/` may name which.
//!
//! Reads the source as text and collects every `crate::<module>` a layer's files name (in `use`
//! lines and in paths), tests included: a rule broken only in a test still shapes the code. A
//! module missing from the table fails the test too, so a new module has to take its place in
//! the layers before it can land.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each top-level module and the modules it may name. Lower layers first.
const LAYERS: &[(&str, &[&str])] = &[
    // Vocabulary: plain data and time, shared by every layer.
    ("types", &[]),
    ("clock", &[]),
    ("model", &["types"]),
    ("jobs", &["types", "model"]),
    ("metrics", &["jobs"]),
    // What a maintainer writes in the repository, and what an operator sets.
    ("policy", &["types", "model"]),
    // Pure decisions: no I/O, so nothing below the vocabulary and the policy.
    ("engine", &["types", "model", "jobs", "policy", "clock"]),
    // Settings: config assembles the settings types that the driver, the timers and the host
    // template own, so none of those may name config back (no cycle).
    (
        "config",
        &["types", "model", "policy", "engine", "driver", "timers"],
    ),
    // The outside world, each on its own.
    ("driver", &["types", "model"]),
    ("github", &["types", "model", "config", "metrics", "clock"]),
    ("store", &["types", "model", "jobs", "config", "clock"]),
    (
        "queue",
        &[
            "types", "model", "jobs", "config", "clock", "metrics", "store",
        ],
    ),
    // The edge and the actors. Ingress asks the engine one pure question: is this our own echo.
    (
        "ingress",
        &[
            "types", "model", "jobs", "config", "clock", "metrics", "engine", "store", "queue",
        ],
    ),
    (
        "executor",
        &[
            "types", "model", "jobs", "config", "clock", "metrics", "policy", "engine", "driver",
            "github", "store", "queue", "ingress",
        ],
    ),
    (
        "timers",
        &[
            "types", "model", "jobs", "clock", "metrics", "policy", "engine", "store", "queue",
        ],
    ),
    // The process.
    // The dashboard: pages read the store; buttons enqueue the same jobs as PR comments.
    (
        "web",
        &[
            "types", "model", "jobs", "config", "clock", "metrics", "policy", "engine", "github",
            "store", "queue",
        ],
    ),
    (
        "http",
        &[
            "types", "model", "jobs", "config", "clock", "metrics", "store", "queue", "ingress",
            "web",
        ],
    ),
    (
        "operator",
        &[
            "types", "model", "jobs", "config", "clock", "policy", "engine", "store", "queue",
            "executor",
        ],
    ),
    (
        "server",
        &[
            "types", "model", "jobs", "config", "clock", "metrics", "github", "store", "queue",
            "ingress", "executor", "timers", "http", "web",
        ],
    ),
    ("demo", &["types", "config", "clock", "server"]),
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file belongs to (`src/store/jobs.rs` → `store`), or `None` for the
/// crate root and the binary.
fn module_of(file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src()).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    // A top-level module's unit tests (`config_tests.rs`) belong to it.
    let name = name.strip_suffix("_tests").unwrap_or(name);
    (!matches!(name, "lib" | "main")).then(|| name.to_owned())
}

/// Every `crate::name` in a source text, comments left out (they may name anything).
fn named_modules(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.insert(name);
            }
        }
    }
    found
}

#[test]
fn every_module_names_only_the_layers_below_it() {
    let allowed: BTreeMap<&str, &[&str]> = LAYERS.iter().copied().collect();
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    files.sort();
    let mut broken = Vec::new();
    for file in &files {
        let Some(module) = module_of(file) else {
            continue;
        };
        let Some(may) = allowed.get(module.as_str()) else {
            broken.push(format!(
                "{}: module `{module}` has no place in the layers (tests/it/layers.rs)",
                file.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(file).expect("source file");
        for named in named_modules(&text) {
            if named != module && !may.contains(&named.as_str()) {
                broken.push(format!(
                    "{}: `{module}` names `crate::{named}`",
                    file.display()
                ));
            }
        }
    }
    assert!(broken.is_empty(), "layering broken:\n{}", broken.join("\n"));
    // Positive control: the reader really sees imports (the executor names the engine).
    let executor = std::fs::read_to_string(src().join("executor/mod.rs")).expect("executor");
    assert!(named_modules(&executor).contains("engine"));
}

#[test]
fn the_engine_does_no_io() {
    let mut files = Vec::new();
    rust_files(&src().join("engine"), &mut files);
    let forbidden = [
        "tokio::",
        "sqlx::",
        "reqwest::",
        "octocrab::",
        "std::fs",
        "std::net",
        "std::process",
        "SystemTime",
        "Instant::now",
        "Utc::now",
        "rand::",
    ];
    let mut broken = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("source file");
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for f in forbidden {
                if code.contains(f) {
                    broken.push(format!("{}:{}: {f}", file.display(), n + 1));
                }
            }
        }
    }
    assert!(
        broken.is_empty(),
        "the engine must stay pure:\n{}",
        broken.join("\n")
    );
    assert!(files.len() > 3, "the engine's files were found");
}

#[test]
fn the_reader_finds_names_in_paths_and_use_lines() {
    let text = "use crate::store::Store;\nlet x = crate::queue::BACKGROUND; // crate::github\n";
    let found = named_modules(text);
    assert_eq!(
        found.into_iter().collect::<Vec<_>>(),
        vec!["queue".to_owned(), "store".to_owned()]
    );
}
