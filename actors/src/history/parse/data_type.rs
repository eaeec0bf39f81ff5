//! Data types printed as MySQL prints them: lower case, aliases mapped, default arguments
//! filled in.

use sqlparser::tokenizer::Token;

fn quote_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for ch in s.chars() {
        match ch {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// `DECIMAL(10, 2) UNSIGNED` → `decimal(10,2) unsigned`; `ENUM('a', 'B')` → `enum('a','B')`.
pub(super) fn render_type(toks: &[Token]) -> String {
    let mut s = String::new();
    for t in toks {
        let piece = match t {
            Token::Word(w) => w.value.to_lowercase(),
            Token::Number(n, _) => n.clone(),
            Token::SingleQuotedString(v) | Token::DoubleQuotedString(v) => quote_string(v),
            Token::LParen => {
                s.push('(');
                continue;
            }
            Token::RParen => {
                s.push(')');
                continue;
            }
            Token::Comma => {
                s.push(',');
                continue;
            }
            other => other.to_string(),
        };
        if !s.is_empty() && !s.ends_with('(') && !s.ends_with(',') {
            s.push(' ');
        }
        s.push_str(&piece);
    }
    s
}

/// Maps type aliases to the name MySQL prints; the flag is true for `NATIONAL`/`NCHAR`
/// types (charset utf8mb3).
pub(super) fn normalize_type(t: &str) -> (String, bool) {
    // Split `base(args) rest`.
    let (head, rest) = match t.find('(') {
        Some(i) => {
            let close = t[i..].find(')').map(|j| i + j + 1).unwrap_or(t.len());
            (&t[..close], t[close..].trim())
        }
        None => match t.find(' ') {
            Some(_) => (t, ""),
            None => (t, ""),
        },
    };
    let (base, args) = match head.find('(') {
        Some(i) => (head[..i].trim(), &head[i..]),
        None => (head.trim(), ""),
    };
    // Multi-word bases written without arguments keep their suffix words in `base`.
    let mut national = false;
    let mut words: Vec<&str> = base.split_whitespace().collect();
    let mut suffix: Vec<&str> = Vec::new();
    // Trailing attribute words of an argument-less type (`int unsigned`).
    while let Some(&w) = words.last() {
        if words.len() > 1 && matches!(w, "unsigned" | "signed" | "zerofill") {
            suffix.insert(0, w);
            words.pop();
        } else {
            break;
        }
    }
    if words.first() == Some(&"national") {
        national = true;
        words.remove(0);
    }
    let joined = words.join(" ");
    let (name, default_args): (&str, &str) = match joined.as_str() {
        "integer" | "int4" => ("int", ""),
        "int1" => ("tinyint", ""),
        "int2" => ("smallint", ""),
        "int3" | "middleint" => ("mediumint", ""),
        "int8" => ("bigint", ""),
        "bool" | "boolean" => ("tinyint", "(1)"),
        "dec" | "numeric" | "fixed" | "decimal" => ("decimal", "(10,0)"),
        // `REAL` depends on `REAL_AS_FLOAT`: resolved by the model.
        "double precision" | "float8" => ("double", ""),
        "float4" => ("float", ""),
        "character" | "char" => ("char", "(1)"),
        "nchar" => {
            national = true;
            ("char", "(1)")
        }
        "character varying" | "char varying" => ("varchar", ""),
        "nvarchar" | "nchar varchar" | "nchar varying" => {
            national = true;
            ("varchar", "")
        }
        "varchar" | "character varchar" => ("varchar", ""),
        "long varchar" | "long" => ("mediumtext", ""),
        "long varbinary" => ("mediumblob", ""),
        "binary" => ("binary", "(1)"),
        "bit" => ("bit", "(1)"),
        other => (other, ""),
    };
    let mut args = args.replace(' ', "");
    if args.is_empty() {
        args = default_args.to_string();
    } else if name == "decimal" && !args.contains(',') {
        args = format!("{},0)", args.trim_end_matches(')'));
    } else if name == "float" && !args.contains(',') {
        // FLOAT(p): p <= 24 is FLOAT, else DOUBLE.
        let p: u32 = args
            .trim_matches(|c| c == '(' || c == ')')
            .parse()
            .unwrap_or(0);
        let base = if p > 24 { "double" } else { "float" };
        let mut out = base.to_string();
        push_suffix(&mut out, &suffix, rest);
        return (out, national);
    }
    let mut out = format!("{name}{args}");
    push_suffix(&mut out, &suffix, rest);
    (out, national)
}

fn push_suffix(out: &mut String, suffix: &[&str], rest: &str) {
    for w in suffix
        .iter()
        .copied()
        .chain(rest.split_whitespace())
        .filter(|w| *w != "signed")
    {
        out.push(' ');
        out.push_str(w);
    }
}
