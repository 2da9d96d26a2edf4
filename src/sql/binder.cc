#include "sql/binder_internal.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <map>
#include <set>
#include <string_view>
#include <tuple>

#include "common/stack_guard.h"
#include "sql/formats.h"
#include "sql/system_tables.h"

namespace eddy::sql {

struct ParsedQuery::Impl {
  std::string sql;
  std::vector<SpecialShow> specials;
  PgQuery__ParseResult* tree = nullptr;
  ~Impl() {
    if (tree != nullptr) pg_query__parse_result__free_unpacked(tree, nullptr);
  }
};

// Parsing, statement dispatch, the statements PostgreSQL's grammar lacks (SHOW MATERIALIZED
// VIEWS, SHOW COLUMNS, SHOW CREATE), and the bounds on what the parser may be given.
namespace binding {

SqlError correlated_subquery(int location) {
  return unsupported("a subquery that refers to the query around it (correlated)", location);
}

SqlError unsupported(const std::string& what, int location) {
  return sql_error(sqlstate::kFeatureNotSupported, what + " is not supported yet", location);
}

// The message field name of a node ("SelectStmt"), for "not supported" messages.
std::string node_name(const Node* node) {
  if (node == nullptr) return "empty node";
  const ProtobufCFieldDescriptor* field = protobuf_c_message_descriptor_get_field(
      node->base.descriptor, static_cast<unsigned>(node->node_case));
  if (field == nullptr) return "node";
  std::string name = field->name;
  // snake_case -> CamelCase
  std::string out;
  bool upper = true;
  for (char c : name) {
    if (c == '_') {
      upper = true;
    } else {
      out += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
      upper = false;
    }
  }
  return out;
}

std::string str(const Node* node) {
  if (node != nullptr && node->node_case == PG_QUERY__NODE__NODE_STRING) return node->string->sval;
  return {};
}

std::string lower(std::string s) {
  for (char& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Last element of a qualified name list ("pg_catalog"."lower" -> "lower").
std::string last_name(size_t n, Node** names) {
  return n == 0 ? std::string() : str(names[n - 1]);
}

SqlResult<Plan> Binder::bind_special(const SpecialShow& special) {
  if (special.kind == SpecialShow::kViews) {
    PgQuery__VariableShowStmt show = PG_QUERY__VARIABLE_SHOW_STMT__INIT;
    char name[] = "materialized_views";
    show.name = name;
    return bind_show(&show);
  }
  Plan plan;
  plan.tag = "SHOW";
  plan.variable = special.name;
  if (special.kind == SpecialShow::kColumns) {
    SQL_CHECK(resolve_relation(special.schema, special.name, special.location));
    plan.kind = Plan::Kind::kShowColumns;
    plan.value = special.schema;
    for (size_t i = 0; i < std::size(kDescribeColumnNames); ++i)
      plan.columns.push_back({kDescribeColumnNames[i], kDescribeColumnTypes[i]});
    return plan;
  }
  const bool view = special.kind == SpecialShow::kCreateView;
  const bool public_schema = special.schema.empty() || special.schema == kSchemaName;
  const bool exists = public_schema && (view ? input_.catalog->view(special.name).has_value()
                                             : input_.catalog->table(special.name).has_value());
  if (!exists) {
    const std::string full =
        special.schema.empty() ? special.name : special.schema + "." + special.name;
    return sql_error(
        sqlstate::kUndefinedTable,
        std::string(view ? "materialized view" : "table") + " \"" + full + "\" does not exist",
        special.location);
  }
  plan.kind = Plan::Kind::kShowCreate;
  plan.value = view ? "materialized view" : "table";
  plan.columns = {{"name", Type::kText}, {"create_statement", Type::kText}};
  return plan;
}

SqlResult<TableDef> Binder::bind_named_view(const ViewDef& view) {
  if (std::find(expanding_views_.begin(), expanding_views_.end(), view.name) !=
      expanding_views_.end())
    return sql_error("42P17",
                     "infinite recursion detected in rules for relation \"" + view.name + "\"");
  if (expanding_views_.size() >= kMaxViewNesting) return statement_too_complex();
  // Its statement was parsed when it was created, so failing now means the catalog is damaged.
  auto damaged = [&](const std::string& why) {
    return sql_error(sqlstate::kInternalError,
                     "view \"" + view.name + "\" cannot be read (" + why + ")");
  };
  PgQueryProtobufParseResult result = pg_query_parse_protobuf(view.sql.c_str());
  if (result.error != nullptr) {
    SqlError error = damaged(result.error->message);
    pg_query_free_protobuf_parse_result(result);
    return error;
  }
  std::unique_ptr<PgQuery__ParseResult, void (*)(PgQuery__ParseResult*)> tree(
      pg_query__parse_result__unpack(nullptr, result.parse_tree.len,
                                     reinterpret_cast<const uint8_t*>(result.parse_tree.data)),
      [](PgQuery__ParseResult* t) { pg_query__parse_result__free_unpacked(t, nullptr); });
  pg_query_free_protobuf_parse_result(result);
  if (tree == nullptr || tree->n_stmts != 1 ||
      tree->stmts[0]->stmt->node_case != PG_QUERY__NODE__NODE_VIEW_STMT ||
      tree->stmts[0]->stmt->view_stmt->query->node_case != PG_QUERY__NODE__NODE_SELECT_STMT)
    return damaged("not a CREATE VIEW statement");
  // The view sees neither the statement's WITH queries nor its parameters; what it reads is
  // resolved as when it was created.
  expanding_views_.push_back(view.name);
  auto saved_ctes = std::exchange(ctes_, {});
  auto bound = bind_subquery_table(tree->stmts[0]->stmt->view_stmt->query->select_stmt, view.name,
                                   nullptr, 0, -1);
  ctes_ = std::move(saved_ctes);
  expanding_views_.pop_back();
  if (!bound.ok()) {
    bound.error().location = -1;  // a position in the view's text, not the statement's
    return bound;
  }
  TableDef def = std::move(*bound);
  // Its columns are the ones it was created with, by name and type (CREATE VIEW v (a, b) AS
  // ...); a `*` over a view replaced since with more columns still reads only the first ones,
  // as PostgreSQL fixes `*` when the view is created (the scan keeps that many).
  if (def.columns.size() < view.columns.size()) return damaged("it has lost columns");
  for (size_t i = 0; i < view.columns.size(); ++i) {
    if (def.columns[i].type != view.columns[i].type)
      return damaged("column \"" + view.columns[i].name + "\" was " +
                     type_name(view.columns[i].type) + " and is " + type_name(def.columns[i].type) +
                     " now; create the view again");
    def.columns[i].name = view.columns[i].name;
  }
  def.columns.resize(view.columns.size());
  def.named_view = true;
  return def;
}

SqlResult<Plan> Binder::bind_statement(const Node* stmt) {
  SqlResult<Plan> plan = [&]() -> SqlResult<Plan> {
    switch (stmt->node_case) {
      case PG_QUERY__NODE__NODE_SELECT_STMT:
        top_level_select_ = true;
        return bind_select(stmt->select_stmt);
      case PG_QUERY__NODE__NODE_INSERT_STMT:
        return bind_insert(stmt->insert_stmt);
      case PG_QUERY__NODE__NODE_CREATE_STMT:
        return bind_create(stmt->create_stmt);
      case PG_QUERY__NODE__NODE_DROP_STMT:
        return bind_drop(stmt->drop_stmt);
      case PG_QUERY__NODE__NODE_CREATE_TABLE_AS_STMT:
        return bind_create_view(stmt->create_table_as_stmt);
      case PG_QUERY__NODE__NODE_VIEW_STMT:
        return bind_create_plain_view(stmt->view_stmt);
      case PG_QUERY__NODE__NODE_VARIABLE_SET_STMT:
        return bind_set(stmt->variable_set_stmt);
      case PG_QUERY__NODE__NODE_VARIABLE_SHOW_STMT:
        return bind_show(stmt->variable_show_stmt);
      case PG_QUERY__NODE__NODE_COPY_STMT:
        return bind_copy(stmt->copy_stmt);
      case PG_QUERY__NODE__NODE_EXPLAIN_STMT:
        return bind_explain(stmt->explain_stmt);
      case PG_QUERY__NODE__NODE_DEALLOCATE_STMT: {
        // psycopg and JDBC free their prepared statements this way. NULL name: ALL.
        const char* name = stmt->deallocate_stmt->name;
        Plan plan = tagged(Plan::Kind::kDeallocate, name ? "DEALLOCATE" : "DEALLOCATE ALL");
        plan.variable = name ? name : "";
        return plan;
      }
      case PG_QUERY__NODE__NODE_DECLARE_CURSOR_STMT:
        return bind_declare_cursor(stmt->declare_cursor_stmt);
      case PG_QUERY__NODE__NODE_FETCH_STMT: {
        const auto* f = stmt->fetch_stmt;
        Plan plan = tagged(Plan::Kind::kFetch, f->ismove ? "MOVE" : "FETCH");
        plan.variable = f->portalname;
        plan.fetch_count = f->how_many;
        switch (f->direction) {
          case PG_QUERY__FETCH_DIRECTION__FETCH_BACKWARD:
            plan.fetch_direction = FetchDirection::kBackward;
            break;
          case PG_QUERY__FETCH_DIRECTION__FETCH_ABSOLUTE:
            plan.fetch_direction = FetchDirection::kAbsolute;
            break;
          case PG_QUERY__FETCH_DIRECTION__FETCH_RELATIVE:
            plan.fetch_direction = FetchDirection::kRelative;
            break;
          default:
            plan.fetch_direction = FetchDirection::kForward;
            break;
        }
        // Its rows are the cursor's, known once it is found (Session::result_columns).
        return plan;
      }
      case PG_QUERY__NODE__NODE_CLOSE_PORTAL_STMT: {
        const char* name = stmt->close_portal_stmt->portalname;
        const bool all = name == nullptr || *name == '\0';
        Plan plan = tagged(Plan::Kind::kCloseCursor, all ? "CLOSE CURSOR ALL" : "CLOSE CURSOR");
        plan.variable = all ? "" : name;
        return plan;
      }
      case PG_QUERY__NODE__NODE_TRANSACTION_STMT: {
        switch (stmt->transaction_stmt->kind) {
          case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_BEGIN:
          case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_START:
            return tagged(Plan::Kind::kBegin, "BEGIN");
          case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_COMMIT:
            return tagged(Plan::Kind::kCommit, "COMMIT");
          case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_ROLLBACK:
            return tagged(Plan::Kind::kRollback, "ROLLBACK");
          default:
            return unsupported("savepoints and two-phase commit");
        }
      }
      default:
        return unsupported("statement " + node_name(stmt));
    }
  }();
  if (!plan.ok()) return plan;
  if (fold_error_) return std::move(*fold_error_);
  for (Type& t : params_)
    if (t == Type::kUnknown) t = Type::kText;
  plan->param_types = params_;
  return plan;
}

}  // namespace binding

using binding::Binder;
using binding::lower;
using binding::statement_too_complex;

namespace {

// The tokens of `sql` as PostgreSQL's own lexer sees them (comments left out); nullopt when it
// cannot lex (the parser then reports the error).
std::optional<std::vector<PgQuery__ScanToken>> scan_tokens(const std::string& sql) {
  PgQueryScanResult scan = pg_query_scan(sql.c_str());
  if (scan.error != nullptr) {
    pg_query_free_scan_result(scan);
    return std::nullopt;
  }
  PgQuery__ScanResult* result = pg_query__scan_result__unpack(
      nullptr, scan.pbuf.len, reinterpret_cast<const uint8_t*>(scan.pbuf.data));
  pg_query_free_scan_result(scan);
  if (result == nullptr) return std::nullopt;
  std::vector<PgQuery__ScanToken> tokens;
  for (size_t i = 0; i < result->n_tokens; ++i) {
    const PgQuery__ScanToken* t = result->tokens[i];
    if (t->token == PG_QUERY__TOKEN__SQL_COMMENT || t->token == PG_QUERY__TOKEN__C_COMMENT)
      continue;
    tokens.push_back(*t);
  }
  pg_query__scan_result__free_unpacked(result, nullptr);
  return tokens;
}

// An identifier token's name: unquoted and folded to lower case, or the quoted text as is.
std::optional<std::string> identifier(const std::string& sql, const PgQuery__ScanToken& t) {
  const bool name_like = t.token == PG_QUERY__TOKEN__IDENT ||
                         (t.keyword_kind != PG_QUERY__KEYWORD_KIND__NO_KEYWORD &&
                          t.keyword_kind != PG_QUERY__KEYWORD_KIND__RESERVED_KEYWORD);
  if (!name_like) return std::nullopt;
  std::string text = sql.substr(static_cast<size_t>(t.start), static_cast<size_t>(t.end - t.start));
  if (!text.empty() && text.front() == '"') {
    if (text.size() < 2 || text.back() != '"') return std::nullopt;
    std::string out;
    for (size_t i = 1; i + 1 < text.size(); ++i) {
      out += text[i];
      if (text[i] == '"') ++i;  // "" is one quote
    }
    return out;
  }
  for (char& c : text)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// SHOW MATERIALIZED VIEWS, SHOW COLUMNS FROM, SHOW CREATE TABLE / MATERIALIZED VIEW are not
// PostgreSQL grammar. ParsedQuery::parse finds them with PostgreSQL's lexer, remembers what
// they ask, and overwrites each with `SHOW eddy_special` padded with spaces (never longer than
// the original, so the positions of everything else stay right).
constexpr std::string_view kSpecialPlaceholder = "SHOW eddy_special";

std::vector<SpecialShow> find_special_shows(const std::string& sql, std::string& rewritten) {
  std::vector<SpecialShow> found;
  // Lexing costs little next to parsing, but most statements (INSERTs) need not pay it at all.
  bool has_show = false;
  for (size_t i = 0; i + 4 <= sql.size() && !has_show; ++i)
    has_show = (sql[i] | 0x20) == 's' && (sql[i + 1] | 0x20) == 'h' && (sql[i + 2] | 0x20) == 'o' &&
               (sql[i + 3] | 0x20) == 'w';
  if (!has_show) return found;
  auto tokens = scan_tokens(sql);
  if (!tokens) return found;
  size_t begin = 0;
  while (begin < tokens->size()) {
    size_t end = begin;
    while (end < tokens->size() && (*tokens)[end].token != PG_QUERY__TOKEN__ASCII_59)
      ++end;
    const auto* t = tokens->data() + begin;
    const size_t n = end - begin;
    auto is = [&](size_t i, PgQuery__Token token) { return i < n && t[i].token == token; };
    SpecialShow special;
    size_t name_at = 0;
    if (is(0, PG_QUERY__TOKEN__SHOW)) {
      if (is(1, PG_QUERY__TOKEN__MATERIALIZED) && n == 3 &&
          identifier(sql, t[2]).value_or("") == "views") {
        special.kind = SpecialShow::kViews;
      } else if (is(1, PG_QUERY__TOKEN__COLUMNS) && is(2, PG_QUERY__TOKEN__FROM)) {
        special.kind = SpecialShow::kColumns;
        name_at = 3;
      } else if (is(1, PG_QUERY__TOKEN__CREATE) && is(2, PG_QUERY__TOKEN__TABLE)) {
        special.kind = SpecialShow::kCreateTable;
        name_at = 3;
      } else if (is(1, PG_QUERY__TOKEN__CREATE) && is(2, PG_QUERY__TOKEN__MATERIALIZED) &&
                 is(3, PG_QUERY__TOKEN__VIEW)) {
        special.kind = SpecialShow::kCreateView;
        name_at = 4;
      }
    }
    bool matched = special.kind == SpecialShow::kViews;
    if (name_at > 0) {
      // name or schema.name, and nothing after it
      auto first = name_at < n ? identifier(sql, t[name_at]) : std::nullopt;
      if (first && n == name_at + 1) {
        special.name = *first;
        special.location = t[name_at].start;
        matched = true;
      } else if (first && n == name_at + 3 && is(name_at + 1, PG_QUERY__TOKEN__ASCII_46)) {
        if (auto second = identifier(sql, t[name_at + 2])) {
          special.schema = *first;
          special.name = *second;
          special.location = t[name_at].start;
          matched = true;
        }
      }
    }
    if (matched) {
      special.start = t[0].start;
      const auto span = static_cast<size_t>(t[n - 1].end - t[0].start);
      std::string placeholder(kSpecialPlaceholder);
      placeholder.resize(span, ' ');
      rewritten.replace(static_cast<size_t>(t[0].start), span, placeholder);
      found.push_back(std::move(special));
    }
    begin = end + 1;
  }
  return found;
}

}  // namespace

std::string quote_identifier(const std::string& name) {
  bool plain = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0]));
  for (char c : name)
    plain = plain && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
  if (plain) {
    // Unreserved keywords need no quotes, like in PostgreSQL's quote_ident.
    auto tokens = scan_tokens(name);
    plain = tokens && tokens->size() == 1 &&
            ((*tokens)[0].token == PG_QUERY__TOKEN__IDENT ||
             (*tokens)[0].keyword_kind == PG_QUERY__KEYWORD_KIND__UNRESERVED_KEYWORD);
  }
  if (plain) return name;
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string view_query_text(const std::string& create_sql) {
  auto tokens = scan_tokens(create_sql);
  if (!tokens) return create_sql;
  int depth = 0;
  for (const auto& t : *tokens) {
    if (t.token == PG_QUERY__TOKEN__ASCII_40) ++depth;
    if (t.token == PG_QUERY__TOKEN__ASCII_41) --depth;
    if (depth == 0 && t.token == PG_QUERY__TOKEN__AS) {
      size_t from = static_cast<size_t>(t.end);
      while (from < create_sql.size() &&
             std::isspace(static_cast<unsigned char>(create_sql[from])) != 0)
        ++from;
      size_t to = create_sql.size();
      while (to > from && (std::isspace(static_cast<unsigned char>(create_sql[to - 1])) != 0 ||
                           create_sql[to - 1] == ';'))
        --to;
      return create_sql.substr(from, to - from);
    }
  }
  return create_sql;
}

namespace {

// libpg_query's parse tree comes as protobuf, and unpacking it (and freeing it, and binding it)
// recurses once per nesting level with no limit of its own; 20,000 levels overflow an 8 MiB
// stack. Statements estimated to nest deeper than this are refused before parsing.
constexpr size_t kMaxNestingLevels = 10'000;

// An upper bound on how deep the parse tree of `sql` nests, from its tokens: every parenthesis
// or bracket opens a level, and within one level every operator or keyword may add one (a chain
// of 1+1+...+1 nests once per +). Commas, AND, OR, WHEN, THEN and ELSE separate siblings (the
// parser keeps AND and OR chains as flat lists), so wide statements (long IN lists, VALUES, many
// ANDed conditions) are not mistaken for deep ones.
size_t nesting_estimate(const std::vector<PgQuery__ScanToken>& tokens) {
  std::vector<size_t> ops_per_level{0};
  size_t depth = 1, deepest = 1;  // depth = sum over open levels of (1 + their operator count)
  for (const auto& t : tokens) {
    switch (t.token) {
      case PG_QUERY__TOKEN__ASCII_40:  // (
      case PG_QUERY__TOKEN__ASCII_91:  // [
        ops_per_level.push_back(0);
        ++depth;
        break;
      case PG_QUERY__TOKEN__ASCII_41:  // )
      case PG_QUERY__TOKEN__ASCII_93:  // ]
        if (ops_per_level.size() > 1) {
          depth -= 1 + ops_per_level.back();
          ops_per_level.pop_back();
        }
        break;
      case PG_QUERY__TOKEN__ASCII_59:  // ;
        ops_per_level.assign(1, 0);
        depth = 1;
        break;
      case PG_QUERY__TOKEN__ASCII_44:  // ,
      case PG_QUERY__TOKEN__AND:
      case PG_QUERY__TOKEN__OR:
      case PG_QUERY__TOKEN__WHEN:
      case PG_QUERY__TOKEN__THEN:
      case PG_QUERY__TOKEN__ELSE:
        // The list these separate is one level; mixing AND with OR is at most two.
        depth -= ops_per_level.back();
        ops_per_level.back() = 2;
        depth += 2;
        break;
      case PG_QUERY__TOKEN__IDENT:
      case PG_QUERY__TOKEN__UIDENT:
      case PG_QUERY__TOKEN__FCONST:
      case PG_QUERY__TOKEN__SCONST:
      case PG_QUERY__TOKEN__USCONST:
      case PG_QUERY__TOKEN__BCONST:
      case PG_QUERY__TOKEN__XCONST:
      case PG_QUERY__TOKEN__ICONST:
      case PG_QUERY__TOKEN__PARAM:
        break;
      default:
        ++ops_per_level.back();
        ++depth;
        break;
    }
    deepest = std::max(deepest, depth);
  }
  return deepest;
}

}  // namespace

SqlResult<ParsedQuery> ParsedQuery::parse(const std::string& original) {
  // Every nesting level takes at least one byte, so only long statements can nest too deep.
  if (original.size() > kMaxNestingLevels) {
    auto tokens = scan_tokens(original);
    if (tokens && nesting_estimate(*tokens) > kMaxNestingLevels) return statement_too_complex();
  }
  auto impl = std::make_shared<Impl>();
  std::string sql = original;
  impl->specials = find_special_shows(original, sql);
  impl->sql = original;
  PgQueryProtobufParseResult result = pg_query_parse_protobuf(sql.c_str());
  if (result.error != nullptr) {
    SqlError error = sql_error(sqlstate::kSyntaxError, result.error->message,
                               result.error->cursorpos > 0 ? result.error->cursorpos - 1 : -1);
    pg_query_free_protobuf_parse_result(result);
    return error;
  }
  impl->tree = pg_query__parse_result__unpack(
      nullptr, result.parse_tree.len, reinterpret_cast<const uint8_t*>(result.parse_tree.data));
  pg_query_free_protobuf_parse_result(result);
  if (impl->tree == nullptr)
    return sql_error(sqlstate::kInternalError, "cannot decode the parse tree");
  ParsedQuery parsed;
  parsed.impl_ = std::move(impl);
  return parsed;
}

size_t ParsedQuery::size() const {
  return impl_->tree->n_stmts;
}

SqlResult<Plan> ParsedQuery::bind(size_t index, const BindInput& input) const {
  const auto* raw = impl_->tree->stmts[index];
  const size_t begin = std::min(impl_->sql.size(), static_cast<size_t>(raw->stmt_location));
  std::string statement = raw->stmt_len > 0
                              ? impl_->sql.substr(begin, static_cast<size_t>(raw->stmt_len))
                              : impl_->sql.substr(begin);
  const size_t stop = raw->stmt_len > 0 ? begin + static_cast<size_t>(raw->stmt_len) : SIZE_MAX;
  const SpecialShow* special = nullptr;
  for (const auto& s : impl_->specials)
    if (static_cast<size_t>(s.start) >= begin && static_cast<size_t>(s.start) < stop) special = &s;
  Binder binder(input, std::move(statement));
  if (special != nullptr) return binder.bind_special(*special);
  return binder.bind_statement(impl_->tree->stmts[index]->stmt);
}

}  // namespace eddy::sql
