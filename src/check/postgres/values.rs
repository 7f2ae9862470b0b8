//! Values read as text (the simple query protocol) turned into JSON: by the
//! column's type when the statement was described, else by their look.

use serde_json::Value;
use tokio_postgres::types::Type;

/// `text` of a column of type `ty` (or of unknown type, as pgbouncer's
/// admin console sends) as JSON.
pub fn to_json(text: Option<&str>, ty: Option<&Type>) -> Value {
    let Some(text) = text else { return Value::Null };
    match ty {
        Some(&Type::BOOL) => match text {
            "t" => Value::Bool(true),
            "f" => Value::Bool(false),
            other => Value::from(other),
        },
        Some(&(Type::INT2 | Type::INT4 | Type::INT8 | Type::OID | Type::FLOAT4 | Type::FLOAT8 | Type::NUMERIC))
        | None => number(text).unwrap_or_else(|| Value::from(text)),
        Some(&(Type::JSON | Type::JSONB)) => serde_json::from_str(text).unwrap_or_else(|_| Value::from(text)),
        Some(_) => Value::from(text),
    }
}

/// `42` and `-1.5` as numbers; `NaN`, `Infinity` and anything else stay text.
fn number(text: &str) -> Option<Value> {
    if let Ok(n) = text.parse::<i64>() {
        return Some(Value::from(n));
    }
    let looks_numeric =
        !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'));
    if !looks_numeric {
        return None;
    }
    text.parse::<f64>().ok().filter(|f| f.is_finite()).map(Value::from)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn typed_columns_convert_by_type() {
        assert_eq!(to_json(Some("t"), Some(&Type::BOOL)), json!(true));
        assert_eq!(to_json(Some("-7"), Some(&Type::INT8)), json!(-7));
        assert_eq!(to_json(Some("2.50"), Some(&Type::NUMERIC)), json!(2.5));
        assert_eq!(to_json(Some("NaN"), Some(&Type::FLOAT8)), json!("NaN"));
        assert_eq!(to_json(Some(r#"{"a":1}"#), Some(&Type::JSONB)), json!({"a": 1}));
        assert_eq!(to_json(Some("123"), Some(&Type::TEXT)), json!("123"), "text that looks like a number stays text");
        assert_eq!(to_json(None, Some(&Type::TEXT)), Value::Null);
    }

    #[test]
    fn untyped_columns_parse_numbers_only() {
        assert_eq!(to_json(Some("15"), None), json!(15));
        assert_eq!(to_json(Some("0.25"), None), json!(0.25));
        assert_eq!(to_json(Some("session"), None), json!("session"));
        assert_eq!(to_json(Some("1e"), None), json!("1e"));
        assert_eq!(to_json(Some("inf"), None), json!("inf"));
    }
}
