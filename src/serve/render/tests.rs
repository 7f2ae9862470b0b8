//! The runbook page's HTML: what an operator sees, what the page's script
//! hooks into, and what no runbook can make it contain.

use std::path::Path;

use super::audit::audit;
use super::render;
use crate::runbook;

fn page(source: &str) -> String {
    let parsed = runbook::parse(Path::new("test.md"), source);
    let html = render(&parsed.runbook, source);
    if let Err(problem) = audit(&html) {
        panic!("unsafe output: {problem}\ninput:\n{source}\noutput:\n{html}");
    }
    html
}

/// Every feature the page relies on, in one runbook small enough to read
/// in a snapshot: review changes with `cargo insta review`.
const FIXTURE: &str = r#"---
runbook: queue
vars:
  api: http://127.0.0.1:8000
---
# Queue worker

Runs *behind* [the API](https://example.com/api "API docs") and [its notes](notes.md#setup).

## Health check matrix

```checks
- name: api
  layer: API
  description: The worker's API answers
  http: "{{ api }}/health"
  expect: status == 200
- name: worker-unit
  systemd: queue-worker
```

| Layer | Suspect |
|:---|---|
| API | ~~the proxy~~ the worker |

## Restart the worker

```checks
- use: api
- use: nonexistent
```

```sh {name=restart confirm}
systemctl restart queue-worker
```

```sh {rollback}
systemctl start queue-worker
```

- [ ] Tell the channel
- [x] Open the incident

![dashboard](https://grafana.example.com/d/queue.png)

```yaml
not: a step
```
"#;

#[test]
fn a_runbook_renders_like_this() {
    insta::assert_snapshot!(page(FIXTURE));
}

#[test]
fn headings_carry_the_section_ids_of_every_example() {
    let mut files: Vec<_> = ["examples", "tests/fixtures", "tests/fuzz-regressions", "docs"]
        .iter()
        .flat_map(|dir| std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(dir)).unwrap())
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "md"))
        .collect();
    files.sort();
    assert!(files.len() > 5, "found only {files:?}");
    for path in files {
        let source = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        let parsed = runbook::parse(&path, &source);
        let html = render(&parsed.runbook, &source);
        audit(&html).unwrap_or_else(|problem| panic!("{}: {problem}", path.display()));
        let rendered: Vec<String> = heading_ids(&html);
        let expected: Vec<String> =
            parsed.runbook.sections[1..].iter().map(|s| super::escape(&s.id)).filter(|id| !id.is_empty()).collect();
        assert_eq!(rendered, expected, "{}", path.display());
        let markers = html.matches("<div class=\"procedure\"").count();
        assert_eq!(markers, parsed.runbook.procedure_indices().count(), "{}", path.display());
    }
}

/// The `id` of every `<hN>` in order.
fn heading_ids(html: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for level in html.split("<h").skip(1) {
        let Some(rest) = level.strip_prefix(|c: char| ('1'..='6').contains(&c)) else { continue };
        if let Some(id) = rest.strip_prefix(" id=\"") {
            ids.push(id[..id.find('"').unwrap()].to_owned());
        }
    }
    ids
}

#[test]
fn a_procedure_heading_is_followed_by_its_run_marker_with_the_most_dangerous_safety() {
    let html = page(
        "# Ops\n\n## About\n\nprose\n\n## Drain\n\n```sh\nls /\n```\n\n### Wipe\n\n```sh\nrm -rf /var/lib/queue\n```\n",
    );
    assert!(
        html.contains("<h2 id=\"drain\">Drain</h2>\n<div class=\"procedure\" data-procedure=\"drain\" data-safety=\"destructive\"></div>"),
        "{html}"
    );
    assert!(html.contains("data-procedure=\"wipe\" data-safety=\"destructive\""), "{html}");
    assert!(!html.contains("data-procedure=\"about\""), "a heading with no steps under it is no procedure: {html}");
}

#[test]
fn raw_html_is_shown_as_text() {
    let html = page("# T\n\n<script>alert(1)</script>\n\nHello <img src=x onerror=alert(1)> there\n");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{html}");
    assert!(html.contains("Hello &lt;img src=x onerror=alert(1)&gt; there"), "{html}");
}

#[test]
fn html_comments_are_left_out() {
    let html = page("# T\n\n<!-- markdownlint-disable -->\n\ntext <!-- aside --> more\n");
    assert!(!html.contains("markdownlint") && !html.contains("aside"), "{html}");
    assert!(html.contains("text  more"), "{html}");
}

#[test]
fn links_with_a_scheme_other_than_http_https_or_mailto_become_text() {
    for link in [
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](java&#x73;cript:alert(1))",
        "[x](&#106;avascript:alert(1))",
        "[x](<java\tscript:alert(1)>)",
        "[x](%20javascript:alert(1))",
        "[x]( javascript:alert(1))",
        "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "[x](vbscript:msgbox)",
        "[x](file:///etc/passwd)",
        "<javascript:alert(1)>",
        "[x][r]\n\n[r]: javascript:alert(1)",
    ] {
        let html = page(&format!("# T\n\n{link}\n"));
        assert!(!html.contains("<a "), "{link} became a link: {html}");
    }
    for link in [
        "[x](https://example.com)",
        "[x](HTTP://example.com)",
        "[x](mailto:ops@example.com)",
        "[x](other.md)",
        "[x](#drain)",
        "[x](?a=b)",
        "[x](/runbooks/a.md)",
    ] {
        let html = page(&format!("# T\n\n{link}\n"));
        assert!(html.contains("<a href="), "{link} lost its link: {html}");
    }
}

#[test]
fn a_blocked_link_keeps_its_text() {
    let html = page("# T\n\nsee [the *docs*](javascript:alert(1)) now\n");
    assert!(html.contains("<span class=\"blocked-link\""), "{html}");
    assert!(html.contains("the <em>docs</em></span> now"), "{html}");
}

#[test]
fn images_are_links_never_loaded() {
    let html = page("# T\n\n![graph](https://grafana.example.com/x.png \"Title\") ![](https://a.example/b.png)\n");
    assert!(!html.contains("<img"), "{html}");
    assert!(
        html.contains(
            "<span class=\"image\"><a href=\"https://grafana.example.com/x.png\" title=\"Title\">graph</a></span>"
        ),
        "{html}"
    );
    assert!(html.contains("<a href=\"https://a.example/b.png\">image</a>"), "an image without alt text: {html}");
    let html = page("# T\n\n![x](javascript:alert(1)) ![y](data:image/png;base64,AAAA)\n");
    assert!(!html.contains("<a ") && !html.contains("<img"), "{html}");
}

#[test]
fn quotes_in_names_ids_and_headings_cannot_break_out_of_attributes() {
    let source = "# T\n\n## Evil \"><script>alert(1)</script> ' title\n\n\
        ```sh {name=\"a\\\"b'c<d>\"}\nls\n```\n\n\
        ```checks\n- name: \"x\\\" onmouseover=\\\"alert(1)\"\n  layer: \"<b>bold</b>\"\n  tcp: \"h\\\"ost:1\"\n```\n";
    let html = page(source);
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("<b>"), "{html}");
    assert!(html.contains("data-check=\"x&quot; onmouseover=&quot;alert(1)\""), "{html}");
    assert!(html.contains("data-state-for=\"x&quot; onmouseover=&quot;alert(1)\""), "{html}");
}

#[test]
fn a_step_keeps_its_code_in_a_figure_named_after_it() {
    let html = page("# T\n\n## Fix\n\n```bash {name=fix confirm}\necho \"<ok>\" && rm -f /tmp/x\n```\n");
    assert!(
        html.contains(
            "<figure class=\"step\" id=\"step-fix\" data-step=\"fix\" data-safety=\"write\"><figcaption><code>fix</code> · shell · write · confirm</figcaption>\n\
             <pre><code class=\"language-bash\">echo &quot;&lt;ok&gt;&quot; &amp;&amp; rm -f /tmp/x\n</code></pre>\n</figure>"
        ),
        "{html}"
    );
}

#[test]
fn text_is_escaped_exactly_once() {
    let html = page("# A &amp; B\n\nx &lt; y & z\n\n```sh\necho '&amp;'\n```\n");
    assert!(html.contains("<h1 id=\"a--b\">A &amp; B</h1>"), "{html}");
    assert!(html.contains("x &lt; y &amp; z"), "{html}");
    assert!(html.contains("echo &#39;&amp;amp;&#39;"), "the block's text as written, escaped once: {html}");
}

#[test]
fn a_checks_block_with_a_malformed_item_still_renders_as_written() {
    let source = "# T\n\n## Checks\n\n```checks\n- name: good\n  tcp: \"127.0.0.1:1\"\n- just a string\n- name: [unclosed\n```\n";
    let html = page(source);
    assert!(html.contains("<p class=\"problem\">"), "{html}");
    assert!(html.contains("- just a string\n- name: [unclosed\n</code></pre>"), "the raw block: {html}");
    let yaml_broken = page("# T\n\n```checks\n- name: a\n  tcp: [\n```\n");
    assert!(yaml_broken.contains("<p class=\"problem\">"), "{yaml_broken}");
    assert!(yaml_broken.contains("tcp: ["), "{yaml_broken}");
}

#[test]
fn a_checks_block_is_a_table_with_a_state_cell_per_check() {
    let html = page(FIXTURE);
    for name in ["api", "worker-unit"] {
        assert!(html.contains(&format!("data-check=\"{name}\"")), "{html}");
        assert!(html.contains(&format!("<td class=\"state\" data-state-for=\"{name}\"></td>")), "{html}");
    }
    assert!(html.contains("<tr class=\"use\" data-check=\"nonexistent\">"), "{html}");
}

#[test]
fn front_matter_is_collapsed_not_prose() {
    let html = page("---\nrunbook: x\n---\n# T\n");
    assert!(
        html.starts_with(
            "<details class=\"front-matter\"><summary>Front matter</summary><pre><code class=\"language-yaml\">---\nrunbook: x\n---\n</code></pre></details>\n<h1"
        ),
        "{html}"
    );
    assert!(!page("# T\n\n---\n\ntext\n").contains("<details"));
}

#[test]
fn the_audit_catches_what_it_looks_for() {
    for bad in [
        "<script>alert(1)</script>",
        "<p>x <img src=\"x\"></p>",
        "<a href=\"javascript:alert(1)\">x</a>",
        "<a href=\" JaVa&#x09;Script&colon;alert(1)\">x</a>",
        "<a href=\"&#106;avascript:alert(1)\">x</a>",
        "<p onclick=\"alert(1)\">x</p>",
        "<a href=x>y</a>",
        "<a title=\"a\" onmouseover=\"alert(1)\">y</a>",
        "<span title=\"x\"><b\">y</span>",
        "<p>x < y</p>",
    ] {
        assert!(audit(bad).is_err(), "{bad} passed");
    }
    assert_eq!(audit("<p>x &lt;script&gt; <a href=\"https://a.example/?q=1&amp;r=2\">y</a></p><hr />"), Ok(()));
}

#[test]
fn rendering_is_deterministic() {
    let parsed = runbook::parse(Path::new("test.md"), FIXTURE);
    assert_eq!(render(&parsed.runbook, FIXTURE), render(&parsed.runbook, FIXTURE));
}

/// Fragments that have broken HTML renderers, combined at random (a fixed
/// seed, so a failure reproduces): the fuzz target's property, in every
/// test run.
#[test]
fn no_generated_input_gets_script_into_the_page() {
    const FRAGMENTS: &[&str] = &[
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "<iframe src=javascript:alert(1)>",
        "<svg onload=alert(1)>",
        "<!--",
        "-->",
        "<",
        ">",
        "\"",
        "'",
        "&",
        "&#x3C;script&#x3E;",
        "[x](",
        ")",
        "](",
        "![",
        "[x]: ",
        "javascript:alert(1)",
        "JaVaScRiPt:",
        "java&#x73;cript:",
        "java\tscript:",
        "&#0000106avascript:",
        "data:text/html,<script>",
        "vbscript:",
        "<javascript:alert(1)>",
        "<https://ok.example>",
        "\n",
        "\n\n",
        "    ",
        "# ",
        "## Option A ",
        "Heading\n===\n",
        "```",
        "```checks\n",
        "```sh {name=\"",
        "{confirm rollback}",
        "\n```\n",
        "~~~",
        "- name: ",
        "  tcp: ",
        "- use: ",
        "- [ ] ",
        "- [x] ",
        "> ",
        "| a | b |\n|---|:-:|\n| ",
        "[^1]",
        "[^1]: ",
        "---\n",
        "+++\n",
        "`",
        "*",
        "~~",
        "\u{feff}",
        "é",
        "\t",
        "\\",
    ];
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        // xorshift64*: enough spread for picking fragments, no dependency.
        seed ^= seed >> 12;
        seed ^= seed << 25;
        seed ^= seed >> 27;
        seed.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    for _ in 0..500 {
        let count = 1 + next() % 24;
        let input: String =
            (0..count).map(|_| FRAGMENTS[usize::try_from(next() % FRAGMENTS.len() as u64).unwrap()]).collect();
        page(&input);
    }
}
