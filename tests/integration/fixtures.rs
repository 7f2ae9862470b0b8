//! Snapshot tests: how runwell reads the Markdown real runbooks are written
//! in (`tests/fixtures/`), as `lint` and `list` print it.

use crate::test::{Test, root};

fn snapshot(name: &str) {
    let path = root().join("tests/fixtures").join(format!("{name}.md"));
    let source = std::fs::read_to_string(&path).unwrap();
    let file = format!("{name}.md");
    let linted = Test::new().file(&file, &source).args(&["lint", &file]).run_any();
    let shown = Test::new().file(&file, &source).args(&["list", &file]).run();
    insta::assert_snapshot!(name, format!("$ runwell lint\n{}\n$ runwell list\n{}", linted.stdout, shown.stdout));
}

#[test]
fn template_placeholders() {
    snapshot("template-placeholders");
}

#[test]
fn real_world_markdown() {
    snapshot("real-world-markdown");
}

#[test]
fn plain_ops() {
    snapshot("plain-ops");
}
