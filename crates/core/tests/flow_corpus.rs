//! Every public exported flow in the shared corpus either validates, or is refused only for
//! action types Liaison does not run; the after-contact-work guide of the seed page validates.
//!
//! The corpus lives beside the repository (`../shared/flows-public`, or `LIAISON_FLOW_CORPUS`);
//! on a machine without it the check says so and passes.

use liaison_core::flow::{ProblemKind, validate};
use std::path::PathBuf;

fn shared_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

fn corpus_dir() -> PathBuf {
    std::env::var_os("LIAISON_FLOW_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| shared_dir().join("flows-public"))
}

#[test]
fn every_corpus_flow_imports_or_names_only_unsupported_action_types() {
    let dir = corpus_dir();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("no flow corpus at {}; skipping", dir.display());
        return;
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 40,
        "expected the 40-file corpus in {}",
        dir.display()
    );
    let mut table = String::from("\nflow corpus: outcome per file\n");
    let mut wrong = Vec::new();
    for file in &files {
        let content = std::fs::read_to_string(file).expect("read flow");
        let validation = validate(&content);
        let name = file.file_name().unwrap_or_default().to_string_lossy();
        let unsupported: Vec<String> = validation
            .problems
            .iter()
            .filter(|p| p.kind == ProblemKind::Unsupported)
            .map(ToString::to_string)
            .collect();
        let outcome = if validation.is_clean() {
            "imports".to_string()
        } else if validation.is_runnable() {
            format!("refused: {} unsupported block(s)", unsupported.len())
        } else {
            wrong.push(format!("{name}: {:#?}", validation.problems));
            "INVALID".to_string()
        };
        table.push_str(&format!("  {outcome:<36} {name}\n"));
    }
    eprintln!("{table}");
    assert!(
        wrong.is_empty(),
        "flows refused for more than unsupported types:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_after_contact_work_guide_of_the_seed_page_imports_verbatim() {
    let seed = shared_dir().join("seeds/004_7c6449a3943628ab.txt");
    let Ok(page) = std::fs::read_to_string(&seed) else {
        eprintln!("no seed page at {}; skipping", seed.display());
        return;
    };
    let version = page.find("\"Version\"").expect("the flow JSON in the page");
    let start = page[..version]
        .rfind('{')
        .expect("the flow's opening brace");
    let flow = &page[start..page.rfind('}').expect("end of the flow") + 1];
    let validation = validate(flow);
    assert!(validation.is_clean(), "{:#?}", validation.problems);
    let document = validation.document.unwrap();
    assert!(document.actions.iter().any(|a| a.action_type == "ShowView"));
}
