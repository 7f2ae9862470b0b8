//! STUB until the render branch lands.

/// Markdown as safe HTML (stub: escaped, preformatted).
pub fn markdown(text: &str) -> String {
    let escaped = text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    format!("<pre>{escaped}</pre>")
}
