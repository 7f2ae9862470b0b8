//! Nagios plugin output: the status text and its performance data, read as
//! the Monitoring Plugins Development Guidelines describe them.
//!
//! `TEXT | 'label'=value[UOM];[warn];[crit];[min];[max] …` on the first
//! line; later lines are long text until one holds a `|`, after which
//! everything is performance data.

use serde_json::{Map, Value, json};

/// The parts of a plugin's standard output.
#[derive(Debug, Default, PartialEq)]
pub struct PluginOutput {
    /// The status text: the first line before any `|`, trimmed.
    pub text: String,
    /// label → `{value, unit, warn, crit, min, max}`.
    pub perfdata: Map<String, Value>,
}

/// Splits a plugin's output into its status text and performance data.
pub fn parse_output(stdout: &str) -> PluginOutput {
    let mut lines = stdout.lines();
    let first = lines.next().unwrap_or_default();
    let (text, mut perf) = match first.split_once('|') {
        Some((text, perf)) => (text.trim(), perf.to_owned()),
        None => (first.trim(), String::new()),
    };
    let mut in_perf = false;
    for line in lines {
        if in_perf {
            perf.push(' ');
            perf.push_str(line);
        } else if let Some((_, after)) = line.split_once('|') {
            in_perf = true;
            perf.push(' ');
            perf.push_str(after);
        }
    }
    PluginOutput { text: text.to_owned(), perfdata: parse(&perf) }
}

/// Parses space-separated performance data; malformed items are skipped.
pub fn parse(text: &str) -> Map<String, Value> {
    let mut perfdata = Map::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        let (label, after) = label(rest);
        let end = after.find(char::is_whitespace).unwrap_or(after.len());
        let (item, next) = after.split_at(end);
        rest = next.trim_start();
        if let (Some(label), Some(data)) = (label, item.strip_prefix('='))
            && !label.is_empty()
        {
            perfdata.insert(label, datum(data));
        }
    }
    perfdata
}

/// Reads a label, quoted (`'disk usage'`, `''` for a quote) or bare, up to
/// its `=`. Returns it (None when malformed) and the text from the `=` on.
fn label(text: &str) -> (Option<String>, &str) {
    if let Some(quoted) = text.strip_prefix('\'') {
        let mut label = String::new();
        let mut chars = quoted.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c != '\'' {
                label.push(c);
            } else if chars.peek().is_some_and(|&(_, next)| next == '\'') {
                label.push('\'');
                chars.next();
            } else {
                return (Some(label), &quoted[i + 1..]);
            }
        }
        return (None, "");
    }
    let end = text.find(|c: char| c == '=' || c.is_whitespace()).unwrap_or(text.len());
    (Some(text[..end].to_owned()), &text[end..])
}

/// `12.5ms;10;20;0;` → `{value: 12.5, unit: "ms", warn: "10", crit: "20", min: 0, max: null}`.
fn datum(text: &str) -> Value {
    let mut fields = text.split(';');
    let first = fields.next().unwrap_or_default();
    let split = first.find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+'))).unwrap_or(first.len());
    let (number, unit) = first.split_at(split);
    let mut field = || fields.next().map(str::trim).filter(|f| !f.is_empty());
    // `U` means the plugin could not determine the value.
    let value = number.parse::<f64>().ok();
    let unit = if unit == "U" && value.is_none() { "" } else { unit };
    let (warn, crit) = (field(), field());
    let (min, max) = (field().and_then(|m| m.parse::<f64>().ok()), field().and_then(|m| m.parse::<f64>().ok()));
    json!({
        "value": value,
        "unit": if unit.is_empty() { Value::Null } else { unit.into() },
        "warn": warn,
        "crit": crit,
        "min": min,
        "max": max,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{parse, parse_output};

    #[test]
    fn check_tcp_output_splits_into_text_and_time() {
        let output = parse_output(
            "TCP OK - 0.000 second response time on 127.0.0.1 port 6379|time=0.000459s;;;0.000000;10.000000\n",
        );
        assert_eq!(output.text, "TCP OK - 0.000 second response time on 127.0.0.1 port 6379");
        assert_eq!(
            output.perfdata["time"],
            json!({"value": 0.000_459, "unit": "s", "warn": null, "crit": null, "min": 0.0, "max": 10.0})
        );
    }

    #[test]
    fn quoted_labels_keep_spaces_and_doubled_quotes() {
        let perf = parse("'disk usage /'=42%;80;90 'it''s'=1");
        assert_eq!(perf["disk usage /"]["value"], json!(42.0));
        assert_eq!(perf["disk usage /"]["unit"], json!("%"));
        assert_eq!(perf["it's"]["value"], json!(1.0));
    }

    #[test]
    fn every_guideline_unit_is_kept() {
        for unit in ["s", "ms", "us", "%", "B", "KB", "MB", "GB", "TB", "c"] {
            let perf = parse(&format!("x=3{unit}"));
            assert_eq!(perf["x"]["unit"], json!(unit), "{unit}");
            assert_eq!(perf["x"]["value"], json!(3.0), "{unit}");
        }
    }

    #[test]
    fn ranges_stay_text_and_empty_fields_are_null() {
        let perf = parse("load=1.5;10:20;@10:20;; conns=7;~:5;;0");
        assert_eq!(
            perf["load"],
            json!({"value": 1.5, "unit": null, "warn": "10:20", "crit": "@10:20", "min": null, "max": null})
        );
        assert_eq!(perf["conns"]["warn"], json!("~:5"));
        assert_eq!(perf["conns"]["min"], json!(0.0));
    }

    #[test]
    fn undetermined_and_negative_values() {
        let perf = parse("temp=-4.5 rtt=U");
        assert_eq!(perf["temp"]["value"], json!(-4.5));
        assert_eq!(perf["rtt"]["value"], json!(null));
        assert_eq!(perf["rtt"]["unit"], json!(null));
    }

    #[test]
    fn malformed_items_are_skipped_not_fatal() {
        let perf = parse("garbage 'unterminated=1");
        assert!(perf.is_empty());
        let perf = parse("=3 ok=1 junk");
        assert_eq!(perf.keys().collect::<Vec<_>>(), ["ok"]);
    }

    #[test]
    fn long_text_lines_then_more_perfdata() {
        let output = parse_output("DISK OK | a=1\n/ 40%\n/var 50% | b=2\nc=3\n");
        assert_eq!(output.text, "DISK OK");
        assert_eq!(output.perfdata.keys().collect::<Vec<_>>(), ["a", "b", "c"]);
    }
}
