//! Column definitions, parsed by sqlparser (name, data type and every column attribute,
//! including generated-column and default expressions).

use sqlparser::ast::{ColumnOption, GeneratedAs};
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;

use super::data_type::{normalize_type, render_type};
use super::{fail, ColumnDefn, Failure, R};
use crate::history::dialect::{FerryDialect, MARK};

/// Parses `name type [attributes]` with sqlparser; `toks` is exactly the definition.
pub(super) fn parse_column_def(toks: &[Token], d: &FerryDialect) -> R<ColumnDefn> {
    match parse_column_def_with(toks, d) {
        Ok(c) => Ok(c),
        Err(first) => {
            // The model does not need default, generated or check expressions: retry with
            // each parenthesized expression replaced by `0`, in case sqlparser does not know
            // a function or operator used in it.
            let neutral = neutralize_expressions(toks);
            if neutral.as_slice() != toks {
                if let Ok(c) = parse_column_def_with(&neutral, d) {
                    return Ok(c);
                }
            }
            Err(first)
        }
    }
}

fn neutralize_expressions(toks: &[Token]) -> Vec<Token> {
    let mut out = Vec::with_capacity(toks.len());
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i];
        out.push(t.clone());
        i += 1;
        let introduces_expr = matches!(t, Token::Word(w) if w.quote_style.is_none()
            && ["AS", "DEFAULT", "CHECK"].iter().any(|k| w.value.eq_ignore_ascii_case(k)));
        if introduces_expr && toks.get(i) == Some(&Token::LParen) {
            let mut depth = 0usize;
            while i < toks.len() {
                match &toks[i] {
                    Token::LParen => depth += 1,
                    Token::RParen => depth -= 1,
                    _ => {}
                }
                i += 1;
                if depth == 0 {
                    break;
                }
            }
            out.push(Token::LParen);
            out.push(Token::Number("0".into(), false));
            out.push(Token::RParen);
        }
    }
    out
}

fn parse_column_def_with(toks: &[Token], d: &FerryDialect) -> R<ColumnDefn> {
    let perr = |e: sqlparser::parser::ParserError| Failure {
        unsupported: false,
        reason: e
            .to_string()
            .trim_start_matches("sql parser error: ")
            .to_string(),
    };
    // Type spellings sqlparser does not know: `NATIONAL CHAR|VARCHAR` (it knows `NCHAR`
    // and `NVARCHAR`), `LONG [VARCHAR|VARBINARY]` (MEDIUMTEXT, MEDIUMBLOB).
    let word_at = |i: usize, w: &str| {
        matches!(toks.get(i), Some(Token::Word(x))
            if x.quote_style.is_none() && x.value.eq_ignore_ascii_case(w))
    };
    let national_kw = word_at(1, "NATIONAL");
    let owned;
    let toks = if national_kw {
        let mut v = toks.to_vec();
        v.remove(1);
        owned = v;
        &owned[..]
    } else if word_at(1, "LONG") {
        let mut v = toks.to_vec();
        let (n, ty) = if word_at(2, "VARBINARY") {
            (2, "MEDIUMBLOB")
        } else if word_at(2, "VARCHAR") {
            (2, "MEDIUMTEXT")
        } else {
            (1, "MEDIUMTEXT")
        };
        v.splice(1..1 + n, [Token::make_keyword(ty)]);
        owned = v;
        &owned[..]
    } else {
        toks
    };
    let mut p = Parser::new(d).with_tokens(toks.to_vec());
    let cd = p.parse_column_def().map_err(perr)?;
    if p.peek_token_ref().token != Token::EOF {
        return fail(format!(
            "unexpected `{}` in the definition of column `{}`",
            p.peek_token_ref().token,
            cd.name.value
        ));
    }
    // The type's own tokens, to print it as MySQL does.
    let mut tp = Parser::new(d).with_tokens(toks[1..].to_vec());
    tp.parse_data_type().map_err(perr)?;
    let type_toks = &toks[1..1 + tp.index()];

    let mut c = ColumnDefn {
        name: cd.name.value.clone(),
        ..Default::default()
    };
    let (ty, national) = normalize_type(&render_type(type_toks));
    c.data_type = ty;
    if national || national_kw {
        c.charset = Some("utf8mb3".into());
    }
    if c.data_type == "serial" {
        c.data_type = "bigint unsigned".into();
        c.not_null = true;
        c.unique = true;
    }
    for o in &cd.options {
        match &o.option {
            ColumnOption::NotNull => c.not_null = true,
            ColumnOption::Null => c.not_null = false,
            ColumnOption::PrimaryKey(_) => c.primary = true,
            ColumnOption::Unique(_) => c.unique = true,
            ColumnOption::CharacterSet(n) => c.charset = Some(last_part(n)),
            ColumnOption::Collation(n) => c.collation = Some(last_part(n)),
            ColumnOption::Generated {
                generated_as,
                generation_expr,
                ..
            } => {
                c.generated = generation_expr.is_some()
                    || matches!(generated_as, GeneratedAs::Always | GeneratedAs::ExpStored)
            }
            ColumnOption::Invisible => c.invisible = true,
            ColumnOption::DialectSpecific(ts)
                if ts.first() == Some(&Token::make_word(MARK, None)) =>
            {
                let what = ts.get(1).map(|t| t.to_string()).unwrap_or_default();
                match what.as_str() {
                    "VISIBLE" => c.invisible = false,
                    "BINARY" => c.binary = true,
                    "ASCII" => c.charset = Some("latin1".into()),
                    "UNICODE" => c.charset = Some("ucs2".into()),
                    "BYTE" => c.charset = Some("binary".into()),
                    "GENERATED" => c.generated = true,
                    "SERIAL" => {
                        c.not_null = true;
                        c.unique = true;
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    if c.primary {
        c.not_null = true;
    }
    Ok(c)
}

fn last_part(n: &sqlparser::ast::ObjectName) -> String {
    n.0.last()
        .and_then(|p| p.as_ident())
        .map(|i| i.value.to_lowercase())
        .unwrap_or_else(|| n.to_string().to_lowercase())
}
