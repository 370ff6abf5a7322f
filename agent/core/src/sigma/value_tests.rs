//! Tests of value patterns and modifiers (`value.rs`).
use super::*;

fn mods(s: &str) -> Modifiers {
    Modifiers::parse(s.split('|').filter(|x| !x.is_empty())).expect("modifiers parse")
}

fn hit(value: &str, m: &str, field: &str) -> bool {
    let t = Text::new(field.to_owned());
    compile(&Scalar::Str(value.into()), &mods(m))
        .expect("compiles")
        .iter()
        .any(|p| p.matches(Some(&t)))
}

#[test]
fn plain_value_is_exact_and_case_insensitive() {
    assert!(hit("/usr/bin/Curl", "", "/usr/bin/curl"));
    assert!(!hit("/usr/bin/curl", "", "/usr/bin/curl2"));
    assert!(!hit("curl", "", "/usr/bin/curl"));
}

#[test]
fn contains_startswith_endswith() {
    assert!(hit("base64 -d", "contains", "echo x | BASE64 -d | sh"));
    assert!(!hit("base64 -d", "contains", "base64 -e"));
    assert!(hit("/tmp/", "startswith", "/tmp/x"));
    assert!(!hit("/tmp/", "startswith", "/var/tmp/x"));
    assert!(hit("/nc", "endswith", "/usr/bin/nc"));
    assert!(!hit("/nc", "endswith", "/usr/bin/ncat"));
}

#[test]
fn wildcards_and_escapes() {
    assert!(hit("/usr/*/python?", "", "/usr/local/bin/python3"));
    assert!(!hit("/usr/*/python?", "", "/usr/local/bin/python"));
    assert!(hit("a\\*b", "", "a*b"));
    assert!(!hit("a\\*b", "", "axb"));
    assert!(hit("c:\\windows", "", "C:\\Windows"));
    assert!(hit("*x*y*", "", "__x__y__"));
    assert!(!hit("*x*y*", "", "__y__x__"));
    assert!(hit("/bin/*sh", "endswith", "/usr/bin/bash"));
}

#[test]
fn all_is_a_list_property_and_parses() {
    assert!(mods("contains|all").all);
    assert!(Modifiers::parse(["utf16le"].into_iter()).is_err());
    assert!(Modifiers::parse(["contains", "startswith"].into_iter()).is_err());
    assert!(Modifiers::parse(["re", "contains"].into_iter()).is_err());
    assert!(Modifiers::parse(["i"].into_iter()).is_err());
}

#[test]
fn regex_is_a_case_sensitive_search_with_flags() {
    assert!(hit("ab+c", "re", "xxabbbcxx"));
    assert!(!hit("ab+c", "re", "ABBC"));
    assert!(hit("ab+c", "re|i", "ABBC"));
    let err = compile(&Scalar::Str("(?<=a)b".into()), &mods("re")).expect_err("lookbehind");
    assert!(matches!(err, ValueError::Regex(_)), "{err}");
    // ASCII classes as in PCRE: a Unicode digit is not `\d`.
    assert!(hit("^[0-9a-z]+\\d$", "re", "abc1"));
    assert!(!hit("x\\d", "re", "x\u{0663}"));
}

#[test]
fn cidr_matches_by_prefix_and_family() {
    assert!(hit("10.0.0.0/8", "cidr", "10.20.30.40"));
    assert!(!hit("10.0.0.0/8", "cidr", "11.0.0.1"));
    assert!(hit("fe80::/10", "cidr", "fe80::1"));
    assert!(!hit("fe80::/10", "cidr", "10.0.0.1"));
    assert!(hit("0.0.0.0/0", "cidr", "8.8.8.8"));
    assert!(!hit("10.0.0.0/8", "cidr", "not-an-ip"));
    assert!(compile(&Scalar::Str("10.0.0.0/33".into()), &mods("cidr")).is_err());
}

#[test]
fn windash_expands_option_dashes() {
    assert!(hit("-enc", "windash|contains", "x /enc y"));
    assert!(hit("-enc", "windash|contains", "x \u{2013}enc y"));
    assert!(!hit("-enc", "windash|contains", "x +enc y"));
}

#[test]
fn base64_is_exact_encoding() {
    assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    assert_eq!(base64(b"fo"), "Zm8=");
    assert!(hit(
        "/bin/sh",
        "base64|contains",
        "echo L2Jpbi9zaA== | base64 -d"
    ));
    assert!(!hit("/bin/sh", "base64|contains", "echo l2jpbi9zaa== |"));
}

#[test]
fn base64offset_finds_the_value_at_any_alignment() {
    let needle = b"/bin/sh";
    for pre in ["", "x", "xy", "xyz"] {
        let mut data = pre.as_bytes().to_vec();
        data.extend_from_slice(needle);
        data.extend_from_slice(b" -c id");
        let enc = base64(&data);
        assert!(
            hit("/bin/sh", "base64offset|contains", &enc),
            "{pre:?} {enc}"
        );
    }
    assert!(!hit(
        "/bin/sh",
        "base64offset|contains",
        &base64(b"/bin/bash -c id")
    ));
}

#[test]
fn truncated_values_decide_only_what_the_prefix_proves() {
    let cut = |s: &str| Text::with_truncation(s.to_owned(), true);
    let eval = |value: &str, m: &str, t: &Text| {
        compile(&Scalar::Str(value.into()), &mods(m)).expect("compiles")[0].eval(Some(t))
    };
    let t = cut("tar czf /tmp/x.tgz /");
    assert_eq!(eval("/tmp/", "contains", &t), Tri::True);
    assert_eq!(eval("/etc/shadow", "contains", &t), Tri::Unknown);
    assert_eq!(eval(" /", "endswith", &t), Tri::Unknown);
    assert_eq!(eval("tar ", "startswith", &t), Tri::True);
    assert_eq!(eval("zip ", "startswith", &t), Tri::False);
    assert_eq!(
        eval("tar czf /tmp/x.tgz / --exclude", "startswith", &t),
        Tri::Unknown
    );
    assert_eq!(eval("tar czf /tmp/x.tgz /", "", &t), Tri::Unknown);
    assert_eq!(eval("tar", "", &t), Tri::False);
    assert_eq!(eval("c[a-z]f", "re", &t), Tri::True);
    assert_eq!(eval("/$", "re", &t), Tri::Unknown);
    assert_eq!(eval("tar*", "", &t), Tri::True);
    assert_eq!(eval("*.tgz", "", &t), Tri::Unknown);
    // A complete value is two-valued as before.
    assert_eq!(
        eval(" /", "endswith", &Text::new("tar czf /tmp/x.tgz /".into())),
        Tri::True
    );
}

#[test]
fn null_and_exists() {
    let p = compile(&Scalar::Null, &Modifiers::default()).expect("null");
    assert!(p[0].matches(None));
    assert!(p[0].matches(Some(&Text::new(String::new()))));
    assert!(!p[0].matches(Some(&Text::new("x".into()))));
    let e = compile(&Scalar::Str("true".into()), &mods("exists")).expect("exists");
    assert!(e[0].matches(Some(&Text::new("x".into()))));
    assert!(!e[0].matches(None));
}
