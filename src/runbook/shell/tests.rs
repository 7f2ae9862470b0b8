//! The lexer and quoting, including round trips through a real `bash`.

use super::*;

fn words(command: &Command) -> Vec<&str> {
    command.words.iter().map(|w| w.value.as_str()).collect()
}

fn commands(script: &str) -> Vec<Vec<String>> {
    parse(script).commands.iter().map(|c| words(c).into_iter().map(str::to_owned).collect()).collect()
}

fn uses(script: &str) -> Vec<(String, bool)> {
    parse(script).var_uses.into_iter().map(|v| (v.name, v.has_default)).collect()
}

fn assigned(script: &str) -> Vec<String> {
    parse(script).assigned.into_iter().map(|a| a.name).collect()
}

#[test]
fn splits_commands_at_operators_and_newlines() {
    assert_eq!(
        commands("a 1 | b 2 || c && d; e & f |& g\nh ;; i"),
        [["a", "1"].as_slice(), &["b", "2"], &["c"], &["d"], &["e"], &["f"], &["g"], &["h"], &["i"]]
    );
}

#[test]
fn removes_quotes_and_resolves_escapes() {
    assert_eq!(
        commands(r#"echo 'a b' "c \"d\" \$e \x" f\ g $'h\ti\'' $"j""#),
        [["echo", "a b", r#"c "d" $e \x"#, "f g", "h\ti'", "j"]]
    );
}

#[test]
fn word_ranges_include_quotes() {
    let script = parse("echo 'a b' c");
    assert_eq!(script.commands[0].words[1].range, 5..10);
    assert_eq!(script.commands[0].range, 0..12);
}

#[test]
fn comments_only_at_word_start() {
    assert_eq!(commands("echo a#b # c d\n# e\nf"), [vec!["echo", "a#b"], vec!["f"]]);
}

#[test]
fn line_continuation_joins_lines() {
    assert_eq!(commands("curl \\\n  -sS \\\n  http://x"), [["curl", "-sS", "http://x"]]);
    assert_eq!(commands("ec\\\nho"), [["echo"]]);
}

#[test]
fn command_substitution_commands_are_listed_in_source_order() {
    let script = parse("kill -9 $(cat /var/run/sentinel.pid)");
    assert_eq!(script.commands.len(), 2);
    assert_eq!(words(&script.commands[0]), ["kill", "-9", "$(cat /var/run/sentinel.pid)"]);
    assert_eq!(words(&script.commands[1]), ["cat", "/var/run/sentinel.pid"]);
    assert_eq!(script.commands[1].range, 10..35);
    assert_eq!(
        commands("echo `date +%s` \"$(uname -r | tr a b)\""),
        [
            vec!["echo", "`date +%s`", "$(uname -r | tr a b)"],
            vec!["date", "+%s"],
            vec!["uname", "-r"],
            vec!["tr", "a", "b"]
        ]
    );
    assert_eq!(
        commands("diff <(ls a) <(ls b)"),
        [vec!["diff", "<(ls a)", "<(ls b)"], vec!["ls", "a"], vec!["ls", "b"]]
    );
}

#[test]
fn variables_uses_and_defaults() {
    assert_eq!(
        uses(r#"echo $A ${B} ${C:-x} ${D-x} ${E:=x} ${F:?no} ${G:+y} ${#H} ${I%.*} ${J/a/b} "$K" '$L'"#),
        [
            ("A", false),
            ("B", false),
            ("C", true),
            ("D", true),
            ("E", true),
            ("F", true),
            ("G", true),
            ("H", false),
            ("I", false),
            ("J", false),
            ("K", false)
        ]
        .map(|(n, d)| (n.to_owned(), d))
    );
    assert_eq!(
        uses("echo $1 $@ $? $$ $# ${10}").into_iter().map(|u| u.0).collect::<Vec<_>>(),
        ["1", "@", "?", "$", "#", "10"]
    );
    assert_eq!(uses("echo ${A:-$B} $(echo $C) `echo $D` $((E + $F * 2))").len(), 6);
    let script = parse("echo ${NAME:-x}y");
    assert_eq!(script.var_uses[0].range, 5..15);
    assert_eq!(uses("echo \\$A \"\\$B\" $ x$"), []);
}

#[test]
fn assignments() {
    let script = parse("X=1 Y=\"a b\" env\nZ=2");
    assert_eq!(commands("X=1 Y=\"a b\" env\nZ=2"), [["env"]]);
    assert_eq!(
        script.assigned.iter().map(|a| (a.name.as_str(), a.range.clone())).collect::<Vec<_>>(),
        [("X", 0..1), ("Y", 4..5), ("Z", 16..17)]
    );
    assert_eq!(script.commands[0].range, 0..15);
    assert_eq!(assigned("for H in a b; do echo $H; done"), ["H"]);
    assert_eq!(commands("for H in a b; do echo $H; done"), [["echo", "$H"]]);
    assert_eq!(assigned("select S in a b; do :; done"), ["S"]);
    assert_eq!(assigned("read -r -p 'Name: ' A B"), ["A", "B"]);
    assert_eq!(assigned("read -rp prompt A"), ["A"]);
    assert_eq!(assigned("read -a ARR"), ["ARR"]);
    assert_eq!(
        assigned("export A=1 B; local -r C=2; declare -A D; typeset E; readonly F=3"),
        ["A", "B", "C", "D", "E", "F"]
    );
    assert_eq!(assigned("mapfile -t LINES < f; readarray ARR"), ["LINES", "ARR"]);
    assert_eq!(assigned("getopts ab: OPT"), ["OPT"]);
    assert_eq!(assigned("printf -v OUT %s x"), ["OUT"]);
    assert_eq!(assigned("A+=x B[1]=y C=(a b $D)"), ["A", "B", "C"]);
    assert_eq!(assigned("for ((i = 0; i < 3; i++)); do :; done"), ["i", "i"]);
    assert_eq!(assigned("echo X=1"), Vec::<String>::new());
}

#[test]
fn keywords_are_stripped() {
    assert_eq!(
        commands("if ! grep -q x f; then echo y; elif true; then :; else exit 1; fi"),
        [vec!["grep", "-q", "x", "f"], vec!["echo", "y"], vec!["true"], vec![":"], vec!["exit", "1"]]
    );
    // The loop's redirection is kept, on a command without words.
    assert_eq!(
        commands("while read -r l; do echo \"$l\"; done < f"),
        [vec!["read", "-r", "l"], vec!["echo", "$l"], vec![]]
    );
    assert_eq!(
        commands("time -p sleep 1; { a; }; until b; do c; done"),
        [vec!["sleep", "1"], vec!["a"], vec!["b"], vec!["c"]]
    );
    assert_eq!(commands("echo if then"), [["echo", "if", "then"]]);
    assert_eq!(commands("'if' x"), [["if", "x"]]);
}

#[test]
fn case_patterns_are_not_commands() {
    assert_eq!(
        commands("case $1 in\n  start|stop) systemctl $1 x ;;\n  (*) echo no;;\nesac\nafter"),
        [vec!["systemctl", "$1", "x"], vec!["echo", "no"], vec!["after"]]
    );
    assert_eq!(commands("case x in a) b;; esac; c"), [["b"], ["c"]]);
}

#[test]
fn functions_are_not_calls() {
    assert_eq!(
        commands("f() { rm x; }\nfunction g { ls; }\nfunction h() { pwd; }\nf"),
        [vec!["rm", "x"], vec!["ls"], vec!["pwd"], vec!["f"]]
    );
}

#[test]
fn grouping() {
    assert_eq!(commands("(cd /x && make) | tee log"), [vec!["cd", "/x"], vec!["make"], vec!["tee", "log"]]);
    assert_eq!(
        commands("[[ $a > $b && ( -n $c ) ]] && echo y"),
        [vec!["[[", "$a", ">", "$b", "&&", "(", "-n", "$c", ")", "]]"], vec!["echo", "y"]]
    );
    assert_eq!(commands("(( n > 3 )) && echo big"), [["echo", "big"]]);
}

#[test]
fn redirections() {
    let script = parse("cmd a > out 2>&1 >>app 2> err &>all <in <<<'s' >|f 3<&0 >&2 9>&-");
    let ops: Vec<(&str, Option<&str>)> = script.commands[0]
        .redirects
        .iter()
        .map(|r| (r.op.as_str(), r.target.as_ref().map(|t| t.value.as_str())))
        .collect();
    assert_eq!(
        ops,
        [
            (">", Some("out")),
            ("2>&", Some("1")),
            (">>", Some("app")),
            ("2>", Some("err")),
            ("&>", Some("all")),
            ("<", Some("in")),
            ("<<<", Some("s")),
            (">|", Some("f")),
            ("3<&", Some("0")),
            (">&", Some("2")),
            ("9>&", Some("-")),
        ]
    );
    assert_eq!(words(&script.commands[0]), ["cmd", "a"]);
    assert_eq!(parse("> /tmp/x").commands[0].redirects.len(), 1);
    assert_eq!(parse("ls >").commands[0].redirects[0].target, None);
    // `<NAME>` is a placeholder, not two redirections.
    assert_eq!(
        commands("kill -9 <PID> && curl http://x/b/<branch_id>/run > <out-file>"),
        [vec!["kill", "-9", "<PID>"], vec!["curl", "http://x/b/<branch_id>/run"]]
    );
    assert_eq!(parse("cat > <out-file>").commands[0].redirects[0].target.as_ref().unwrap().value, "<out-file>");
    assert_eq!(commands("sort <in >out"), [["sort"]]);
    assert_eq!(commands("echo a \\"), [["echo", "a"]]);
}

#[test]
fn template_placeholders_are_opaque_words() {
    assert_eq!(
        commands("kubectl -n {{ ns }} get deploy/{{ name | default('x y') }} --stanza={{ s }}"),
        [["kubectl", "-n", "{{ ns }}", "get", "deploy/{{ name | default('x y') }}", "--stanza={{ s }}"]]
    );
    assert_eq!(
        commands("echo \"a {{ x | default(\"b\") }} c\" 'd {{ y | default('e') }} f' {{ if }}"),
        [["echo", "a {{ x | default(\"b\") }} c", "d {{ y | default('e') }} f", "{{ if }}"]]
    );
    assert_eq!(assigned("X={{ value }} cmd"), ["X"]);
    assert_eq!(commands("echo {{ unterminated\necho }}"), [vec!["echo", "{{", "unterminated"], vec!["echo", "}}"]]);
}

#[test]
fn heredocs() {
    let text = "psql <<SQL\nDROP TABLE $T;\nSQL\ncat <<-'EOF' | grep x\n\tno $EXPANSION\n\tEOF\necho done\n";
    let script = parse(text);
    assert_eq!(
        script.commands.iter().map(|c| c.words[0].value.as_str()).collect::<Vec<_>>(),
        ["psql", "cat", "grep", "echo"]
    );
    let psql = &script.commands[0].heredocs[0];
    assert_eq!(&text[psql.body.clone()], "DROP TABLE $T;\n");
    assert!(psql.expands);
    let cat = &script.commands[1].heredocs[0];
    assert_eq!(&text[cat.body.clone()], "\tno $EXPANSION\n");
    assert!(!cat.expands);
    assert_eq!(script.var_uses.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(), ["T"]);
    for quoted in ["<<\"EOF\"", "<<\\EOF", "<< 'EOF'"] {
        let script = parse(&format!("cat {quoted}\n$X\nEOF\n"));
        assert!(!script.commands[0].heredocs[0].expands, "{quoted}");
        assert!(script.var_uses.is_empty());
    }
    // Unterminated: the body runs to the end.
    let script = parse("cat <<EOF\nrm -rf /\n");
    assert_eq!(script.commands.len(), 1);
    assert_eq!(script.commands[0].heredocs[0].body, 10..19);
    // Two on one line, bodies in order.
    let text = "cat <<A <<B\na\nA\nb\nB\n";
    let bodies: Vec<&str> = parse(text).commands[0].heredocs.iter().map(|h| &text[h.body.clone()]).collect();
    assert_eq!(bodies, ["a\n", "b\n"]);
    // Inside a command substitution.
    let text = "x=$(cat <<EOF\nhello\nEOF\n)\necho $x";
    let script = parse(text);
    assert_eq!(commands(text), [vec!["cat"], vec!["echo", "$x"]]);
    assert_eq!(&text[script.commands[0].heredocs[0].body.clone()], "hello\n");
}

#[test]
fn quote_contexts() {
    let s = "echo a 'b c' \"d $(e 'f') g\" # h\ncat <<'X'\ni\nX\ncat <<Y\nj\nY\n";
    let at = |needle: &str| quote_context(s, s.find(needle).unwrap());
    assert_eq!(at("a "), QuoteContext::Unquoted);
    assert_eq!(at("'b"), QuoteContext::Unquoted);
    assert_eq!(at("b c"), QuoteContext::SingleQuoted);
    assert_eq!(at("' \"d"), QuoteContext::SingleQuoted);
    assert_eq!(at("d $"), QuoteContext::DoubleQuoted);
    assert_eq!(at("e '"), QuoteContext::Unquoted);
    assert_eq!(at("f'"), QuoteContext::SingleQuoted);
    assert_eq!(at(" g"), QuoteContext::DoubleQuoted);
    assert_eq!(at(" h"), QuoteContext::Comment);
    assert_eq!(at("i\n"), QuoteContext::HeredocLiteral);
    assert_eq!(at("j\n"), QuoteContext::HeredocExpanding);
    assert_eq!(quote_context("echo {{ x }}", 5), QuoteContext::Unquoted);
    assert_eq!(quote_context("echo \"{{ x }}\"", 6), QuoteContext::DoubleQuoted);
    assert_eq!(quote_context("echo '{{ x }}'", 6), QuoteContext::SingleQuoted);
    assert_eq!(quote_context("echo `{{ x }}`", 6), QuoteContext::Unquoted);
    assert_eq!(quote_context("x", 1000), QuoteContext::Unquoted);
}

#[test]
fn quote_rules() {
    assert_eq!(quote("abc-1.2/x:y@z%,+=_", QuoteContext::Unquoted), "abc-1.2/x:y@z%,+=_");
    assert_eq!(quote("", QuoteContext::Unquoted), "''");
    assert_eq!(quote("it's", QuoteContext::Unquoted), r"'it'\''s'");
    assert_eq!(quote("it's", QuoteContext::SingleQuoted), r"it'\''s");
    assert_eq!(quote(r#"a"$`\b"#, QuoteContext::DoubleQuoted), r#"a\"\$\`\\b"#);
    assert_eq!(quote("$x 'y'", QuoteContext::Comment), "$x 'y'");
    assert_eq!(quote("a\nb\r\nc", QuoteContext::Comment), "a b  c");
    assert_eq!(quote(r#"a"$`\b"#, QuoteContext::HeredocExpanding), r#"a"\$\`\\b"#);
    assert_eq!(quote("$x 'y'\nEOF", QuoteContext::HeredocLiteral), "$x 'y' EOF");
}

const NASTY: &[&str] = &[
    "",
    "plain",
    "two words",
    "  leading and trailing  ",
    "it's",
    "'",
    "''",
    "\"",
    "a\"b'c",
    "$(touch /tmp/runwell-quote-pwned)",
    "`touch /tmp/runwell-quote-pwned`",
    "${HOME}",
    "$HOME",
    "\\",
    "back\\slash\\",
    "new\nline",
    "\n",
    "a;b",
    "; rm -rf /tmp/runwell-never",
    "*",
    "?",
    "[a]",
    "~",
    "~root",
    "!",
    "!!",
    "a && b || c | d & e",
    "#not a comment",
    "{a,b}",
    "x=1",
    "-n",
    "tab\there",
    "unicode: ünïcødé ✓ 日本",
    "emoji 🚀",
    "<in >out",
    "%s %d",
];

/// Runs `bash -c` on a script that prints its first argument's words.
fn bash_words(script: &str) -> Vec<String> {
    let output =
        std::process::Command::new("bash").arg("-c").arg(script).env_remove("BASH_ENV").output().expect("bash runs");
    assert!(output.status.success(), "{script}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("utf-8").split('\0').map(str::to_owned).collect()
}

/// Runs `bash -c` on `script` in `dir` and returns what it prints.
fn bash_output(script: &str, dir: &std::path::Path) -> String {
    let output = std::process::Command::new("bash")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .env_remove("BASH_ENV")
        .output()
        .expect("bash runs");
    assert!(output.status.success(), "{script:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("utf-8")
}

#[test]
fn quoted_values_read_back_exactly_in_bash() {
    for value in NASTY {
        let cases = [
            format!("printf '%s\\0' {}; printf END", quote(value, QuoteContext::Unquoted)),
            format!("printf '%s\\0' '{}'; printf END", quote(value, QuoteContext::SingleQuoted)),
            format!("printf '%s\\0' \"{}\"; printf END", quote(value, QuoteContext::DoubleQuoted)),
            format!("printf '%s\\0' x{}y; printf END", quote(value, QuoteContext::Unquoted)),
        ];
        for (i, script) in cases.iter().enumerate() {
            let expected = if i == 3 { format!("x{value}y") } else { (*value).to_owned() };
            assert_eq!(bash_words(script), [expected, "END".to_owned()], "script: {script}");
        }
    }
    assert!(!std::path::Path::new("/tmp/runwell-quote-pwned").exists());

    // Where a line break ends the quoting: a comment, a here-document body.
    // There the value comes back on one line, and nothing after it runs.
    let dir = tempfile::tempdir().expect("a temp dir");
    let pwned = dir.path().join("pwned");
    let pwned = pwned.display();
    let breakouts = [
        format!("x\ntouch {pwned}-lf-$$"),
        format!("x\rtouch {pwned}-cr"),
        format!("x\r\ntouch {pwned}-crlf"),
        format!("x\nEOF\ntouch {pwned}-heredoc"),
        format!("x\r\nEOF\r\ntouch {pwned}-heredoc-crlf"),
        format!("\nEOF\n\tEOF\ntouch {pwned}-tabs\n"),
    ];
    let values = NASTY.iter().copied().chain(breakouts.iter().map(String::as_str));
    for value in values {
        let flat = value.replace(['\r', '\n'], " ");
        let read_back = format!("pre{flat}post\nEND");
        let cases = [
            ("printf A # pre{}post\nprintf END", QuoteContext::Comment, "AEND"),
            ("cat <<EOF\npre{}post\nEOF\nprintf END", QuoteContext::HeredocExpanding, &read_back),
            ("cat <<-EOF\n\tpre{}post\n\tEOF\nprintf END", QuoteContext::HeredocExpanding, &read_back),
            ("cat <<'EOF'\npre{}post\nEOF\nprintf END", QuoteContext::HeredocLiteral, &read_back),
        ];
        for (template, context, expected) in cases {
            assert_eq!(quote_context(template, template.find("{}").unwrap()), context, "{template:?}");
            let script = template.replace("{}", &quote(value, context));
            assert_eq!(bash_output(&script, dir.path()), expected, "script: {script:?}");
        }
    }
    let ran: Vec<_> = std::fs::read_dir(dir.path()).expect("readable").map(|e| e.expect("entry").file_name()).collect();
    assert!(ran.is_empty(), "ran after the value: {ran:?}");
}

#[test]
fn quote_uses_the_context_of_the_placeholder() {
    // (template, what bash should print around the value)
    let templates = [
        ("{}", "", ""),
        ("'{}'", "", ""),
        ("\"{}\"", "", ""),
        ("pre{}post", "pre", "post"),
        ("\"a $(printf %s '{}')\"", "a ", ""),
        ("\"a `printf %s {}`\"", "a ", ""),
    ];
    for value in NASTY {
        for (template, prefix, suffix) in templates {
            if template.contains("printf %s") && value.ends_with('\n') {
                // Command substitution strips trailing newlines, by design.
                continue;
            }
            if template.contains('`') && value.contains(['`', '\\']) {
                // The documented limit of backticks: see `quote_context`.
                continue;
            }
            let script = format!("printf '%s\\0' {template}; printf END");
            let offset = script.find("{}").unwrap();
            let quoted = quote(value, quote_context(&script, offset));
            let script = script.replace("{}", &quoted);
            assert_eq!(bash_words(&script), [format!("{prefix}{value}{suffix}"), "END".to_owned()], "script: {script}");
        }
    }
}

#[test]
fn never_panics_on_hostile_input() {
    let pieces = [
        "$(", ")", "`", "'", "\"", "${", "}", "$((", "))", "<<", "EOF", "\n", "\\", "#", "é", "日", "🚀", "|", ";;",
        "case", "in", "esac", "for", "x=(", "[[", "<(", "$'", "\\\n", "{", "(", "&>", "2>&", "<<-", "$", "a", " ",
    ];
    // A small deterministic generator: no dependency needed.
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    for _ in 0..3000 {
        let mut script = String::new();
        for _ in 0..(state % 40) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            script.push_str(pieces[(state % pieces.len() as u64) as usize]);
        }
        let parsed = parse(&script);
        for command in &parsed.commands {
            assert!(script.get(command.range.clone()).is_some(), "{script:?}");
            for word in &command.words {
                assert!(script.get(word.range.clone()).is_some(), "{script:?}");
            }
            for heredoc in &command.heredocs {
                assert!(script.get(heredoc.body.clone()).is_some(), "{script:?}");
            }
        }
        for offset in 0..=script.len() {
            quote_context(&script, offset);
        }
    }
    // Found by fuzzing: a backslash at the very end.
    for script in ["\n\np\\", "0\u{fffd}\\", "\\", "'\\", "\"\\", "${\\", "$(\\", "`\\"] {
        let parsed = parse(script);
        for command in &parsed.commands {
            assert!(command.range.end <= script.len(), "{script:?}");
            assert!(command.words.iter().all(|w| w.range.end <= script.len()), "{script:?}");
        }
    }
    let deep = "$(".repeat(10_000) + &"`".repeat(1000) + &"${".repeat(10_000) + &"$((".repeat(10_000);
    parse(&deep);
    let deep = "\"$(".repeat(5000);
    parse(&deep);
    let deep = "x=(".repeat(5000);
    parse(&deep);
}
