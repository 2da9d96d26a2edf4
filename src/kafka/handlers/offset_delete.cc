// OffsetDelete (API 47), v0.
//
// Removes committed offsets of partitions no member of the group subscribes to.
#include "groups/group_coordinator.h"
#include "kafka/handlers/handlers.h"

namespace eddy::kafka {
namespace {

struct TopicSlice {
  std::string name;
  std::vector<int32_t> partitions;
};

bool handle(RequestContext& ctx, WireReader& body, AsyncServices&, Respond respond) {
  std::string group = body.string();
  std::vector<TopicSlice> layout;
  std::vector<groups::TopicPartition> partitions;
  const int32_t topics = body.array_length(2);
  for (int32_t t = 0; t < topics && body.ok(); ++t) {
    TopicSlice slice;
    slice.name = body.string();
    const int32_t n = body.array_length(4);
    for (int32_t i = 0; i < n && body.ok(); ++i) {
      slice.partitions.push_back(body.i32());
      partitions.push_back({slice.name, slice.partitions.back()});
    }
    layout.push_back(std::move(slice));
  }
  if (!body.ok()) return false;
  auto answer = [layout = std::move(layout), respond = std::move(respond)](
                    groups::GroupError error, std::vector<groups::GroupError> errors) {
    WireWriter w(false);
    w.i16(code(error));
    w.i32(0);  // throttle_time_ms
    const bool per_partition = error == groups::GroupError::kNone;
    w.array_length(per_partition ? static_cast<int32_t>(layout.size()) : 0);
    size_t k = 0;
    for (const TopicSlice& slice : per_partition ? layout : std::vector<TopicSlice>{}) {
      w.string(slice.name);
      w.array_length(static_cast<int32_t>(slice.partitions.size()));
      for (int32_t p : slice.partitions) {
        w.i32(p);
        w.i16(code(errors[k++]));
      }
    }
    respond(w.take());
  };
  if (!ctx.groups) {
    answer(groups::GroupError::kCoordinatorNotAvailable, {});
    return true;
  }
  ctx.groups->delete_offsets(std::move(group), std::move(partitions), std::move(answer));
  return true;
}

}  // namespace

Handler make_offset_delete_handler() {
  return Handler{ApiKey::kOffsetDelete, "OffsetDelete", 0, 0, INT16_MAX, handle};
}

}  // namespace eddy::kafka
