#include "stream/derived_tables.h"

#include "stream/top_per_group.h"

namespace eddy::stream {

namespace {

constexpr char kSeparator = '#';

struct Splitter {
  const sql::ViewDef& def;
  std::vector<ViewPart> parts;

  // `table`'s subquery as a hidden view (after the views it needs), and the table read of it.
  sql::TableDef view_of(const sql::TableDef& table) {
    std::shared_ptr<const sql::Plan> query = lower(table.subquery);
    sql::ViewDef child;
    child.name = def.name + kSeparator + std::to_string(parts.size() + 1);
    child.sql = "(a subquery in FROM of " + def.name + ")";
    child.table = first_table(*query);
    child.columns = table.columns;
    child.key_format = def.key_format;
    child.state_ttl_ms = def.state_ttl_ms;
    parts.push_back({child, query});
    sql::TableDef read;
    read.name = child.name;
    read.columns = child.columns;
    read.is_view = true;
    return read;
  }

  static std::string first_table(const sql::Plan& query) {
    if (!query.union_arms.empty()) return first_table(*query.union_arms.front());
    return query.table ? query.table->name : std::string();
  }

  // `plan` with every derived table (but a Top-N per group's) read from a hidden view.
  std::shared_ptr<const sql::Plan> lower(const std::shared_ptr<const sql::Plan>& plan) {
    sql::Plan copy = *plan;
    bool changed = false;
    for (auto& arm : copy.union_arms) {
      auto lowered = lower(arm);
      changed = changed || lowered != arm;
      arm = std::move(lowered);
    }
    if (copy.table && copy.table->subquery && !copy.table->named_view) {
      auto ranked = per_group_top(copy);
      if (ranked.ok() && *ranked && !(*ranked)->distinct_on) {
        // Top-N per group ranks the derived table's rows itself; what that reads is split off.
        auto inner = lower(copy.table->subquery);
        changed = changed || inner != copy.table->subquery;
        copy.table->subquery = std::move(inner);
      } else {
        copy.table = view_of(*copy.table);
        changed = true;
      }
    }
    for (auto& join : copy.joins)
      if (join.table.subquery && !join.table.named_view) {
        join.table = view_of(join.table);
        changed = true;
      }
    return changed ? std::make_shared<const sql::Plan>(std::move(copy)) : plan;
  }
};

}  // namespace

std::vector<ViewPart> split_derived_tables(const sql::ViewDef& def,
                                           std::shared_ptr<const sql::Plan> select) {
  Splitter splitter{def, {}};
  auto lowered = splitter.lower(select);
  splitter.parts.push_back({def, std::move(lowered)});
  return std::move(splitter.parts);
}

bool is_derived_view(const std::string& name) {
  return name.find(kSeparator) != std::string::npos;
}

}  // namespace eddy::stream
