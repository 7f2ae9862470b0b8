//! What rendered runbook HTML must never contain, checked from the outside:
//! the unit tests and the `render` fuzz target share this file (the fuzz
//! target includes it with `#[path]`), so it uses nothing but `std`.
//!
//! It reads the output as a browser would meet it: every tag must be one the
//! renderer writes, with attributes it writes, and every `href` must keep a
//! harmless scheme once entities, tabs and newlines are accounted for.

/// Elements the renderer and pulldown-cmark's writer produce.
const TAGS: &[&str] = &[
    "a",
    "blockquote",
    "br",
    "code",
    "del",
    "details",
    "div",
    "em",
    "figcaption",
    "figure",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "input",
    "li",
    "ol",
    "p",
    "pre",
    "span",
    "strong",
    "summary",
    "sup",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
];

/// Attributes they carry (`data-*` aside).
const ATTRIBUTES: &[&str] = &["href", "title", "id", "class", "disabled", "type", "checked", "start", "style"];

/// `Err` names the first thing in `html` a page must not contain.
pub fn audit(html: &str) -> Result<(), String> {
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        let tag = &rest[open + 1..];
        let end = tag.find('>').ok_or_else(|| format!("a `<` that opens no tag: {}", excerpt(tag)))?;
        let inside = &tag[..end];
        let inside = inside.strip_prefix('/').unwrap_or(inside);
        let inside = inside.strip_suffix('/').unwrap_or(inside);
        let name_end = inside.find(|c: char| c.is_ascii_whitespace()).unwrap_or(inside.len());
        let name = &inside[..name_end];
        if !TAGS.contains(&name) {
            return Err(format!("element `{name}` in {}", excerpt(&rest[open..])));
        }
        attributes(&inside[name_end..]).map_err(|why| format!("{why} in {}", excerpt(&rest[open..])))?;
        rest = &tag[end + 1..];
    }
    Ok(())
}

/// Checks `name="value"` pairs; values must be double-quoted, as the
/// renderer writes them, so nothing can end one early.
fn attributes(mut text: &str) -> Result<(), String> {
    loop {
        text = text.trim_start();
        if text.is_empty() {
            return Ok(());
        }
        let name_end = text.find(|c: char| c == '=' || c.is_ascii_whitespace()).unwrap_or(text.len());
        let name = &text[..name_end];
        if !(ATTRIBUTES.contains(&name) || name.starts_with("data-")) {
            return Err(format!("attribute `{name}`"));
        }
        text = &text[name_end..];
        let Some(value) = text.strip_prefix("=\"") else { continue };
        let close = value.find('"').ok_or("an attribute value that never ends")?;
        if value[..close].contains(['<', '>']) {
            return Err(format!("an unescaped `<` or `>` in attribute `{name}`"));
        }
        if name == "href" && !safe_href(&value[..close]) {
            return Err(format!("href `{}`", &value[..close]));
        }
        text = &value[close + 1..];
    }
}

fn safe_href(value: &str) -> bool {
    let decoded = decode(value);
    let cleaned: String = decoded.chars().filter(|c| !matches!(c, '\t' | '\n' | '\r')).collect();
    let lower = cleaned.trim_matches(|c: char| c <= ' ').to_ascii_lowercase();
    !["javascript:", "vbscript:", "data:", "file:"].iter().any(|scheme| lower.starts_with(scheme))
}

/// Character references decoded once, as a browser does in an attribute.
fn decode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let end = after.find(';').filter(|&end| end <= 10);
        let decoded = end.and_then(|end| match &after[..end] {
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "colon" => Some(':'),
            "Tab" => Some('\t'),
            "NewLine" => Some('\n'),
            reference => {
                let number = reference.strip_prefix('#')?;
                let code = match number.strip_prefix(['x', 'X']) {
                    Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                    None => number.parse().ok()?,
                };
                char::from_u32(code)
            }
        });
        if let (Some(c), Some(end)) = (decoded, end) {
            out.push(c);
            rest = &after[end + 1..];
        } else {
            out.push('&');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

fn excerpt(text: &str) -> String {
    text.chars().take(80).collect()
}
