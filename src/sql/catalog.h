// The SQL catalog: tables declared over topics, persisted in the data directory.
//
// The whole catalog is one small JSON file, `sql_catalog`, rewritten atomically (write to a
// temporary file, fsync, rename) on every change, so a crash leaves either the old or the new
// catalog. Thread-safe: sessions on different threads share one Catalog.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/file_io.h"
#include "common/result.h"
#include "sql/key_codec.h"
#include "sql/value.h"

namespace eddy::sql {

struct ColumnDef {
  std::string name;
  Type type = Type::kText;
};

struct TableDef {
  std::string name;
  std::string topic;
  bool owns_topic = false;  // created by CREATE TABLE without `topic`: dropped with the table
  std::string format = "json";
  // format = 'csv': WITH (csv.delimiter = ';', csv.quote = ...), one byte each.
  char csv_delimiter = ',';
  char csv_quote = '"';
  std::vector<ColumnDef> columns;
  // Records that do not decode go here (created when first needed); empty: only counted.
  std::string dead_letter;
  bool is_view = false;  // a materialized view's output seen as a table (read from its state)
  // PRIMARY KEY columns (indexes into `columns`): the topic is a changelog, the latest record per
  // key is the row and a tombstone (null value) deletes it. Empty: an append-only stream.
  std::vector<size_t> primary_key;
  bool has_primary_key() const { return !primary_key.empty(); }
  // A read-only system relation ("information_schema.tables"): rows come from the catalog
  // (system_tables.h), never from a topic. Not persisted.
  std::string system;
  // A subquery in FROM or a WITH query, named by its alias: its rows are the bound query's,
  // run when the statement reads them. Not persisted.
  std::shared_ptr<const struct Plan> subquery;
  // A view (not materialized) read in FROM: `subquery` is its query, bound where it is read.
  bool named_view = false;
};

// A view: its defining statement is kept as text and bound again where it is needed, so the
// catalog never stores plans. A continuous materialized view is bound when the server starts
// and maintained by the stream engine; a plain view (CREATE VIEW, `materialized` false) is a
// named query, bound wherever a statement reads it.
struct ViewDef {
  std::string name;
  bool materialized = true;
  std::string sql;    // the whole CREATE [MATERIALIZED] VIEW statement
  std::string table;  // the source table (the first input); empty for a plain view
  // Every other table or view the view reads (joined reference tables, UNION ALL arms; for a
  // plain view all of them); they cannot be dropped while the view exists.
  std::vector<std::string> inputs;
  std::vector<ColumnDef> columns;
  std::string topic;  // WITH (topic = ...): the view's changes are written here; empty: none
  // WITH (state_ttl = ...): rows of a join's state stop matching once the newest record
  // timestamp the join has seen is this far past theirs (then they are deleted); 0: never.
  int64_t state_ttl_ms = 0;
  // How its state encodes group and join keys: new views take the current format, views
  // created by earlier versions keep theirs (the catalog has no field for them: 1).
  KeyFormat key_format = KeyFormat::kCurrent;
};

// The default dead-letter topic of a table.
inline std::string default_dead_letter(const std::string& table) {
  return table + "_dead_letter";
}

// Columns every table has after its declared ones, in this order.
inline constexpr const char* kMetadataColumns[] = {"_key", "_offset", "_partition", "_timestamp",
                                                   "_headers"};
inline constexpr Type kMetadataTypes[] = {Type::kText, Type::kInt8, Type::kInt4, Type::kTimestamptz,
                                          Type::kJsonb};

class Catalog {
 public:
  // Reads `dir`/sql_catalog when it exists; an empty catalog otherwise.
  static Result<std::unique_ptr<Catalog>> open(FileSystem& fs, const std::string& dir);

  std::optional<TableDef> table(const std::string& name) const;
  std::vector<TableDef> tables() const;
  // kAlreadyExists when the name is taken; persisted before returning.
  Status create(const TableDef& table);
  // kNotFound when absent.
  Result<TableDef> drop(const std::string& name);

  // Views share the tables' namespace.
  std::optional<ViewDef> view(const std::string& name) const;
  std::vector<ViewDef> views() const;
  Status create_view(const ViewDef& view);
  // Replaces the view of that name (kNotFound when absent), persisted before returning.
  Status replace_view(const ViewDef& view);
  Result<ViewDef> drop_view(const std::string& name);

  // Called when a drop cannot write the catalog for lack of space; returning true (it freed
  // some, such as the storage's disk reserve) makes the drop try once more. Set before use.
  void set_space_for_drops(std::function<bool()> free_space) {
    free_space_for_drops_ = std::move(free_space);
  }

 private:
  Catalog(FileSystem& fs, std::string path) : fs_(fs), path_(std::move(path)) {}
  Status save_locked() const;
  Status inputs_exist_locked(const ViewDef& view) const;
  template <typename Def>
  Status insert_locked(std::map<std::string, Def>& defs, const Def& def);
  template <typename Def>
  Result<Def> erase_locked(std::map<std::string, Def>& defs, const std::string& name,
                           const char* kind);

  FileSystem& fs_;
  std::string path_;
  std::function<bool()> free_space_for_drops_;
  mutable std::mutex mu_;
  std::map<std::string, TableDef> tables_;
  std::map<std::string, ViewDef> views_;
};

}  // namespace eddy::sql
