#include "sql/session.h"

#include <malloc.h>
#include <algorithm>

#include <cctype>
#include <filesystem>

#include "sql/binder.h"
#include "sql/catalog.h"
#include "sql/copy.h"
#include "sql/executor.h"
#include "sql/explain.h"
#include "sql/formats.h"
#include "sql/plan.h"
#include "sql/query_memory.h"
#include "sql/system_tables.h"
#include "sql/views.h"
#include "storage/log_manager.h"

namespace eddy::sql {

namespace {

struct Setting {
  const char* name;  // as ParameterStatus and SHOW ALL spell it
  const char* value;
  bool reported;  // sent as ParameterStatus at startup and when changed
};

constexpr Setting kSettings[] = {
    {"server_version", "15.0 (Eddy)", true},
    {"server_version_num", "150000", false},
    {"server_encoding", "UTF8", true},
    {"client_encoding", "UTF8", true},
    {"DateStyle", "ISO, MDY", true},
    {"TimeZone", "UTC", true},
    {"integer_datetimes", "on", true},
    {"standard_conforming_strings", "on", true},
    {"application_name", "", true},
    {"IntervalStyle", "postgres", true},
    {"is_superuser", "on", true},
    {"session_authorization", "eddy", true},
    {"default_transaction_read_only", "off", true},
    {"in_hot_standby", "off", true},
    {"transaction_isolation", "read committed", false},
    {"default_transaction_isolation", "read committed", false},
    {"transaction_read_only", "off", false},
    {"search_path", "\"$user\", public", false},
    {"extra_float_digits", "1", false},
    {"lc_messages", "C", false},
    {"lc_monetary", "C", false},
    {"lc_numeric", "C", false},
    {"lc_time", "C", false},
    {"max_identifier_length", "63", false},
    {"statement_timeout", "0", false},
    {"lock_timeout", "0", false},
    {"idle_in_transaction_session_timeout", "0", false},
    {"bytea_output", "hex", false},
    {"client_min_messages", "notice", false},
    {"row_security", "on", false},
    {"synchronous_commit", "on", false},
    {"timezone_abbreviations", "Default", false},
    {"datestyle", "ISO, MDY", false},
    // What a bounded query may hold in memory (query_memory.h). Far above PostgreSQL's 4MB:
    // Eddy fails a query that needs more instead of spilling to disk.
    {"work_mem", "1GB", false},
    // What one cursor may write to its temporary file (cursor.h); -1: no limit, as in
    // PostgreSQL.
    {"temp_file_limit", "-1", false},
    // Read by GUI tools and drivers, or set by them (and by pg_dump scripts): accepted and kept
    // per session, with PostgreSQL's defaults, though Eddy has no planner or memory knobs.
    {"lc_collate", "C", false},
    {"lc_ctype", "C", false},
    {"ssl", "off", false},
    {"maintenance_work_mem", "64MB", false},
    {"jit", "off", false},
    {"plan_cache_mode", "auto", false},
    {"check_function_bodies", "on", false},
    {"xmloption", "content", false},
    {"default_tablespace", "", false},
    {"default_table_access_method", "heap", false},
    {"escape_string_warning", "on", false},
    {"array_nulls", "on", false},
    {"quote_all_identifiers", "off", false},
    {"session_replication_role", "origin", false},
};

std::string lower(std::string s) {
  for (char& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

const Setting* find_setting(const std::string& lowered) {
  for (const auto& s : kSettings)
    if (lower(s.name) == lowered) return &s;
  return nullptr;
}

// Statement text arrives in the client encoding, UTF8 (the only one): as PostgreSQL, refuse
// bytes that are not UTF-8 before anything reads them.
SqlStatus check_encoding(const std::string& sql) {
  std::string bad;
  if (valid_text(sql, &bad)) return Unit{};
  return sql_error("22021", "invalid byte sequence for encoding \"UTF8\": " + bad);
}

// A statement that held this much gives its memory back to the system when it ends (glibc keeps
// freed memory for reuse otherwise: a large GROUP BY would leave the server gigabytes bigger).
constexpr size_t kTrimAfterBytes = 32u << 20;

void return_memory_after(const QueryMemory& memory) {
  if (memory.peak() >= kTrimAfterBytes) malloc_trim(0);
}

bool read_only_setting(const std::string& name) {
  return name == "server_version" || name == "server_version_num" || name == "server_encoding" ||
         name == "integer_datetimes" || name == "max_identifier_length" ||
         name == "in_hot_standby" || name == "is_superuser" || name == "lc_collate" ||
         name == "lc_ctype" || name == "ssl";
}

// The spellings of UTC PostgreSQL accepts for TimeZone that Eddy recognises.
bool is_utc_name(const std::string& value) {
  const std::string v = lower(value);
  return v == "utc" || v == "etc/utc" || v == "gmt" || v == "etc/gmt" || v == "zulu" ||
         v == "utc0" || v == "0" || v == "+00" || v == "z";
}

}  // namespace

Result<std::unique_ptr<Engine>> Engine::open(EngineOptions options) {
  std::unique_ptr<Engine> engine(new Engine(std::move(options)));
  if (!engine->options_.data_dir.empty()) {
    // Cursors spill their rows into unlinked files here: on the data dir's file system, which
    // the operator sized, rather than a /tmp that may be small or memory-backed.
    std::error_code ec;
    std::filesystem::create_directories(engine->temp_dir(), ec);
    if (ec)
      return Error(ErrorCode::kIoError,
                   "cannot create " + engine->temp_dir() + ": " + ec.message());
  }
  ASSIGN_OR_RETURN(engine->catalog_, Catalog::open(posix_file_system(), engine->options_.data_dir));
  if (storage::LogManager* log = engine->options_.log) {
    engine->catalog_->set_space_for_drops([log] { return log->release_disk_reserve(); });
  }
  return engine;
}

Engine::Engine(EngineOptions options) : options_(std::move(options)) {}

std::string Engine::temp_dir() const {
  if (options_.data_dir.empty()) return std::filesystem::temp_directory_path().string();
  return options_.data_dir + "/tmp";
}

SqlStatus Engine::start_views() {
  if (views_ == nullptr) return Unit{};
  // A view that cannot start (it no longer binds, its state cannot open) must not keep the
  // server and the other views from starting: each failure is collected and reported together.
  std::string failures;
  for (const auto& def : catalog_->views()) {
    if (!def.materialized) continue;  // a named query: bound where it is read
    auto parsed = ParsedQuery::parse(def.sql);
    BindInput input{catalog_.get(), {}, {}};
    input.stored_view_columns = &def.columns;
    auto plan = parsed.ok() && parsed->size() == 1
                    ? parsed->bind(0, input)
                    : SqlResult<Plan>(sql_error(sqlstate::kInternalError, "cannot parse"));
    SqlStatus started =
        plan.ok() ? views_->start(def, plan->view_select, /*fresh=*/false) : plan.error();
    if (started.ok()) continue;
    if (!failures.empty()) failures += "; ";
    failures += "materialized view \"" + def.name + "\" did not start (" +
                (plan.ok() ? "" : "it no longer binds: ") + started.error().message + ")";
  }
  if (!failures.empty())
    return sql_error(sqlstate::kInternalError,
                     failures + ". The other views run; drop and create the ones named again.");
  return Unit{};
}
Engine::~Engine() = default;

const std::vector<Type>& PreparedStatement::param_types() const {
  static const std::vector<Type> kNone;
  return plan_ ? plan_->param_types : kNone;
}

std::vector<std::pair<std::string, Type>> PreparedStatement::columns() const {
  std::vector<std::pair<std::string, Type>> out;
  if (plan_)
    for (const auto& c : plan_->columns)
      out.emplace_back(c.name, c.type);
  return out;
}

bool PreparedStatement::is_copy() const {
  return plan_ != nullptr &&
         (plan_->kind == Plan::Kind::kCopyTo || plan_->kind == Plan::Kind::kCopyFrom);
}

bool PreparedStatement::returns_rows() const {
  return plan_ != nullptr && !plan_->columns.empty();
}

Session::Session(Engine& engine, const std::map<std::string, std::string>& startup)
    : engine_(engine) {
  for (const auto& s : kSettings)
    defaults_[lower(s.name)] = s.value;
  for (const auto& [name, value] : startup) {
    const std::string key = lower(name);
    if (key == "application_name" || key == "client_encoding" || key == "datestyle" ||
        key == "timezone" || key == "extra_float_digits" || key == "search_path")
      defaults_[key] = value;
    // Only UTC exists yet: another startup TimeZone (JDBC sends the JVM's) is answered with
    // ParameterStatus TimeZone=UTC rather than a refused connection, so the client knows.
    if (key == "timezone") defaults_[key] = "UTC";
    // PostgreSQL reports the connecting user as session_authorization (and current_user).
    if (key == "user" && !value.empty()) defaults_["session_authorization"] = value;
  }
  settings_ = defaults_;
}

Session::~Session() = default;

std::optional<std::string> Session::setting(const std::string& name) const {
  auto it = settings_.find(lower(name));
  if (it == settings_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::pair<std::string, std::string>> Session::reported_parameters() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& s : kSettings)
    if (s.reported) out.emplace_back(s.name, settings_.at(lower(s.name)));
  return out;
}

std::vector<std::pair<std::string, std::string>> Session::take_changed_parameters() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& name : changed_) {
    const Setting* s = find_setting(name);
    if (s != nullptr && s->reported) out.emplace_back(s->name, settings_[name]);
  }
  changed_.clear();
  return out;
}

int Session::character_position(const std::string& sql, int location) {
  if (location < 0) return 0;
  int chars = 0;
  for (size_t i = 0; i < sql.size() && i < static_cast<size_t>(location); ++i)
    if ((static_cast<unsigned char>(sql[i]) & 0xC0) != 0x80) ++chars;
  return chars + 1;
}

SqlResult<std::shared_ptr<PreparedStatement>> Session::prepare(
    const std::string& sql, const std::vector<Type>& param_types) {
  SQL_CHECK(check_encoding(sql));
  auto statement = std::make_shared<PreparedStatement>();
  statement->sql_ = sql;
  SQL_ASSIGN(ParsedQuery parsed, ParsedQuery::parse(sql));
  if (parsed.size() == 0) return statement;
  if (parsed.size() > 1)
    return sql_error(sqlstate::kSyntaxError,
                     "cannot insert multiple commands into a prepared statement");
  SQL_ASSIGN(Plan plan, parsed.bind(0, bind_input(param_types)));
  statement->plan_ = std::make_shared<const Plan>(std::move(plan));
  return statement;
}

SqlResult<StatementResult> Session::execute(const PreparedStatement& statement,
                                            const std::vector<Value>& params, ResultSink* sink) {
  if (statement.plan_ == nullptr) return StatementResult{};
  cancel_->store(false);
  return run_guarded(*statement.plan_, params, sink);
}

Session::SimpleOutcome Session::execute_simple(const std::string& sql, ResultSink* sink) {
  SimpleOutcome outcome;
  cancel_->store(false);
  if (auto valid = check_encoding(sql); !valid.ok()) {
    outcome.error = std::move(valid.error());
    if (tx_ == 'T') tx_ = 'E';
    return outcome;
  }
  auto parsed = ParsedQuery::parse(sql);
  if (!parsed.ok()) {
    outcome.error = parsed.error();
    if (tx_ == 'T') tx_ = 'E';
    return outcome;
  }
  paused_ = std::make_shared<const ParsedQuery>(std::move(*parsed));
  return run_simple(0, sink);
}

Session::SimpleOutcome Session::resume_simple(ResultSink* sink) {
  if (paused_ == nullptr) return SimpleOutcome{};
  cancel_->store(false);
  return run_simple(paused_next_, sink);
}

Session::SimpleOutcome Session::run_simple(size_t from, ResultSink* sink) {
  const std::shared_ptr<const ParsedQuery> parsed = paused_;
  implicit_block_ = parsed->size() > 1;
  SimpleOutcome outcome = run_simple_statements(from, sink);
  // The implicit block ends with the query (unless a COPY paused it): what it declared outside
  // a transaction block closes, except WITH HOLD cursors when it succeeded.
  if (paused_ == nullptr || outcome.error) {
    if (implicit_block_ && tx_ == 'I') end_transaction_cursors(!outcome.error);
    implicit_block_ = false;
  }
  return outcome;
}

Session::SimpleOutcome Session::run_simple_statements(size_t from, ResultSink* sink) {
  SimpleOutcome outcome;
  const std::shared_ptr<const ParsedQuery> parsed = std::move(paused_);
  outcome.empty = parsed->size() == 0;
  for (size_t i = from; i < parsed->size(); ++i) {
    BindInput input = bind_input({});
    input.parameters_allowed = false;
    auto plan = parsed->bind(i, input);
    SqlResult<StatementResult> result =
        plan.ok() ? run_guarded(*plan, {}, sink) : SqlResult<StatementResult>(plan.error());
    const bool copy_in = result.ok() && result->copy == StatementResult::Copy::kIn;
    if (result.ok() && sink != nullptr && !copy_in) {
      if (auto sent = sink->statement_done(std::move(*result)); !sent.ok())
        result = std::move(sent.error());
    }
    if (!result.ok()) {
      outcome.error = std::move(result.error());
      if (tx_ == 'T') tx_ = 'E';
      return outcome;
    }
    if (sink == nullptr || copy_in) outcome.results.push_back(std::move(*result));
    if (copy_in) {
      paused_ = parsed;
      paused_next_ = i + 1;
      return outcome;
    }
  }
  return outcome;
}

void Session::end_copy(bool failed) {
  copy_.reset();
  if (failed) {
    paused_.reset();
    if (tx_ == 'T') tx_ = 'E';
  }
}

SqlStatus Session::copy_data(std::string_view data) {
  if (copy_ == nullptr)
    return sql_error(sqlstate::kProtocolViolation, "unexpected COPY data: no COPY is running");
  auto fed = copy_->feed(data, *cancel_);
  if (!fed.ok()) end_copy(true);
  return fed;
}

SqlResult<StatementResult> Session::copy_done() {
  if (copy_ == nullptr)
    return sql_error(sqlstate::kProtocolViolation, "unexpected CopyDone: no COPY is running");
  SqlResult<StatementResult> result =
      cancel_->load() ? SqlResult<StatementResult>(sql_error(
                            sqlstate::kQueryCanceled, "canceling statement due to user request"))
                      : copy_->finish();
  end_copy(!result.ok());
  return result;
}

SqlError Session::copy_fail(const std::string& message) {
  end_copy(true);
  return sql_error(sqlstate::kQueryCanceled, "COPY from stdin failed: " + message);
}

size_t Session::work_mem_bytes() const {
  const auto value = setting("work_mem");
  if (auto bytes = value ? parse_work_mem(*value) : std::nullopt) return *bytes;
  return *parse_work_mem(find_setting("work_mem")->value);
}

BindInput Session::bind_input(std::vector<Type> param_types) {
  return BindInput{&engine_.catalog(), std::move(param_types),
                   [this](const std::string& name) { return setting(name); }, backend_pid_};
}

namespace {

SqlError transaction_aborted() {
  return sql_error(sqlstate::kInFailedTransaction,
                   "current transaction is aborted, commands ignored until end of transaction "
                   "block");
}

// A cancel is looked at every 1024 rows a cursor hands out.
SqlStatus check_cancel_every(int64_t& rows, const std::atomic<bool>& cancel) {
  if ((++rows & 1023) == 0 && cancel.load())
    return sql_error(sqlstate::kQueryCanceled, "canceling statement due to user request");
  return Unit{};
}

// What a cursor's query sends goes into its spool.
class SpoolSink final : public ResultSink {
 public:
  explicit SpoolSink(RowSpool& spool) : spool_(spool) {}
  SqlStatus begin_rows(const std::vector<std::pair<std::string, Type>>&) override { return Unit{}; }
  SqlStatus row(const Row& row) override { return spool_.append(row); }
  SqlStatus begin_copy_out(int16_t) override { return unexpected(); }
  SqlStatus copy_line(std::string_view) override { return unexpected(); }
  SqlStatus statement_done(StatementResult&&) override { return unexpected(); }

 private:
  static SqlStatus unexpected() {
    return sql_error(sqlstate::kInternalError, "a cursor's query sent something but rows");
  }
  RowSpool& spool_;
};

// What a cursor keeps in memory before its rows go to a file: PostgreSQL's default work_mem,
// whatever larger work_mem a session sets (a cursor lives on after its statement).
constexpr size_t kCursorMemoryBytes = 4 << 20;

std::vector<std::pair<std::string, Type>> column_pairs(const std::vector<ColumnDesc>& columns) {
  std::vector<std::pair<std::string, Type>> out;
  for (const auto& c : columns)
    out.emplace_back(c.name, c.type);
  return out;
}

}  // namespace

std::vector<std::pair<std::string, Type>> Session::result_columns(
    const PreparedStatement& statement) {
  if (statement.plan_ != nullptr && statement.plan_->kind == Plan::Kind::kFetch &&
      statement.plan_->tag == "FETCH") {
    if (Cursor* cursor = find_cursor(statement.plan_->variable)) return cursor->columns();
    return {};
  }
  return statement.columns();
}

Cursor* Session::find_cursor(const std::string& name) {
  auto it = cursors_.find(name);
  return it == cursors_.end() ? nullptr : it->second.get();
}

uint64_t Session::temp_file_limit_bytes() const {
  const auto value = setting("temp_file_limit");
  if (auto bytes = value ? parse_temp_file_limit(*value) : std::nullopt) return *bytes;
  return 0;
}

SqlResult<std::unique_ptr<Cursor>> Session::spool(const Plan& plan,
                                                  const std::vector<Value>& params,
                                                  CursorOptions options) {
  auto rows = std::make_unique<RowSpool>(
      engine_.temp_dir(), std::min(work_mem_bytes(), kCursorMemoryBytes), temp_file_limit_bytes());
  SpoolSink sink(*rows);
  SQL_ASSIGN(StatementResult result, run(plan, params, &sink));
  if (!result.streamed)
    for (const Row& row : result.rows)
      SQL_CHECK(rows->append(row));
  SQL_CHECK(rows->finish());
  auto columns = result.columns.empty() ? column_pairs(plan.columns) : std::move(result.columns);
  return std::make_unique<Cursor>(std::move(columns), std::move(rows), options,
                                  std::move(result.tag));
}

SqlResult<std::unique_ptr<Cursor>> Session::open_cursor(const PreparedStatement& statement,
                                                        const std::vector<Value>& params) {
  if (statement.plan_ == nullptr || result_columns(statement).empty() ||
      statement.plan_->kind == Plan::Kind::kCopyTo)
    return sql_error(sqlstate::kInternalError,
                     "only a statement returning rows runs into a cursor");
  cancel_->store(false);
  if (tx_ == 'E') return transaction_aborted();
  StatementClock clock;
  auto cursor = spool(*statement.plan_, params, CursorOptions{});
  if (!cursor.ok()) {
    cursor.error().location = -1;
    if (tx_ == 'T') tx_ = 'E';
  }
  return cursor;
}

SqlResult<int64_t> Session::fetch_forward(Cursor& cursor, int64_t max_rows, ResultSink* sink) {
  cancel_->store(false);
  if (tx_ == 'E') return transaction_aborted();
  int64_t sent = 0;
  auto fetched = cursor.fetch(FetchDirection::kForward, max_rows <= 0 ? kFetchAll : max_rows,
                              [&](Row&& row) -> SqlStatus {
                                SQL_CHECK(check_cancel_every(sent, *cancel_));
                                return sink->row(row);
                              });
  if (!fetched.ok() && tx_ == 'T') tx_ = 'E';
  return fetched;
}

SqlResult<StatementResult> Session::run_fetch(const Plan& plan, ResultSink* sink) {
  Cursor* cursor = find_cursor(plan.variable);
  if (cursor == nullptr)
    return sql_error(sqlstate::kInvalidCursorName,
                     "cursor \"" + plan.variable + "\" does not exist");
  StatementResult result;
  const bool move = plan.tag == "MOVE";
  // The RowDescription goes out with the first row (or once the fetch succeeded), so a move
  // the cursor refuses answers only its error, as in PostgreSQL.
  bool described = false;
  auto describe = [&]() -> SqlStatus {
    if (described || sink == nullptr) return Unit{};
    described = true;
    result.streamed = true;
    return sink->begin_rows(result.columns);
  };
  if (!move) {
    result.returns_rows = true;
    result.columns = cursor->columns();
  }
  int64_t seen = 0;
  std::function<SqlStatus(Row &&)> emit;
  if (!move)
    emit = [&](Row&& row) -> SqlStatus {
      SQL_CHECK(check_cancel_every(seen, *cancel_));
      SQL_CHECK(describe());
      if (sink != nullptr) return sink->row(row);
      result.rows.push_back(std::move(row));
      return Unit{};
    };
  SQL_ASSIGN(const int64_t count, cursor->fetch(plan.fetch_direction, plan.fetch_count, emit));
  if (!move) SQL_CHECK(describe());
  result.tag = plan.tag + " " + std::to_string(count);
  return result;
}

void Session::end_transaction_cursors(bool committed) {
  for (auto it = cursors_.begin(); it != cursors_.end();) {
    Cursor& cursor = *it->second;
    if (committed && cursor.options().hold) {
      cursor.declared_in_transaction = false;
      ++it;
    } else if (!committed && cursor.options().hold && !cursor.declared_in_transaction) {
      ++it;
    } else {
      it = cursors_.erase(it);
    }
  }
}

SqlResult<StatementResult> Session::run_guarded(const Plan& plan, const std::vector<Value>& params,
                                                ResultSink* sink) {
  if (tx_ == 'E' && plan.kind != Plan::Kind::kRollback && plan.kind != Plan::Kind::kCommit)
    return transaction_aborted();
  // now(), current_date, 'now' read this statement's start time.
  StatementClock clock;
  auto result = run(plan, params, sink);
  if (!result.ok() && tx_ == 'T') tx_ = 'E';
  // What fails while a statement runs has no place in its text, as in PostgreSQL (only parse
  // analysis points at one).
  if (!result.ok()) result.error().location = -1;
  return result;
}

SqlResult<StatementResult> Session::run(const Plan& plan, const std::vector<Value>& params,
                                        ResultSink* sink) {
  StatementResult result;
  result.tag = plan.tag;
  auto text_rows = [&](std::vector<Row> rows) {
    result.returns_rows = true;
    for (const auto& c : plan.columns)
      result.columns.emplace_back(c.name, c.type);
    result.rows = std::move(rows);
  };
  switch (plan.kind) {
    case Plan::Kind::kSelect: {
      QueryMemory memory(work_mem_bytes());
      auto selected = run_select(plan, params, engine_, *cancel_, memory, sink);
      return_memory_after(memory);
      return selected;
    }
    case Plan::Kind::kInsert: {
      QueryMemory memory(work_mem_bytes());
      auto inserted = run_insert(plan, params, engine_, *cancel_, memory);
      return_memory_after(memory);
      return inserted;
    }
    case Plan::Kind::kCreateTable:
      return run_create_table(plan, engine_);
    case Plan::Kind::kDropTable:
      return run_drop_table(plan, engine_);
    case Plan::Kind::kCreateView:
      return run_create_view(plan, engine_);
    case Plan::Kind::kDropView:
      return run_drop_view(plan, engine_);
    case Plan::Kind::kCopyFrom: {
      if (engine_.log() == nullptr)
        return sql_error(sqlstate::kFeatureNotSupported, "tables need storage");
      copy_ = std::make_unique<CopyIn>(plan, engine_);
      result.copy = StatementResult::Copy::kIn;
      result.copy_columns = static_cast<int16_t>(copy_->column_count());
      return result;
    }
    case Plan::Kind::kCopyTo: {
      QueryMemory memory(work_mem_bytes());
      auto copied = run_copy_to(plan, engine_, *cancel_, memory, sink);
      return_memory_after(memory);
      return copied;
    }
    case Plan::Kind::kShowViews: {
      std::vector<Row> rows;
      if (engine_.view_host() != nullptr)
        for (const auto& v : engine_.view_host()->status())
          rows.push_back({Value::text(v.name), Value::text(v.table), Value::text(v.state),
                          Value::integer(Type::kInt8, v.records),
                          Value::integer(Type::kInt8, v.skipped),
                          Value::integer(Type::kInt8, v.lag)});
      text_rows(std::move(rows));
      result.tag = "SHOW";
      return result;
    }
    case Plan::Kind::kSet: {
      const std::string& name = plan.variable;
      if (read_only_setting(name))
        return sql_error("55P02", "parameter \"" + name + "\" cannot be changed");
      if (find_setting(name) == nullptr && name.find('.') == std::string::npos)
        return sql_error(sqlstate::kUndefinedObject,
                         "unrecognized configuration parameter \"" + name + "\"");
      std::string value = plan.value;
      if (name == "timezone" && !is_utc_name(value))
        return sql_error(sqlstate::kFeatureNotSupported, "only the UTC time zone is supported yet");
      if (name == "client_encoding" && lower(value) != "utf8" && lower(value) != "utf-8" &&
          lower(value) != "unicode")
        return sql_error(sqlstate::kFeatureNotSupported, "only UTF8 client encoding is supported");
      if (name == "work_mem") {
        auto bytes = parse_work_mem(value);
        if (!bytes) {
          SqlError e = sql_error(sqlstate::kInvalidParameterValue,
                                 "invalid value for parameter \"work_mem\": \"" + value + "\"");
          e.hint =
              "Valid units for this parameter are \"B\", \"kB\", \"MB\", \"GB\", and "
              "\"TB\"; the value must be between 64kB and 2147483647kB.";
          return e;
        }
        value = format_memory_setting(*bytes);
      }
      if (name == "temp_file_limit") {
        auto bytes = parse_temp_file_limit(value);
        if (!bytes)
          return sql_error(sqlstate::kInvalidParameterValue,
                           "invalid value for parameter \"temp_file_limit\": \"" + value + "\"");
        value = *bytes == 0 ? "-1" : format_memory_setting(*bytes);
      }
      if (name == "timezone") value = "UTC";
      if (name == "client_encoding") value = "UTF8";
      settings_[name] = value;
      changed_.push_back(name);
      // SELECT set_config(...) answers the new value as its one row.
      if (!plan.columns.empty()) text_rows({{Value::text(value)}});
      return result;
    }
    case Plan::Kind::kReset:
      if (defaults_.count(plan.variable) != 0)
        settings_[plan.variable] = defaults_[plan.variable];
      else
        settings_.erase(plan.variable);
      changed_.push_back(plan.variable);
      return result;
    case Plan::Kind::kResetAll:
      for (const auto& [name, value] : settings_)
        changed_.push_back(name);
      settings_ = defaults_;
      return result;
    case Plan::Kind::kShow: {
      auto value = setting(plan.variable);
      if (!value)
        return sql_error(sqlstate::kUndefinedObject,
                         "unrecognized configuration parameter \"" + plan.variable + "\"");
      const Setting* s = find_setting(plan.variable);
      StatementResult show;
      show.tag = "SHOW";
      show.returns_rows = true;
      show.columns.emplace_back(s != nullptr ? lower(s->name) : plan.variable, Type::kText);
      show.rows.push_back({Value::text(*value)});
      return show;
    }
    case Plan::Kind::kShowAll: {
      std::vector<Row> rows;
      for (const auto& [name, value] : settings_)
        rows.push_back({Value::text(name), Value::text(value)});
      text_rows(std::move(rows));
      result.tag = "SHOW";
      return result;
    }
    case Plan::Kind::kShowTables: {
      std::vector<Row> rows;
      for (const auto& t : engine_.catalog().tables())
        rows.push_back({Value::text(t.name), Value::text(t.topic), Value::text(t.format)});
      text_rows(std::move(rows));
      result.tag = "SHOW";
      return result;
    }
    case Plan::Kind::kBegin:
      if (tx_ != 'I')
        result.notices.push_back("there is already a transaction in progress");
      else
        tx_ = 'T';
      return result;
    case Plan::Kind::kCommit:
    case Plan::Kind::kRollback:
      if (tx_ == 'I') result.notices.push_back("there is no transaction in progress");
      // COMMIT of a failed transaction block rolls back, and says so.
      if (tx_ == 'E') result.tag = "ROLLBACK";
      if (tx_ != 'I') {
        end_transaction_cursors(plan.kind == Plan::Kind::kCommit && tx_ == 'T');
        ++transactions_ended_;
      }
      tx_ = 'I';
      return result;
    case Plan::Kind::kDeclareCursor: {
      // Several statements in one simple query run in one implicit transaction block.
      if (tx_ == 'I' && !implicit_block_ && !plan.cursor_options.hold)
        return sql_error("25P01", "DECLARE CURSOR can only be used in transaction blocks");
      if (cursors_.count(plan.variable) != 0 || (portals_.exists && portals_.exists(plan.variable)))
        return sql_error("42P03", "cursor \"" + plan.variable + "\" already exists");
      SQL_ASSIGN(auto cursor, spool(*plan.cursor_query, params, plan.cursor_options));
      cursor->declared_in_transaction = tx_ != 'I' || implicit_block_;
      cursors_[plan.variable] = std::move(cursor);
      return result;
    }
    case Plan::Kind::kFetch:
      return run_fetch(plan, sink);
    case Plan::Kind::kCloseCursor:
      if (plan.variable.empty()) {
        cursors_.clear();
        if (portals_.close_all) portals_.close_all();
      } else if (cursors_.erase(plan.variable) == 0 &&
                 !(portals_.close && portals_.close(plan.variable))) {
        return sql_error(sqlstate::kInvalidCursorName,
                         "cursor \"" + plan.variable + "\" does not exist");
      }
      return result;
    case Plan::Kind::kNoOp:
      return result;
    case Plan::Kind::kDeallocate:
      if (!deallocate_ || !deallocate_(plan.variable)) {
        return sql_error("26000", "prepared statement \"" + plan.variable + "\" does not exist");
      }
      return result;
    case Plan::Kind::kShowColumns: {
      std::optional<TableDef> def;
      if (plan.value.empty() || plan.value == kSchemaName) {
        def = engine_.catalog().table(plan.variable);
        if (auto view = engine_.catalog().view(plan.variable)) {
          def = TableDef{};
          def->name = view->name;
          def->columns = view->columns;
        }
      }
      if (!def && (plan.value.empty() || is_system_schema(plan.value)))
        def = system_table(plan.value, plan.variable);
      if (!def)
        return sql_error(sqlstate::kUndefinedTable,
                         "relation \"" + plan.variable + "\" does not exist");
      text_rows(describe_columns(*def));
      return result;
    }
    case Plan::Kind::kShowCreate: {
      std::string statement;
      if (plan.value == "table") {
        auto def = engine_.catalog().table(plan.variable);
        if (!def)
          return sql_error(sqlstate::kUndefinedTable,
                           "table \"" + plan.variable + "\" does not exist");
        int32_t partitions = engine_.options().default_partitions;
        if (engine_.log() != nullptr)
          if (auto topic = engine_.log()->topic(def->topic)) partitions = topic->partitions;
        statement = create_table_statement(*def, partitions);
      } else {
        auto def = engine_.catalog().view(plan.variable);
        if (!def || !def->materialized)
          return sql_error(sqlstate::kUndefinedTable,
                           "materialized view \"" + plan.variable + "\" does not exist");
        statement = def->sql;
      }
      text_rows({{Value::text(plan.variable), Value::text(statement)}});
      return result;
    }
    case Plan::Kind::kExplain: {
      SQL_ASSIGN(std::vector<std::string> lines, explain(plan, engine_));
      std::vector<Row> rows;
      for (auto& line : lines)
        rows.push_back({Value::text(std::move(line))});
      text_rows(std::move(rows));
      return result;
    }
  }
  return sql_error(sqlstate::kInternalError, "unknown plan");
}

}  // namespace eddy::sql
