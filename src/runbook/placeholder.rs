//! Finding placeholders in text: `{{ name }}` templates and `<angle>`
//! placeholders such as `<PID>` or `<branch_db>`.
//!
//! Only the syntax is found here; whether a template names a declared
//! variable is the lint rule's business. Other tools' templates are left
//! alone: Go and Helm's `{{ .Values.x }}`, Prometheus' `{{ $labels.job }}`
//! and GitHub Actions' `${{ secrets.X }}` are not runwell's.

use std::ops::Range;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found<'a> {
    /// `{{ expr }}`: the expression, trimmed of whitespace control.
    Template(&'a str),
    /// `<name>`: the name between the brackets.
    Angle(&'a str),
}

/// Every placeholder in `text` with its byte range.
pub fn find(text: &str, angles: bool) -> Vec<(Range<usize>, Found<'_>)> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        // Most text holds neither character: jump straight to the next candidate.
        let next = if angles { memchr::memchr2(b'{', b'<', &bytes[i..]) } else { memchr::memchr(b'{', &bytes[i..]) };
        let Some(skip) = next else { break };
        i += skip;
        match bytes[i] {
            b'{' if bytes.get(i + 1) == Some(&b'{') => {
                if let Some((end, expr)) = template_at(text, i) {
                    found.push((i..end, Found::Template(expr)));
                    i = end;
                    continue;
                }
                i += 2;
                continue;
            }
            b'<' if angles => {
                if let Some((end, name)) = angle_at(text, i) {
                    found.push((i..end, Found::Angle(name)));
                    i = end;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    found
}

fn template_at(text: &str, start: usize) -> Option<(usize, &str)> {
    if start > 0 && text.as_bytes()[start - 1] == b'$' {
        return None; // GitHub Actions `${{ … }}`
    }
    let rest = &text[start + 2..];
    let line = &rest[..rest.find('\n').unwrap_or(rest.len())];
    let close = line.find("}}")?;
    let end = start + 2 + close + 2;
    let expr = line[..close].trim_start_matches(['-', '+']).trim_end_matches(['-', '+']).trim();
    let first = expr.chars().next()?;
    let ours = (first.is_alphabetic() || first == '_') && !is_go_template(text, start, expr);
    ours.then_some((end, expr))
}

/// Go templates (`kubectl -o go-template`, Helm, Hugo) share the braces:
/// `{{range .items}}…{{end}}`. Their keywords, or a `{{.` / `{{$` on the
/// same line, mark every `{{ }}` on that line as theirs.
fn is_go_template(text: &str, start: usize, expr: &str) -> bool {
    const KEYWORDS: &[&str] = &[
        "end", "else", "range", "if", "with", "define", "template", "block", "println", "printf", "print", "index",
        "len", "not", "and", "or", "eq", "ne", "lt", "le", "gt", "ge", "include", "toYaml", "nindent", "quote",
    ];
    let first_word = expr.split(|c: char| !(c.is_alphanumeric() || c == '_')).next().unwrap_or_default();
    if KEYWORDS.contains(&first_word) {
        return true;
    }
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let line = &text[line_start..line_end];
    ["{{.", "{{ .", "{{$", "{{ $", "{{- .", "{{- $"].iter().any(|marker| line.contains(marker))
}

fn angle_at(text: &str, start: usize) -> Option<(usize, &str)> {
    // Literal tokens that tools print in angle brackets, not placeholders.
    const LITERALS: &[&str] = &["nil", "none", "null", "unknown", "empty", "missing", "pending", "invalid", "redacted"];
    let before = text[..start].chars().next_back();
    if before.is_some_and(|c| c.is_alphanumeric() || c == '<' || c == '_') {
        return None; // `Vec<String>`, `<<EOF`
    }
    let rest = &text[start + 1..];
    let len = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':' | '/')))
        .unwrap_or(rest.len());
    let name = &rest[..len];
    if len == 0 || len > 64 || !rest[len..].starts_with('>') {
        return None;
    }
    let valid = name.starts_with(|c: char| c.is_ascii_alphabetic())
        && !name.contains("://")
        && name.chars().any(|c| c.is_ascii_alphabetic());
    let valid = valid && !LITERALS.iter().any(|l| l.eq_ignore_ascii_case(name));
    valid.then_some((start + 1 + len + 1, name))
}

/// Whether `name` (from `<name>`) is an HTML element a Markdown file may
/// legitimately contain, such as `<details>` or `<br/>`.
pub fn is_html_tag(name: &str) -> bool {
    const TAGS: &[&str] = &[
        "a",
        "abbr",
        "address",
        "article",
        "aside",
        "audio",
        "b",
        "bdi",
        "bdo",
        "blockquote",
        "body",
        "br",
        "button",
        "caption",
        "center",
        "cite",
        "code",
        "col",
        "colgroup",
        "dd",
        "del",
        "details",
        "dfn",
        "div",
        "dl",
        "dt",
        "em",
        "figcaption",
        "figure",
        "font",
        "footer",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "head",
        "header",
        "hr",
        "html",
        "i",
        "iframe",
        "img",
        "input",
        "ins",
        "kbd",
        "li",
        "main",
        "mark",
        "nav",
        "ol",
        "p",
        "picture",
        "pre",
        "q",
        "s",
        "samp",
        "section",
        "small",
        "source",
        "span",
        "strike",
        "strong",
        "sub",
        "summary",
        "sup",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "time",
        "tr",
        "tt",
        "u",
        "ul",
        "var",
        "video",
        "wbr",
    ];
    let name = name.trim_end_matches('/');
    TAGS.iter().any(|tag| tag.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<Found<'_>> {
        find(text, true).into_iter().map(|(_, f)| f).collect()
    }

    #[test]
    fn templates_are_found_and_foreign_ones_left_alone() {
        assert_eq!(
            names("a {{PROJECT_NAME}} b {{ url | upper }}"),
            [Found::Template("PROJECT_NAME"), Found::Template("url | upper")]
        );
        assert_eq!(names("{{- name -}}"), [Found::Template("name")]);
        for foreign in [
            "{{ .Values.image }}",
            "{{ $labels.job }}",
            "${{ secrets.TOKEN }}",
            "{{}}",
            "{{ unclosed",
            "kubectl get pods -o go-template='{{range .items}}{{.metadata.name}}{{end}}'",
            "{{ include \"chart.labels\" . }}",
        ] {
            assert_eq!(names(foreign), [], "{foreign}");
        }
    }

    #[test]
    fn angle_placeholders_are_found_but_not_code_or_shell() {
        assert_eq!(
            names("kill <PID>; psql -d <branch_db> -c x; nc -zv <gateway-ip> 4060"),
            [Found::Angle("PID"), Found::Angle("branch_db"), Found::Angle("gateway-ip")]
        );
        for not_one in [
            "Vec<String>",
            "cat <<EOF",
            "a < b > c",
            "<https://example.com>",
            "x <> y",
            "diff <(a) <(b)",
            "<user@host>",
        ] {
            assert_eq!(names(not_one), [], "{not_one}");
        }
    }

    #[test]
    fn html_tags_are_recognised() {
        assert!(is_html_tag("details"));
        assert!(is_html_tag("BR/"));
        assert!(!is_html_tag("PID"));
    }
}
