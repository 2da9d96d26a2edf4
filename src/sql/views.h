// What the SQL engine needs from whoever runs continuous materialized views (src/stream).
//
// The sql library does not depend on the stream engine: serve.cc (or a test) hands the Engine a
// ViewHost. Without one, CREATE MATERIALIZED VIEW answers 0A000.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "sql/catalog.h"
#include "sql/explain.h"
#include "sql/value.h"

namespace eddy::sql {

struct Plan;

struct ViewStatus {
  std::string name;
  std::string table;
  std::string state;    // "running", "failed: <reason>"
  int64_t records = 0;  // source records consumed (checkpointed)
  int64_t skipped = 0;  // records that did not decode or evaluate
  int64_t lag = 0;      // records visible in the source but not yet checkpointed
};

class ViewHost {
 public:
  virtual ~ViewHost() = default;
  // Checks that the stream engine can maintain `select` (0A000 naming the construct if not).
  virtual SqlStatus validate(const Plan& select) const = 0;
  // Starts maintaining the view. `fresh`: a new view (any state under its name is discarded);
  // otherwise it resumes from its checkpoint.
  virtual SqlStatus start(const ViewDef& def, std::shared_ptr<const Plan> select, bool fresh) = 0;
  // Stops the view and deletes its state.
  virtual SqlStatus drop(const std::string& name) = 0;
  // The view's visible columns as of its last checkpoint.
  virtual SqlResult<std::vector<Row>> read(const std::string& name) = 0;
  virtual std::vector<ViewStatus> status() const = 0;
  // EXPLAIN CREATE MATERIALIZED VIEW: the dataflow `start` would run for `select` (a plan that
  // passed validate), described from the operators the host builds for it.
  virtual SqlResult<ExplainNode> explain(const ViewDef& def, const Plan& select) const = 0;
};

}  // namespace eddy::sql
