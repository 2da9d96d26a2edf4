#include "sql/catalog.h"

#include <nlohmann/json.hpp>

namespace eddy::sql {

namespace {
constexpr uint64_t kMaxCatalogBytes = 64 << 20;

Result<std::vector<ColumnDef>> read_columns(const nlohmann::json& columns,
                                            const std::string& path) {
  std::vector<ColumnDef> out;
  for (const auto& c : columns) {
    auto type = type_from_name(c.at("type").get<std::string>());
    if (!type) return Error(ErrorCode::kCorrupt, path + ": unknown column type");
    out.push_back({c.at("name").get<std::string>(), *type});
  }
  return out;
}
}  // namespace

Result<std::unique_ptr<Catalog>> Catalog::open(FileSystem& fs, const std::string& dir) {
  std::unique_ptr<Catalog> catalog(new Catalog(fs, join_path(dir, "sql_catalog")));
  ASSIGN_OR_RETURN(bool exists, fs.exists(catalog->path_));
  if (!exists) return catalog;
  ASSIGN_OR_RETURN(auto bytes, read_whole_file(fs, catalog->path_, kMaxCatalogBytes));
  const std::string text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  try {
    const auto doc = nlohmann::json::parse(text);
    if (doc.at("version").get<int>() != 1) {
      return Error(ErrorCode::kCorrupt, catalog->path_ + ": unknown catalog version");
    }
    for (const auto& t : doc.at("tables")) {
      TableDef def;
      def.name = t.at("name").get<std::string>();
      def.topic = t.at("topic").get<std::string>();
      def.owns_topic = t.at("owns_topic").get<bool>();
      def.format = t.at("format").get<std::string>();
      def.dead_letter = t.value("dead_letter", default_dead_letter(def.name));
      const std::string delimiter = t.value("csv_delimiter", std::string(","));
      const std::string quote = t.value("csv_quote", std::string("\""));
      if (delimiter.size() != 1 || quote.size() != 1)
        return Error(ErrorCode::kCorrupt, catalog->path_ + ": bad csv options");
      def.csv_delimiter = delimiter[0];
      def.csv_quote = quote[0];
      ASSIGN_OR_RETURN(def.columns, read_columns(t.at("columns"), catalog->path_));
      // Absent in catalogs written before primary keys existed: those tables are streams.
      for (const auto& k : t.value("primary_key", nlohmann::json::array())) {
        const auto index = k.get<size_t>();
        if (index >= def.columns.size())
          return Error(ErrorCode::kCorrupt, catalog->path_ + ": primary key column out of range");
        def.primary_key.push_back(index);
      }
      catalog->tables_[def.name] = std::move(def);
    }
    for (const auto& v : doc.value("views", nlohmann::json::array())) {
      ViewDef def;
      def.name = v.at("name").get<std::string>();
      def.sql = v.at("sql").get<std::string>();
      // Absent in catalogs written before plain views existed: those are all materialized.
      def.materialized = v.value("materialized", true);
      def.table = v.at("table").get<std::string>();
      def.topic = v.value("topic", std::string());
      def.state_ttl_ms = v.value("state_ttl_ms", int64_t{0});
      def.inputs = v.value("inputs", std::vector<std::string>());
      const int key_format = v.value("key_format", 1);
      if (key_format != 1 && key_format != 2)
        return Error(ErrorCode::kCorrupt, catalog->path_ + ": view " + def.name +
                                              " has an unknown key format " +
                                              std::to_string(key_format));
      def.key_format = static_cast<KeyFormat>(key_format);
      ASSIGN_OR_RETURN(def.columns, read_columns(v.at("columns"), catalog->path_));
      catalog->views_[def.name] = std::move(def);
    }
  } catch (const nlohmann::json::exception& e) {
    return Error(ErrorCode::kCorrupt, catalog->path_ + ": " + e.what());
  }
  return catalog;
}

namespace {
template <typename Def>
std::optional<Def> find_def(const std::map<std::string, Def>& defs, const std::string& name) {
  auto it = defs.find(name);
  if (it == defs.end()) return std::nullopt;
  return it->second;
}
template <typename Def>
std::vector<Def> all_defs(const std::map<std::string, Def>& defs) {
  std::vector<Def> out;
  for (const auto& [name, def] : defs)
    out.push_back(def);
  return out;
}
}  // namespace

template <typename Def>
Status Catalog::insert_locked(std::map<std::string, Def>& defs, const Def& def) {
  if (tables_.count(def.name) != 0 || views_.count(def.name) != 0) {
    return Error(ErrorCode::kAlreadyExists, "relation \"" + def.name + "\" already exists");
  }
  defs[def.name] = def;
  Status saved = save_locked();
  if (!saved.ok()) defs.erase(def.name);
  return saved;
}

template <typename Def>
Result<Def> Catalog::erase_locked(std::map<std::string, Def>& defs, const std::string& name,
                                  const char* kind) {
  auto it = defs.find(name);
  if (it == defs.end()) {
    return Error(ErrorCode::kNotFound, std::string(kind) + " \"" + name + "\" does not exist");
  }
  Def def = it->second;
  defs.erase(it);
  Status saved = save_locked();
  // A drop must work on a full disk, or space could not be freed through Eddy.
  if (!saved.ok() && saved.error().code() == ErrorCode::kNoSpace && free_space_for_drops_ &&
      free_space_for_drops_()) {
    saved = save_locked();
  }
  if (!saved.ok()) {
    defs[name] = def;
    return saved.error();
  }
  return def;
}

std::optional<TableDef> Catalog::table(const std::string& name) const {
  std::lock_guard lock(mu_);
  return find_def(tables_, name);
}

std::vector<TableDef> Catalog::tables() const {
  std::lock_guard lock(mu_);
  return all_defs(tables_);
}

Status Catalog::create(const TableDef& table) {
  std::lock_guard lock(mu_);
  return insert_locked(tables_, table);
}

Result<TableDef> Catalog::drop(const std::string& name) {
  std::lock_guard lock(mu_);
  return erase_locked(tables_, name, "table");
}

std::optional<ViewDef> Catalog::view(const std::string& name) const {
  std::lock_guard lock(mu_);
  return find_def(views_, name);
}

std::vector<ViewDef> Catalog::views() const {
  std::lock_guard lock(mu_);
  return all_defs(views_);
}

Status Catalog::inputs_exist_locked(const ViewDef& view) const {
  // Checked with the change, under the lock: a statement bound before another dropped what
  // it reads must not leave a view over nothing.
  std::vector<std::string> inputs = view.inputs;
  if (!view.table.empty()) inputs.push_back(view.table);
  for (const auto& name : inputs)
    if (tables_.count(name) == 0 && views_.count(name) == 0)
      return Error(ErrorCode::kNotFound, "relation \"" + name + "\" does not exist");
  return ok_status();
}

Status Catalog::create_view(const ViewDef& view) {
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(inputs_exist_locked(view));
  return insert_locked(views_, view);
}

Status Catalog::replace_view(const ViewDef& view) {
  std::lock_guard lock(mu_);
  auto it = views_.find(view.name);
  if (it == views_.end())
    return Error(ErrorCode::kNotFound, "view \"" + view.name + "\" does not exist");
  RETURN_IF_ERROR(inputs_exist_locked(view));
  ViewDef old = std::move(it->second);
  it->second = view;
  Status saved = save_locked();
  if (!saved.ok()) it->second = std::move(old);
  return saved;
}

Result<ViewDef> Catalog::drop_view(const std::string& name) {
  std::lock_guard lock(mu_);
  return erase_locked(views_, name, "materialized view");
}

namespace {
nlohmann::json columns_json(const std::vector<ColumnDef>& columns) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& c : columns)
    out.push_back({{"name", c.name}, {"type", type_name(c.type)}});
  return out;
}
}  // namespace

Status Catalog::save_locked() const {
  nlohmann::json doc;
  doc["version"] = 1;
  doc["tables"] = nlohmann::json::array();
  for (const auto& [name, def] : tables_) {
    const nlohmann::json columns = columns_json(def.columns);
    nlohmann::json table{{"name", def.name},
                         {"topic", def.topic},
                         {"owns_topic", def.owns_topic},
                         {"format", def.format},
                         {"csv_delimiter", std::string(1, def.csv_delimiter)},
                         {"csv_quote", std::string(1, def.csv_quote)},
                         {"dead_letter", def.dead_letter},
                         {"columns", columns}};
    if (def.has_primary_key()) table["primary_key"] = def.primary_key;
    doc["tables"].push_back(std::move(table));
  }
  doc["views"] = nlohmann::json::array();
  for (const auto& [name, def] : views_)
    doc["views"].push_back({{"name", def.name},
                            {"materialized", def.materialized},
                            {"sql", def.sql},
                            {"table", def.table},
                            {"topic", def.topic},
                            {"state_ttl_ms", def.state_ttl_ms},
                            {"inputs", def.inputs},
                            {"key_format", static_cast<int>(def.key_format)},
                            {"columns", columns_json(def.columns)}});
  const std::string text = doc.dump(2) + "\n";
  return write_file_atomically(
      fs_, path_, std::span(reinterpret_cast<const std::byte*>(text.data()), text.size()));
}

}  // namespace eddy::sql
