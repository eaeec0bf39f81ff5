//! The sqlparser [`Dialect`] of the schema model: MySQL's, with the statement's `sql_mode`
//! (`ANSI_QUOTES`, `NO_BACKSLASH_ESCAPES`) and the column attributes of MySQL and MariaDB
//! that sqlparser does not know.

use std::any::TypeId;

use sqlparser::ast::{ColumnOption, Expr, ObjectName};
use sqlparser::dialect::{Dialect, MySqlDialect, Precedence};
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::Token;

/// Marker carried by [`ColumnOption::DialectSpecific`] for the attributes read here.
pub(super) const MARK: &str = "__ferry";

/// MySQL's dialect under a session `sql_mode`.
///
/// It reports [`MySqlDialect`]'s type id so that every MySQL-specific rule of the parser
/// (`dialect_of!(self is MySqlDialect)`) still applies.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FerryDialect {
    pub ansi_quotes: bool,
    pub no_backslash_escapes: bool,
}

const M: MySqlDialect = MySqlDialect {};

/// Implements each named `fn name(&self) -> bool` of [`Dialect`] as [`MySqlDialect`]'s.
macro_rules! as_mysql {
    ($($name:ident),* $(,)?) => {
        $(
            fn $name(&self) -> bool {
                M.$name()
            }
        )*
    };
}

fn word_is(parser: &Parser, n: usize, w: &str) -> bool {
    match &parser.peek_nth_token_ref(n).token {
        Token::Word(word) => word.quote_style.is_none() && word.value.eq_ignore_ascii_case(w),
        _ => false,
    }
}

fn marker(parts: &[&str]) -> ColumnOption {
    let mut v = vec![Token::make_word(MARK, None)];
    v.extend(parts.iter().map(|p| Token::make_word(p, None)));
    ColumnOption::DialectSpecific(v)
}

/// Skips `[=] value` (a single token).
fn skip_value(parser: &mut Parser) {
    let _ = parser.consume_token(&Token::Eq);
    parser.next_token();
}

impl FerryDialect {
    fn extra_column_option(&self, p: &mut Parser) -> Result<Option<ColumnOption>, ParserError> {
        // MariaDB system versioning: `GENERATED ALWAYS AS ROW START|END [INVISIBLE]`.
        if word_is(p, 0, "GENERATED")
            && word_is(p, 1, "ALWAYS")
            && word_is(p, 2, "AS")
            && word_is(p, 3, "ROW")
        {
            for _ in 0..5 {
                p.next_token();
            }
            return Ok(Some(marker(&["GENERATED"])));
        }
        let Token::Word(w) = &p.peek_token_ref().token else {
            return Ok(None);
        };
        if w.quote_style.is_some() {
            return Ok(None);
        }
        let word = w.value.to_ascii_uppercase();
        let opt = match word.as_str() {
            // sqlparser takes single-quoted comments only.
            "COMMENT" if matches!(p.peek_nth_token_ref(1).token, Token::DoubleQuotedString(_)) => {
                p.next_token();
                match p.next_token().token {
                    Token::DoubleQuotedString(s) => ColumnOption::Comment(s),
                    _ => unreachable!("peeked"),
                }
            }
            "VISIBLE" => {
                p.next_token();
                marker(&["VISIBLE"])
            }
            // `CHARSET x` is MySQL's synonym of `CHARACTER SET x`.
            "CHARSET" => {
                p.next_token();
                let name = p.parse_identifier()?;
                ColumnOption::CharacterSet(ObjectName::from(vec![name]))
            }
            // `CHAR(10) BINARY`, `ASCII`, `UNICODE`, `BYTE`: charset shorthands.
            "BINARY" | "ASCII" | "UNICODE" | "BYTE" => {
                p.next_token();
                marker(&[word.as_str()])
            }
            // The storage mode of a generated column (MariaDB writes PERSISTENT).
            "PERSISTENT" | "STORED" | "VIRTUAL" => {
                p.next_token();
                marker(&["STORAGE"])
            }
            "COLUMN_FORMAT"
            | "STORAGE"
            | "REF_SYSTEM_ID"
            | "ENGINE_ATTRIBUTE"
            | "SECONDARY_ENGINE_ATTRIBUTE" => {
                p.next_token();
                skip_value(p);
                marker(&["IGNORED"])
            }
            "COMPRESSED" => {
                p.next_token();
                if p.consume_token(&Token::Eq) {
                    p.next_token();
                }
                marker(&["IGNORED"])
            }
            "NOT" if word_is(p, 1, "SECONDARY") => {
                p.next_token();
                p.next_token();
                marker(&["IGNORED"])
            }
            "WITH" | "WITHOUT" if word_is(p, 1, "SYSTEM") && word_is(p, 2, "VERSIONING") => {
                for _ in 0..3 {
                    p.next_token();
                }
                marker(&["IGNORED"])
            }
            // `SERIAL DEFAULT VALUE`: NOT NULL AUTO_INCREMENT UNIQUE.
            "SERIAL" if word_is(p, 1, "DEFAULT") && word_is(p, 2, "VALUE") => {
                for _ in 0..3 {
                    p.next_token();
                }
                marker(&["SERIAL"])
            }
            _ => return Ok(None),
        };
        Ok(Some(opt))
    }
}

impl Dialect for FerryDialect {
    fn dialect(&self) -> TypeId {
        TypeId::of::<MySqlDialect>()
    }

    fn is_delimited_identifier_start(&self, ch: char) -> bool {
        ch == '`' || (self.ansi_quotes && ch == '"')
    }

    fn identifier_quote_style(&self, _identifier: &str) -> Option<char> {
        Some('`')
    }

    fn supports_string_literal_backslash_escape(&self) -> bool {
        !self.no_backslash_escapes
    }

    fn parse_column_option(
        &self,
        parser: &mut Parser,
    ) -> Result<Option<Result<Option<ColumnOption>, ParserError>>, ParserError> {
        match self.extra_column_option(parser) {
            Ok(Some(opt)) => Ok(Some(Ok(Some(opt)))),
            Ok(None) => Ok(None),
            Err(e) => Ok(Some(Err(e))),
        }
    }

    // Everything else is MySQL's.

    as_mysql!(
        supports_string_literal_concatenation,
        ignores_wildcard_escapes,
        supports_numeric_prefix,
        supports_literal_prefix_in_qualified_name,
        supports_bitwise_shift_operators,
        supports_singular_value_keyword,
        supports_multiline_comment_hints,
        require_interval_qualifier,
        supports_limit_comma,
        supports_create_table_select,
        supports_insert_set,
        supports_user_host_grantee,
        supports_table_hints,
        requires_single_line_comment_whitespace,
        supports_hash_comment,
        supports_match_against,
        supports_select_modifiers,
        supports_set_names,
        supports_comma_separated_set_assignments,
        supports_alter_column_position,
        supports_update_order_by,
        supports_data_type_signed_suffix,
        supports_data_type_zerofill_suffix,
        supports_cross_join_constraint,
        supports_double_ampersand_operator,
        supports_binary_kw_as_cast,
        supports_table_partitions,
        supports_comment_optimizer_hint,
        supports_constraint_keyword_without_name,
        supports_key_column_option,
        supports_group_by_with_modifier,
        supports_left_associative_joins_without_parens,
    );

    fn supports_string_literal_table_alias(&self, explicit: bool) -> bool {
        M.supports_string_literal_table_alias(explicit)
    }
    fn is_identifier_start(&self, ch: char) -> bool {
        M.is_identifier_start(ch)
    }
    fn is_identifier_part(&self, ch: char) -> bool {
        M.is_identifier_part(ch)
    }
    fn parse_infix(
        &self,
        parser: &mut Parser,
        expr: &Expr,
        precedence: u8,
    ) -> Option<Result<Expr, ParserError>> {
        M.parse_infix(parser, expr, precedence)
    }
    fn is_table_factor_alias(&self, explicit: bool, kw: &Keyword, parser: &mut Parser) -> bool {
        M.is_table_factor_alias(explicit, kw, parser)
    }
    fn get_next_precedence(&self, parser: &Parser) -> Option<Result<u8, ParserError>> {
        M.get_next_precedence(parser)
    }
    fn prec_value(&self, prec: Precedence) -> u8 {
        M.prec_value(prec)
    }
}
