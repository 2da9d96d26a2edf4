#include "sql/catalog.h"

#include <nlohmann/json.hpp>

namespace eddy::sql {

namespace {
constexpr uint64_t kMaxCatalogBytes = 64 << 20;
}

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
      for (const auto& c : t.at("columns")) {
        auto type = type_from_name(c.at("type").get<std::string>());
        if (!type) return Error(ErrorCode::kCorrupt, catalog->path_ + ": unknown column type");
        def.columns.push_back({c.at("name").get<std::string>(), *type});
      }
      catalog->tables_[def.name] = std::move(def);
    }
  } catch (const nlohmann::json::exception& e) {
    return Error(ErrorCode::kCorrupt, catalog->path_ + ": " + e.what());
  }
  return catalog;
}

std::optional<TableDef> Catalog::table(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = tables_.find(name);
  if (it == tables_.end()) return std::nullopt;
  return it->second;
}

std::vector<TableDef> Catalog::tables() const {
  std::lock_guard lock(mu_);
  std::vector<TableDef> out;
  for (const auto& [name, def] : tables_)
    out.push_back(def);
  return out;
}

Status Catalog::create(const TableDef& table) {
  std::lock_guard lock(mu_);
  if (tables_.count(table.name) != 0) {
    return Error(ErrorCode::kAlreadyExists, "relation \"" + table.name + "\" already exists");
  }
  tables_[table.name] = table;
  Status saved = save_locked();
  if (!saved.ok()) tables_.erase(table.name);
  return saved;
}

Result<TableDef> Catalog::drop(const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = tables_.find(name);
  if (it == tables_.end()) {
    return Error(ErrorCode::kNotFound, "table \"" + name + "\" does not exist");
  }
  TableDef def = it->second;
  tables_.erase(it);
  Status saved = save_locked();
  if (!saved.ok()) {
    tables_[name] = def;
    return saved.error();
  }
  return def;
}

Status Catalog::save_locked() const {
  nlohmann::json doc;
  doc["version"] = 1;
  doc["tables"] = nlohmann::json::array();
  for (const auto& [name, def] : tables_) {
    nlohmann::json columns = nlohmann::json::array();
    for (const auto& c : def.columns)
      columns.push_back({{"name", c.name}, {"type", type_name(c.type)}});
    doc["tables"].push_back({{"name", def.name},
                             {"topic", def.topic},
                             {"owns_topic", def.owns_topic},
                             {"format", def.format},
                             {"columns", columns}});
  }
  const std::string text = doc.dump(2) + "\n";
  return write_file_atomically(
      fs_, path_, std::span(reinterpret_cast<const std::byte*>(text.data()), text.size()));
}

}  // namespace eddy::sql
