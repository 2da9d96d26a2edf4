// The interface the Postgres wire protocol (and tests) use to run SQL.
//
// An Engine is shared by every connection: the catalog of tables and the storage they read and
// write. A Session is one client's state: settings (SET/SHOW), transaction status, prepared
// statements are kept by the caller. A Session is used by one thread at a time; its methods
// block (table scans read the log, INSERT waits for fsync), so callers run them off I/O threads.
// cancel() may be called from any thread.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "sql/cursor.h"
#include "sql/value.h"

namespace eddy::storage {
class LogManager;
}

namespace eddy::sql {

class Catalog;
class CopyIn;
class ViewHost;
struct Plan;
class ParsedQuery;
struct BindInput;

struct EngineOptions {
  storage::LogManager* log = nullptr;  // null: tables are unavailable (expressions only)
  std::string data_dir;                // where sql_catalog lives; empty: in-memory only
  int32_t default_partitions = 1;      // for topics CREATE TABLE makes
};

struct EngineStats {
  std::atomic<uint64_t> records_skipped{0};  // records that did not parse or fit their table
  std::atomic<uint64_t> records_inserted{0};
};

class Engine {
 public:
  static Result<std::unique_ptr<Engine>> open(EngineOptions options);
  ~Engine();
  Catalog& catalog() { return *catalog_; }
  storage::LogManager* log() const { return options_.log; }
  const EngineOptions& options() const { return options_; }
  EngineStats& stats() { return stats_; }
  // Materialized views run on `host` (owned by the caller, outliving the Engine's use of it).
  void set_view_host(ViewHost* host) { views_ = host; }
  ViewHost* view_host() const { return views_; }
  // Where cursors spill their rows: <data-dir>/tmp, or the system's temporary directory.
  std::string temp_dir() const;
  // Binds every view of the catalog again (keeping the column names it was created with) and
  // starts it from its checkpoint; called once at startup after set_view_host. A view that does
  // not start is skipped: the others start, and the error names every one skipped.
  SqlStatus start_views();

 private:
  explicit Engine(EngineOptions options);
  EngineOptions options_;
  std::unique_ptr<Catalog> catalog_;
  EngineStats stats_;
  ViewHost* views_ = nullptr;
};

struct StatementResult {
  std::vector<std::pair<std::string, Type>> columns;  // empty when the statement has no rows
  bool returns_rows = false;
  std::vector<Row> rows;
  // The rows (or COPY TO lines) went to the ResultSink as they were made: `rows` and
  // `copy_lines` are empty, `tag` counts what was sent.
  bool streamed = false;
  std::string tag;  // CommandComplete: "SELECT 3", "INSERT 0 2", "CREATE TABLE", ...
  std::vector<std::string> notices;
  // COPY: kIn — the session waits for the client's data (Session::copy_data, copy_done,
  // copy_fail), and `tag` is not final; kOut — `copy_lines` are the data, one line each.
  enum class Copy : uint8_t { kNone, kIn, kOut };
  Copy copy = Copy::kNone;
  int16_t copy_columns = 0;
  std::vector<std::string> copy_lines;
};

// Where a statement's rows go while it runs, so that a result is never held whole: the pgwire
// connection encodes and sends them as they come, and a slow reader slows the statement down.
// Called on the thread running the statement. An error returned by a call (the client went away,
// the statement was canceled while waiting to send) ends the statement with that error.
class ResultSink {
 public:
  virtual ~ResultSink() = default;
  // A SELECT's rows follow (called once, before its first row()).
  virtual SqlStatus begin_rows(const std::vector<std::pair<std::string, Type>>& columns) = 0;
  virtual SqlStatus row(const Row& row) = 0;  // the result's columns only
  // COPY ... TO STDOUT: `columns` per line, then each line of data (with its newline).
  virtual SqlStatus begin_copy_out(int16_t columns) = 0;
  virtual SqlStatus copy_line(std::string_view line) = 0;
  // The simple query protocol: a statement finished (rows it did not stream are in `result`).
  // Not called for a COPY FROM STDIN, which the caller drives.
  virtual SqlStatus statement_done(StatementResult&& result) = 0;
};

// One statement, parsed and bound once, executed any number of times.
class PreparedStatement {
 public:
  const std::string& sql() const { return sql_; }
  bool empty() const { return plan_ == nullptr; }
  const std::vector<Type>& param_types() const;
  // Result columns (name, type); empty when the statement returns no rows.
  std::vector<std::pair<std::string, Type>> columns() const;
  bool returns_rows() const;
  bool is_copy() const;  // COPY FROM STDIN or TO STDOUT

 private:
  friend class Session;
  std::string sql_;
  std::shared_ptr<const Plan> plan_;
};

class Session {
 public:
  // `startup` holds the client's startup parameters (application_name, client_encoding, ...).
  Session(Engine& engine, const std::map<std::string, std::string>& startup = {});
  ~Session();

  // Parses and binds one statement (none for an empty string). `param_types` may be shorter than
  // the parameters used, and kUnknown where the client leaves the type to the server.
  SqlResult<std::shared_ptr<PreparedStatement>> prepare(const std::string& sql,
                                                        const std::vector<Type>& param_types);
  // Parameters arrive already converted to the statement's param_types (null allowed).
  // With a sink, rows and COPY TO lines stream to it (the result says `streamed`).
  SqlResult<StatementResult> execute(const PreparedStatement& statement,
                                     const std::vector<Value>& params, ResultSink* sink = nullptr);

  struct SimpleOutcome {
    // One per statement that ran; with a sink only a final COPY FROM STDIN (the others went to
    // the sink's statement_done).
    std::vector<StatementResult> results;
    std::optional<SqlError> error;  // the statement that failed; the rest did not run
    bool empty = false;             // no statements at all
  };
  // The simple query protocol: every statement in `sql`, in order, stopping at the first error
  // or after a COPY FROM STDIN (the last result, Copy::kIn): once that COPY has ended,
  // resume_simple() runs the statements after it (none when it failed).
  SimpleOutcome execute_simple(const std::string& sql, ResultSink* sink = nullptr);
  SimpleOutcome resume_simple(ResultSink* sink = nullptr);

  // COPY FROM STDIN after a result with Copy::kIn. copy_data takes the next piece of data (any
  // split); an error ends the COPY (nothing written) and the caller drops the rest of its data.
  // copy_done writes the rows and answers "COPY n"; copy_fail ends it with 57014.
  bool in_copy() const { return copy_ != nullptr; }
  SqlStatus copy_data(std::string_view data);
  SqlResult<StatementResult> copy_done();
  SqlError copy_fail(const std::string& message);

  // The columns `statement` answers now: a FETCH's are its cursor's (none while there is no
  // such cursor; executing it reports that).
  std::vector<std::pair<std::string, Type>> result_columns(const PreparedStatement& statement);
  // A cursor DECLARE made (the protocol may Describe and Execute it as a portal); null if none.
  Cursor* find_cursor(const std::string& name);
  // The extended protocol's Execute with a row limit: the statement (one returning rows) runs
  // into a cursor the connection keeps as the portal's, and fetch_forward hands out its rows.
  SqlResult<std::unique_ptr<Cursor>> open_cursor(const PreparedStatement& statement,
                                                 const std::vector<Value>& params);
  // Up to `max_rows` (0: all) of the cursor's next rows to `sink`; answers how many.
  SqlResult<int64_t> fetch_forward(Cursor& cursor, int64_t max_rows, ResultSink* sink);

  // 'I' idle, 'T' in a transaction block, 'E' in a failed transaction block.
  char transaction_status() const { return tx_; }
  // How many transaction blocks have ended (COMMIT, ROLLBACK): the protocol's portals, which
  // the connection keeps, close when one ends.
  uint64_t transactions_ended() const { return transactions_ended_; }
  // Settings reported to the client at startup, and the ones changed since the last call.
  std::vector<std::pair<std::string, std::string>> reported_parameters() const;
  std::vector<std::pair<std::string, std::string>> take_changed_parameters();
  std::optional<std::string> setting(const std::string& name) const;

  // The process id the client was told in BackendKeyData (pg_backend_pid()).
  void set_backend_pid(int32_t pid) { backend_pid_ = pid; }

  // How DEALLOCATE reaches the protocol's prepared statements, which the connection keeps:
  // called with the name (empty: all); false when there is no statement of that name.
  void set_deallocator(std::function<bool(const std::string&)> deallocate) {
    deallocate_ = std::move(deallocate);
  }

  // The protocol's portals, which the connection keeps, share the cursors' names (as in
  // PostgreSQL): DECLARE of a portal's name is 42P03, CLOSE reaches portals, CLOSE ALL closes
  // them too.
  struct PortalHooks {
    std::function<bool(const std::string&)> exists;
    std::function<bool(const std::string&)> close;  // false when there is none of that name
    std::function<void()> close_all;
  };
  void set_portal_hooks(PortalHooks hooks) { portals_ = std::move(hooks); }
  // Closes a DECLAREd cursor (the protocol's Close of a portal by its name); false if none.
  bool close_cursor(const std::string& name) { return cursors_.erase(name) != 0; }

  // Makes the running (or next) scan stop with SQLSTATE 57014.
  void cancel() { cancel_->store(true); }
  // The flag cancel() sets, for a ResultSink that waits on its client.
  const std::atomic<bool>& cancel_flag() const { return *cancel_; }

  // 1-based character position of byte `location` in `sql`, as ErrorResponse reports it.
  static int character_position(const std::string& sql, int location);

 private:
  SqlResult<StatementResult> run(const Plan& plan, const std::vector<Value>& params,
                                 ResultSink* sink);
  SqlResult<StatementResult> run_guarded(const Plan& plan, const std::vector<Value>& params,
                                         ResultSink* sink);
  SimpleOutcome run_simple(size_t from, ResultSink* sink);
  void end_copy(bool failed);
  size_t work_mem_bytes() const;  // the work_mem setting, in bytes
  // Runs a statement that returns rows into a cursor's spool.
  SqlResult<std::unique_ptr<Cursor>> spool(const Plan& plan, const std::vector<Value>& params,
                                           CursorOptions options);
  uint64_t temp_file_limit_bytes() const;  // 0: none
  SimpleOutcome run_simple_statements(size_t from, ResultSink* sink);
  SqlResult<StatementResult> run_fetch(const Plan& plan, ResultSink* sink);
  // A transaction block ended: its cursors close, except WITH HOLD ones it committed.
  void end_transaction_cursors(bool committed);
  BindInput bind_input(std::vector<Type> param_types);

  Engine& engine_;
  std::map<std::string, std::string> settings_;  // lower-case name -> value
  std::map<std::string, std::string> defaults_;
  std::vector<std::string> changed_;
  char tx_ = 'I';
  uint64_t transactions_ended_ = 0;
  int32_t backend_pid_ = 0;
  std::function<bool(const std::string&)> deallocate_;
  std::shared_ptr<std::atomic<bool>> cancel_ = std::make_shared<std::atomic<bool>>(false);
  std::unique_ptr<CopyIn> copy_;
  std::map<std::string, std::unique_ptr<Cursor>> cursors_;
  PortalHooks portals_;
  bool implicit_block_ = false;  // running a simple query of several statements
  // A simple query paused by its COPY FROM STDIN: the statements after it.
  std::shared_ptr<const ParsedQuery> paused_;
  size_t paused_next_ = 0;
};

}  // namespace eddy::sql
