//! The text-format parser and series selectors.

use super::*;

const PAGE: &str = r#"# HELP http_requests_total Requests served.
# TYPE http_requests_total counter
http_requests_total{method="get",code="200"} 1027 1395066363000
http_requests_total{method="post",code="500"} 3
  # indented comment
msdos_file_access_time_seconds{path="C:\\DIR\\FILE.TXT",error="Cannot find file:\n\"FILE.TXT\""} 1.458255915e9
odd{note="a=b, c",empty=""} 1
# TYPE rpc_duration_seconds histogram
rpc_duration_seconds_bucket{le="0.05"} 24054
rpc_duration_seconds_bucket{le="+Inf"} 144320
rpc_duration_seconds_sum 53423
rpc_duration_seconds_count 144320
# TYPE quantiles summary
quantiles{quantile="0.99"} NaN
up 1
temperature -Inf
{"my.dotted.metric", zone="a"} 7
trailing_comma{a="1",} 2
"#;

fn samples() -> Vec<Sample> {
    parse(PAGE).expect("the example page parses")
}

fn select(selector: &str) -> Vec<Sample> {
    let selector = Selector::parse(selector).expect("a valid selector");
    samples().into_iter().filter(|s| selector.matches(s)).collect()
}

#[test]
fn samples_keep_names_labels_values_and_skip_comments_and_timestamps() {
    let all = samples();
    assert_eq!(all.len(), 13);
    assert_eq!(all[0].name, "http_requests_total");
    assert_eq!(all[0].labels, vec![("method".to_owned(), "get".to_owned()), ("code".to_owned(), "200".to_owned())]);
    assert!((all[0].value - 1027.0).abs() < f64::EPSILON);
}

#[test]
fn label_values_are_unescaped_and_may_hold_commas_and_equals() {
    let all = samples();
    assert_eq!(all[2].labels[0].1, r"C:\DIR\FILE.TXT");
    assert_eq!(all[2].labels[1].1, "Cannot find file:\n\"FILE.TXT\"");
    assert_eq!(all[3].labels, vec![("note".to_owned(), "a=b, c".to_owned()), ("empty".to_owned(), String::new())]);
}

#[test]
fn special_values_and_quoted_names_parse() {
    assert!(select("quantiles")[0].value.is_nan());
    let temperature = select("temperature")[0].value;
    assert!(temperature.is_infinite() && temperature < 0.0);
    assert!((select(r#"rpc_duration_seconds_bucket{le="+Inf"}"#)[0].value - 144_320.0).abs() < f64::EPSILON);
    assert!(Selector::parse("my.dotted.metric").is_err(), "a dotted name is matched with `__name__`");
    assert_eq!(select(r#"{__name__="my.dotted.metric"}"#)[0].labels, vec![("zone".to_owned(), "a".to_owned())]);
    assert!((select("trailing_comma")[0].value - 2.0).abs() < f64::EPSILON);
}

#[test]
fn selectors_support_all_four_matchers_anchored_like_promql() {
    assert_eq!(select(r#"http_requests_total{code="200"}"#).len(), 1);
    assert_eq!(select(r#"http_requests_total{code!="200"}"#).len(), 1);
    assert_eq!(select(r#"http_requests_total{code=~"2.."}"#).len(), 1);
    assert_eq!(select(r#"http_requests_total{code=~"2"}"#).len(), 0, "regexes match the whole value");
    assert_eq!(select(r#"http_requests_total{method!~"get|put"}"#).len(), 1);
    assert_eq!(select("http_requests_total").len(), 2);
    assert_eq!(select(r#"odd{missing=""}"#).len(), 1, "an absent label reads as empty");
    assert_eq!(select(r#"{__name__=~"rpc_.*"}"#).len(), 4);
    assert_eq!(select("http_requests_total{method='post', code=\"500\"}").len(), 1);
}

#[test]
fn bad_selectors_say_what_is_wrong() {
    assert!(Selector::parse("up{job=api}").unwrap_err().contains("quoted"));
    assert!(Selector::parse(r#"up{job=~"("}"#).unwrap_err().contains("not a regular expression"));
    assert!(Selector::parse(r#"up{job~"a"}"#).unwrap_err().contains("expected `=`"));
    assert!(Selector::parse("").is_err());
    assert!(Selector::parse("up extra").unwrap_err().contains("unexpected"));
}

#[test]
fn html_is_not_the_text_format_and_the_error_names_the_line() {
    let error = parse("<!DOCTYPE html>\n<html><body>Login</body></html>\n").unwrap_err();
    assert_eq!(error.line, 1);
    assert_eq!(error.to_string(), "line 1: expected a metric name: `<!DOCTYPE html>`");

    let error = parse("up 1\nup{job=\"a\" 1\n").unwrap_err();
    assert_eq!(error.line, 2);
    assert!(error.why.contains("expected `,` or `}`"), "{}", error.why);

    assert!(parse("up one\n").unwrap_err().why.contains("not a number"));
    assert!(parse("up\n").unwrap_err().why.contains("no value"));
    assert!(parse("up{job=\"a} 1\n").unwrap_err().why.contains("not closed"));
}

#[test]
fn openmetrics_eof_and_exemplars_are_accepted() {
    let page = "# TYPE foo counter\nfoo_total 17.0 1520879607.789 # {trace_id=\"KOO5S4vxi0o\"} 0.67\n# EOF\n";
    let all = parse(page).expect("OpenMetrics parses");
    assert_eq!(all.len(), 1);
    assert!((all[0].value - 17.0).abs() < f64::EPSILON);
}
