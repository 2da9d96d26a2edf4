#include "groups/group_coordinator.h"

#include <spdlog/spdlog.h>

#include <strings.h>
#include <algorithm>
#include <chrono>
#include <limits>

#include "groups/group.h"
#include "storage/log_manager.h"
#include "storage/partition_log.h"
#include "storage/record_batch.h"
#include "storage/records.h"

namespace eddy::groups {

using Records = std::vector<std::pair<std::string, std::optional<std::string>>>;

struct GroupCoordinator::PendingWrite {
  std::shared_ptr<storage::PartitionLog> log;
  storage::AppendResult append;
  std::function<void(Status)> done;
};

// Work decided under the lock and done after it is released: client callbacks and durability
// waits (which may call back into the coordinator synchronously).
struct GroupCoordinator::Deferred {
  std::vector<std::function<void()>> calls;
  std::vector<PendingWrite> writes;
  bool wake_timer = false;
};

namespace {

constexpr int64_t kMaxTimerWaitMs = 1000;

bool same_protocols(const std::vector<Protocol>& a, const std::vector<Protocol>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
    return x.name == y.name && x.metadata == y.metadata;
  });
}

JoinResult join_error(GroupError error, std::string member_id = "") {
  JoinResult r;
  r.error = error;
  r.member_id = std::move(member_id);
  return r;
}

SyncResult sync_error(GroupError error) {
  SyncResult r;
  r.error = error;
  return r;
}

}  // namespace

GroupCoordinator::GroupCoordinator(storage::LogManager& log, CoordinatorOptions options)
    : log_(log), options_(std::move(options)) {
  if (!options_.clock) options_.clock = storage::wall_clock_ms;
}

GroupCoordinator::~GroupCoordinator() {
  close();
}

Result<std::unique_ptr<GroupCoordinator>> GroupCoordinator::open(storage::LogManager& log,
                                                                 CoordinatorOptions options) {
  std::unique_ptr<GroupCoordinator> c(new GroupCoordinator(log, std::move(options)));
  RETURN_IF_ERROR(c->load());
  c->next_retention_check_ms_ = c->now() + c->options_.retention_check_interval_ms;
  if (c->options_.run_timer_thread) {
    c->timer_ = std::thread([p = c.get()] { p->timer_loop(); });
  }
  return c;
}

void GroupCoordinator::run(Deferred& later) {
  for (auto& w : later.writes)
    log_.when_durable(w.log, w.append, std::move(w.done));
  if (later.wake_timer) timer_cv_.notify_all();
  for (auto& call : later.calls)
    call();
}

int64_t GroupCoordinator::now() const {
  return options_.clock();
}

Status GroupCoordinator::load() {
  auto topic = log_.topic(kOffsetsTopic);
  if (!topic) {
    auto created = log_.create_topic(kOffsetsTopic, options_.offsets_partitions,
                                     {{"cleanup.policy", "compact"},
                                      {"segment.bytes", "104857600"},
                                      {"max.message.bytes", "10485760"}});
    if (!created.ok()) return created.error();
    topic = *created;
  }
  offsets_partitions_ = topic->partitions;
  const int64_t start_ms = now();
  size_t applied = 0;
  std::lock_guard lock(mu_);
  for (int32_t p = 0; p < offsets_partitions_; ++p) {
    auto plog = log_.partition(kOffsetsTopic, p);
    if (!plog) return Error(ErrorCode::kNotFound, std::string(kOffsetsTopic) + " is incomplete");
    int64_t offset = plog->log_start_offset();
    const int64_t end = plog->high_watermark();
    while (offset < end) {
      auto read = plog->read(offset, storage::ReadOptions{.max_bytes = 1 << 20});
      if (!read.ok()) return read.error();
      const std::span<const std::byte> data = read->data;
      const int64_t before = offset;
      size_t pos = 0;
      while (pos + storage::kBatchHeaderSize <= data.size()) {
        const storage::BatchHeader h = storage::decode_batch_header(data.data() + pos);
        if (h.size_bytes() > data.size() - pos) break;
        const auto batch = data.subspan(pos, h.size_bytes());
        pos += h.size_bytes();
        offset = h.last_offset() + 1;
        auto records = storage::decode_records(batch);
        if (!records.ok()) {
          spdlog::warn("groups: skipping batch at {} of {}-{}: {}", h.base_offset, kOffsetsTopic, p,
                       records.error().message());
          continue;
        }
        for (const auto& r : *records) {
          auto decoded = decode_offsets_record(r.key, r.null_value ? std::nullopt : r.value);
          if (!decoded.ok()) {
            spdlog::warn("groups: skipping record at {} of {}-{}: {}",
                         h.base_offset + r.offset_delta, kOffsetsTopic, p,
                         decoded.error().message());
            continue;
          }
          apply_record_locked(*decoded, h.base_offset + r.offset_delta);
          ++applied;
        }
      }
      if (offset <= before) break;  // nothing readable: never loop on the same position
    }
  }
  // Tombstoned slots only matter while commits are in flight; none are after a load.
  for (auto it = groups_.begin(); it != groups_.end();) {
    std::erase_if(it->second->offsets, [](const auto& e) { return e.second.deleted; });
    const Group& g = *it->second;
    const bool nothing = g.offsets.empty() && g.members.empty() && !g.metadata_stored;
    it = nothing ? groups_.erase(it) : std::next(it);
  }
  // Members come back as they were; the ones that do not heartbeat within their session
  // timeout are removed by the timer like any other silent member.
  for (auto& [id, g] : groups_) {
    for (auto& [member_id, m] : g->members)
      m.session_deadline_ms = start_ms + m.session_timeout_ms;
    g->state = g->members.empty() ? GroupState::kEmpty : GroupState::kStable;
  }
  spdlog::info("groups: loaded {} groups from {} records of {} in {} ms", groups_.size(), applied,
               kOffsetsTopic, now() - start_ms);
  return ok_status();
}

void GroupCoordinator::apply_record_locked(const OffsetsRecord& record, int64_t log_offset) {
  if (record.kind == OffsetsRecord::Kind::kOffset) {
    auto it = groups_.find(record.group);
    if (!record.offset) {
      if (it == groups_.end()) return;
      auto existing = it->second->offsets.find(record.partition);
      if (existing != it->second->offsets.end() && existing->second.log_offset < log_offset) {
        existing->second = StoredCommit{{}, log_offset, true};
      }
      return;
    }
    Group& g = group_locked(record.group);
    StoredCommit& slot = g.offsets[record.partition];
    if (slot.log_offset < log_offset) slot = StoredCommit{*record.offset, log_offset, false};
    return;
  }
  Group& g = group_locked(record.group);
  if (log_offset <= g.group_log_offset) return;
  g.group_log_offset = log_offset;
  g.members.clear();
  g.static_members.clear();
  if (!record.group_value) {
    // Deleted or expired: only commits made after the deletion survive.
    std::erase_if(g.offsets,
                  [&](const auto& entry) { return entry.second.log_offset < log_offset; });
    g.generation = 0;
    g.protocol_type.clear();
    g.protocol.reset();
    g.leader.reset();
    if (!g.has_live_offsets()) groups_.erase(record.group);
    return;
  }
  const StoredGroup& s = *record.group_value;
  g.metadata_stored = true;
  g.protocol_type = s.protocol_type;
  g.generation = s.generation;
  g.protocol = s.protocol;
  g.leader = s.leader;
  g.state_timestamp_ms = s.state_timestamp_ms;
  for (const StoredMember& sm : s.members) {
    Member m;
    m.id = sm.member_id;
    m.instance_id = sm.instance_id;
    m.client_id = sm.client_id;
    m.client_host = sm.client_host;
    m.session_timeout_ms = sm.session_timeout_ms;
    m.rebalance_timeout_ms = sm.rebalance_timeout_ms;
    m.protocol_type = s.protocol_type;
    if (s.protocol) m.protocols.push_back({*s.protocol, sm.subscription});
    m.assignment = sm.assignment;
    m.join_order = g.next_join_order++;
    if (m.instance_id) g.static_members[*m.instance_id] = m.id;
    g.members.emplace(m.id, std::move(m));
  }
}

Group& GroupCoordinator::group_locked(const std::string& id) {
  auto& slot = groups_[id];
  if (!slot) {
    slot = std::make_unique<Group>();
    slot->id = id;
    slot->state_timestamp_ms = now();
  }
  return *slot;
}

void GroupCoordinator::write_locked(const std::string& group_id, Records records, Deferred& later,
                                    std::function<void(Status, int64_t)> done) {
  const int32_t p = offsets_partition_for(group_id, offsets_partitions_);
  auto plog = log_.partition(kOffsetsTopic, p);
  if (!plog) {
    later.calls.push_back([done] {
      done(Error(ErrorCode::kNotFound, std::string(kOffsetsTopic) + " is missing"), -1);
    });
    return;
  }
  std::vector<storage::OutgoingRecord> out;
  out.reserve(records.size());
  for (const auto& [key, value] : records) {
    out.push_back(
        {std::string_view(key), value ? std::optional<std::string_view>(*value) : std::nullopt, 0});
  }
  std::vector<std::byte> batch = storage::encode_batch(out, now());
  auto appended = plog->append(batch);
  if (!appended.ok()) {
    spdlog::error("groups: cannot write to {}-{}: {}", kOffsetsTopic, p,
                  appended.error().message());
    later.calls.push_back([done, error = appended.error()] { done(error, -1); });
    return;
  }
  const int64_t base = appended->base_offset;
  later.writes.push_back(
      {plog, *appended, [done = std::move(done), base](Status s) { done(std::move(s), base); }});
}

// ---------------------------------------------------------------------------------------------
// Rebalancing

void GroupCoordinator::prepare_rebalance_locked(Group& g, Deferred& later) {
  if (g.state == GroupState::kCompletingRebalance) {
    for (auto& [id, m] : g.members) {
      m.assignment.clear();
      if (m.pending_sync) {
        later.calls.push_back(
            [cb = std::move(m.pending_sync)] { cb(sync_error(GroupError::kRebalanceInProgress)); });
        m.pending_sync = nullptr;
      }
    }
  }
  const bool first = g.state == GroupState::kEmpty;
  g.state = GroupState::kPreparingRebalance;
  g.state_timestamp_ms = now();
  const int64_t rebalance_timeout = std::max<int32_t>(g.max_rebalance_timeout_ms(), 0);
  g.initial_delay = first && options_.initial_rebalance_delay_ms > 0;
  g.rebalance_deadline_ms =
      now() + (g.initial_delay ? std::min(options_.initial_rebalance_delay_ms, rebalance_timeout)
                               : rebalance_timeout);
  later.wake_timer = true;
  maybe_complete_join_locked(g, later);
}

void GroupCoordinator::maybe_complete_join_locked(Group& g, Deferred& later) {
  if (g.state != GroupState::kPreparingRebalance || g.initial_delay) return;
  if (g.all_members_joined()) complete_join_locked(g, later);
}

JoinResult GroupCoordinator::join_result_locked(const Group& g, const std::string& member_id,
                                                bool for_leader) const {
  JoinResult r;
  r.generation = g.generation;
  r.protocol_type = g.protocol_type;
  r.protocol_name = g.protocol;
  r.leader = g.leader.value_or("");
  r.member_id = member_id;
  if (for_leader && g.protocol) {
    for (const auto& [id, m] : g.members) {
      const std::string* metadata = m.metadata_for(*g.protocol);
      r.members.push_back({id, m.instance_id, metadata ? *metadata : std::string()});
    }
  }
  return r;
}

void GroupCoordinator::complete_join_locked(Group& g, Deferred& later) {
  g.initial_delay = false;
  ++g.generation;
  g.state_timestamp_ms = now();
  if (g.members.empty()) {
    g.state = GroupState::kEmpty;
    g.rebalance_deadline_ms = -1;
    g.protocol.reset();
    g.leader.reset();
    spdlog::info("groups: group {} is empty at generation {}", g.id, g.generation);
    Records records;
    records.emplace_back(encode_group_key(g.id), encode_group_value(g.to_stored(now())));
    g.metadata_stored = true;
    write_locked(g.id, std::move(records), later, [id = g.id](Status s, int64_t) {
      if (!s.ok()) spdlog::warn("groups: cannot store group {}: {}", id, s.error().message());
    });
    return;
  }
  g.protocol = g.select_protocol();
  if (!g.leader || !g.members.count(*g.leader)) {
    const Member* first = nullptr;
    for (const auto& [id, m] : g.members) {
      if (!first || m.join_order < first->join_order) first = &m;
    }
    g.leader = first->id;
  }
  g.state = GroupState::kCompletingRebalance;
  g.rebalance_deadline_ms = now() + std::max<int32_t>(g.max_rebalance_timeout_ms(), 0);
  later.wake_timer = true;
  spdlog::info("groups: group {} generation {} with {} members, protocol {}, leader {}", g.id,
               g.generation, g.members.size(), g.protocol.value_or("-"), *g.leader);
  for (auto& [id, m] : g.members) {
    m.session_deadline_ms = now() + m.session_timeout_ms;
    if (!m.pending_join) continue;
    JoinResult r = join_result_locked(g, id, id == *g.leader);
    later.calls.push_back([cb = std::move(m.pending_join), r = std::move(r)] { cb(r); });
    m.pending_join = nullptr;
  }
}

void GroupCoordinator::remove_member_locked(Group& g, const std::string& member_id,
                                            Deferred& later) {
  auto it = g.members.find(member_id);
  if (it == g.members.end()) return;
  Member& m = it->second;
  if (m.pending_join) {
    later.calls.push_back(
        [cb = std::move(m.pending_join)] { cb(join_error(GroupError::kUnknownMemberId)); });
  }
  if (m.pending_sync) {
    later.calls.push_back(
        [cb = std::move(m.pending_sync)] { cb(sync_error(GroupError::kUnknownMemberId)); });
  }
  if (m.instance_id) {
    auto s = g.static_members.find(*m.instance_id);
    if (s != g.static_members.end() && s->second == member_id) g.static_members.erase(s);
  }
  g.members.erase(it);
  switch (g.state) {
    case GroupState::kStable:
    case GroupState::kCompletingRebalance:
      prepare_rebalance_locked(g, later);
      break;
    case GroupState::kPreparingRebalance:
      maybe_complete_join_locked(g, later);
      break;
    default:
      break;
  }
}

void GroupCoordinator::join(JoinRequest req, std::function<void(JoinResult)> done) {
  Deferred later;
  auto reply = [&](JoinResult r) { later.calls.push_back([done, r = std::move(r)] { done(r); }); };
  {
    std::lock_guard lock(mu_);
    [&] {
      if (closed_) return reply(join_error(GroupError::kCoordinatorNotAvailable));
      if (req.group_id.empty()) return reply(join_error(GroupError::kInvalidGroupId));
      if (req.session_timeout_ms < options_.min_session_timeout_ms ||
          req.session_timeout_ms > options_.max_session_timeout_ms) {
        return reply(join_error(GroupError::kInvalidSessionTimeout));
      }
      if (req.rebalance_timeout_ms <= 0) req.rebalance_timeout_ms = req.session_timeout_ms;
      auto found = groups_.find(req.group_id);
      if (found == groups_.end() && !req.member_id.empty()) {
        return reply(join_error(GroupError::kUnknownMemberId, req.member_id));
      }
      if (found == groups_.end() && (req.protocol_type.empty() || req.protocols.empty())) {
        return reply(join_error(GroupError::kInconsistentGroupProtocol, req.member_id));
      }
      Group& g = group_locked(req.group_id);
      if (g.state == GroupState::kDead) {
        return reply(join_error(GroupError::kCoordinatorNotAvailable));
      }
      if (!g.supports(req.protocol_type, req.protocols)) {
        return reply(join_error(GroupError::kInconsistentGroupProtocol, req.member_id));
      }

      auto make_member = [&](const std::string& id) {
        Member m;
        m.id = id;
        m.instance_id = req.instance_id;
        m.client_id = req.client_id;
        m.client_host = req.client_host;
        m.session_timeout_ms = req.session_timeout_ms;
        m.rebalance_timeout_ms = req.rebalance_timeout_ms;
        m.protocol_type = req.protocol_type;
        m.protocols = req.protocols;
        m.session_deadline_ms = now() + req.session_timeout_ms;
        m.join_order = g.next_join_order++;
        m.pending_join = done;
        return m;
      };
      auto add_and_rebalance = [&](const std::string& id) {
        if (g.members.empty()) g.protocol_type = req.protocol_type;
        if (req.instance_id) g.static_members[*req.instance_id] = id;
        g.members.emplace(id, make_member(id));
        later.wake_timer = true;
        if (g.state == GroupState::kPreparingRebalance) {
          maybe_complete_join_locked(g, later);
        } else {
          prepare_rebalance_locked(g, later);
        }
      };

      if (req.member_id.empty()) {
        if (req.instance_id) {
          const std::string new_id = new_member_id(*req.instance_id);
          auto known = g.static_members.find(*req.instance_id);
          if (known != g.static_members.end() && !g.members.count(known->second)) {
            g.static_members.erase(known);
            known = g.static_members.end();
          }
          if (known == g.static_members.end()) return add_and_rebalance(new_id);
          // A static member restarting: it takes over its old identity and, when nothing
          // changed, its old assignment, without a rebalance.
          const std::string old_id = known->second;
          Member m = std::move(g.members.at(old_id));
          g.members.erase(old_id);
          if (m.pending_join) {
            later.calls.push_back([cb = std::move(m.pending_join)] {
              cb(join_error(GroupError::kFencedInstanceId));
            });
          }
          if (m.pending_sync) {
            later.calls.push_back([cb = std::move(m.pending_sync)] {
              cb(sync_error(GroupError::kFencedInstanceId));
            });
          }
          const std::optional<std::string> leader_before = g.leader;
          if (g.leader == old_id) g.leader = new_id;
          const bool unchanged =
              g.protocol && m.metadata_for(*g.protocol) &&
              std::any_of(req.protocols.begin(), req.protocols.end(), [&](const Protocol& p) {
                return p.name == *g.protocol && p.metadata == *m.metadata_for(*g.protocol);
              });
          Member replacement = make_member(new_id);
          replacement.assignment = std::move(m.assignment);
          replacement.join_order = m.join_order;
          g.static_members[*req.instance_id] = new_id;
          spdlog::info("groups: static member {} of group {} rejoined as {}", *req.instance_id,
                       g.id, new_id);
          if (g.state == GroupState::kStable && unchanged) {
            replacement.pending_join = nullptr;
            g.members.emplace(new_id, std::move(replacement));
            JoinResult r = join_result_locked(g, new_id, false);
            // The previous leader id keeps the returning leader from computing a new
            // assignment that a stable group would never distribute.
            r.leader = leader_before.value_or("");
            // Answered once the new identity is durable: after a crash the member must not
            // hold an id the reloaded group would fence.
            Records records;
            records.emplace_back(encode_group_key(g.id), encode_group_value(g.to_stored(now())));
            g.metadata_stored = true;
            write_locked(g.id, std::move(records), later,
                         [done, r = std::move(r), id = g.id](Status s, int64_t) {
                           if (s.ok()) return done(r);
                           spdlog::warn("groups: cannot store group {}: {}", id,
                                        s.error().message());
                           done(join_error(GroupError::kCoordinatorNotAvailable));
                         });
            return;
          }
          g.members.emplace(new_id, std::move(replacement));
          if (g.state == GroupState::kPreparingRebalance) {
            maybe_complete_join_locked(g, later);
          } else {
            prepare_rebalance_locked(g, later);
          }
          return;
        }
        const std::string new_id = new_member_id(req.client_id);
        if (req.require_known_member_id) {
          g.pending_members[new_id] = now() + req.session_timeout_ms;
          later.wake_timer = true;
          return reply(join_error(GroupError::kMemberIdRequired, new_id));
        }
        return add_and_rebalance(new_id);
      }

      if (req.instance_id) {
        // A replaced static member learns it was fenced (and stops) rather than that it is
        // unknown (which would make it rejoin and fence its replacement in turn).
        auto s = g.static_members.find(*req.instance_id);
        if (s != g.static_members.end() && s->second != req.member_id) {
          return reply(join_error(GroupError::kFencedInstanceId, req.member_id));
        }
        if (s == g.static_members.end()) {
          return reply(join_error(GroupError::kUnknownMemberId, req.member_id));
        }
      }
      if (g.pending_members.erase(req.member_id) > 0) return add_and_rebalance(req.member_id);
      auto it = g.members.find(req.member_id);
      if (it == g.members.end()) {
        return reply(join_error(GroupError::kUnknownMemberId, req.member_id));
      }
      Member& m = it->second;
      m.session_deadline_ms = now() + req.session_timeout_ms;
      const bool changed = !same_protocols(m.protocols, req.protocols);
      auto update_and_wait = [&] {
        m.protocols = req.protocols;
        m.session_timeout_ms = req.session_timeout_ms;
        m.rebalance_timeout_ms = req.rebalance_timeout_ms;
        m.client_id = req.client_id;
        m.client_host = req.client_host;
        if (m.pending_join) {
          later.calls.push_back([cb = std::move(m.pending_join)] {
            cb(join_error(GroupError::kRebalanceInProgress));
          });
        }
        m.pending_join = done;
      };
      switch (g.state) {
        case GroupState::kPreparingRebalance:
          update_and_wait();
          return maybe_complete_join_locked(g, later);
        case GroupState::kCompletingRebalance:
          if (!changed) return reply(join_result_locked(g, m.id, g.leader == m.id));
          update_and_wait();
          return prepare_rebalance_locked(g, later);
        case GroupState::kStable:
          if (!changed && g.leader != m.id) return reply(join_result_locked(g, m.id, false));
          update_and_wait();
          return prepare_rebalance_locked(g, later);
        default:
          return reply(join_error(GroupError::kUnknownMemberId, req.member_id));
      }
    }();
  }
  run(later);
}

void GroupCoordinator::store_assignment_locked(Group& g, Deferred& later) {
  Records records;
  records.emplace_back(encode_group_key(g.id), encode_group_value(g.to_stored(now())));
  g.metadata_stored = true;
  write_locked(
      g.id, std::move(records), later,
      [this, id = g.id, generation = g.generation](Status s, int64_t offset) {
        Deferred after;
        {
          std::lock_guard lock(mu_);
          auto it = groups_.find(id);
          if (closed_ || it == groups_.end()) return;
          Group& g = *it->second;
          // A rebalance that started meanwhile has already answered the waiters.
          if (g.state != GroupState::kCompletingRebalance || g.generation != generation) {
            return;
          }
          if (!s.ok()) {
            for (auto& [mid, m] : g.members) {
              if (!m.pending_sync) continue;
              after.calls.push_back([cb = std::move(m.pending_sync)] {
                cb(sync_error(GroupError::kCoordinatorNotAvailable));
              });
              m.pending_sync = nullptr;
            }
            prepare_rebalance_locked(g, after);
          } else {
            g.group_log_offset = std::max(g.group_log_offset, offset);
            g.state = GroupState::kStable;
            g.state_timestamp_ms = now();
            g.rebalance_deadline_ms = -1;
            for (auto& [mid, m] : g.members) {
              if (!m.pending_sync) continue;
              SyncResult r{GroupError::kNone, g.protocol_type, g.protocol, m.assignment};
              after.calls.push_back([cb = std::move(m.pending_sync), r = std::move(r)] { cb(r); });
              m.pending_sync = nullptr;
            }
          }
        }
        run(after);
      });
}

void GroupCoordinator::sync(SyncRequest req, std::function<void(SyncResult)> done) {
  Deferred later;
  auto reply = [&](SyncResult r) { later.calls.push_back([done, r = std::move(r)] { done(r); }); };
  {
    std::lock_guard lock(mu_);
    [&] {
      if (closed_) return reply(sync_error(GroupError::kCoordinatorNotAvailable));
      if (req.group_id.empty()) return reply(sync_error(GroupError::kInvalidGroupId));
      auto found = groups_.find(req.group_id);
      if (found == groups_.end()) return reply(sync_error(GroupError::kUnknownMemberId));
      Group& g = *found->second;
      if (g.state == GroupState::kDead) {
        return reply(sync_error(GroupError::kCoordinatorNotAvailable));
      }
      if (req.instance_id) {
        auto s = g.static_members.find(*req.instance_id);
        if (s != g.static_members.end() && s->second != req.member_id) {
          return reply(sync_error(GroupError::kFencedInstanceId));
        }
      }
      auto it = g.members.find(req.member_id);
      if (it == g.members.end()) return reply(sync_error(GroupError::kUnknownMemberId));
      if (req.generation != g.generation) return reply(sync_error(GroupError::kIllegalGeneration));
      if ((req.protocol_type && *req.protocol_type != g.protocol_type) ||
          (req.protocol_name && g.protocol != *req.protocol_name)) {
        return reply(sync_error(GroupError::kInconsistentGroupProtocol));
      }
      Member& m = it->second;
      switch (g.state) {
        case GroupState::kPreparingRebalance:
          return reply(sync_error(GroupError::kRebalanceInProgress));
        case GroupState::kStable:
          m.session_deadline_ms = now() + m.session_timeout_ms;
          return reply(SyncResult{GroupError::kNone, g.protocol_type, g.protocol, m.assignment});
        case GroupState::kCompletingRebalance: {
          m.session_deadline_ms = now() + m.session_timeout_ms;
          if (m.pending_sync) {
            later.calls.push_back([cb = std::move(m.pending_sync)] {
              cb(sync_error(GroupError::kRebalanceInProgress));
            });
          }
          m.pending_sync = done;
          if (g.leader != m.id) return;
          std::map<std::string, std::string> assignments;
          for (auto& [member, assignment] : req.assignments)
            assignments[member] = std::move(assignment);
          for (auto& [mid, member] : g.members) {
            auto a = assignments.find(mid);
            member.assignment = a == assignments.end() ? std::string() : std::move(a->second);
          }
          return store_assignment_locked(g, later);
        }
        default:
          return reply(sync_error(GroupError::kUnknownMemberId));
      }
    }();
  }
  run(later);
}

GroupError GroupCoordinator::heartbeat(const std::string& group_id, int32_t generation,
                                       const std::string& member_id,
                                       const std::optional<std::string>& instance_id) {
  std::lock_guard lock(mu_);
  if (closed_) return GroupError::kCoordinatorNotAvailable;
  if (group_id.empty()) return GroupError::kInvalidGroupId;
  auto found = groups_.find(group_id);
  if (found == groups_.end()) return GroupError::kUnknownMemberId;
  Group& g = *found->second;
  if (g.state == GroupState::kDead) return GroupError::kCoordinatorNotAvailable;
  // A fenced static member learns that it was replaced, not merely that it is unknown.
  if (instance_id) {
    auto s = g.static_members.find(*instance_id);
    if (s != g.static_members.end() && s->second != member_id) {
      return GroupError::kFencedInstanceId;
    }
  }
  if (g.pending_members.count(member_id)) return GroupError::kRebalanceInProgress;
  auto it = g.members.find(member_id);
  if (it == g.members.end()) return GroupError::kUnknownMemberId;
  if (generation != g.generation) return GroupError::kIllegalGeneration;
  switch (g.state) {
    case GroupState::kPreparingRebalance:
      it->second.session_deadline_ms = now() + it->second.session_timeout_ms;
      return GroupError::kRebalanceInProgress;
    case GroupState::kCompletingRebalance:
    case GroupState::kStable:
      it->second.session_deadline_ms = now() + it->second.session_timeout_ms;
      return GroupError::kNone;
    default:
      return GroupError::kUnknownMemberId;
  }
}

LeaveResult GroupCoordinator::leave(const std::string& group_id,
                                    const std::vector<MemberIdentity>& members) {
  Deferred later;
  LeaveResult result;
  {
    std::lock_guard lock(mu_);
    if (closed_) {
      result.error = GroupError::kCoordinatorNotAvailable;
    } else if (group_id.empty()) {
      result.error = GroupError::kInvalidGroupId;
    }
    auto found = groups_.find(group_id);
    Group* g = found == groups_.end() ? nullptr : found->second.get();
    for (const MemberIdentity& who : members) {
      if (result.error != GroupError::kNone) {
        result.members.push_back(result.error);
        continue;
      }
      if (g && g->state == GroupState::kDead) {
        result.error = GroupError::kCoordinatorNotAvailable;
        result.members.push_back(result.error);
        continue;
      }
      if (!g) {
        result.members.push_back(GroupError::kUnknownMemberId);
        continue;
      }
      if (who.instance_id) {
        auto s = g->static_members.find(*who.instance_id);
        if (s == g->static_members.end()) {
          result.members.push_back(GroupError::kUnknownMemberId);
        } else if (!who.member_id.empty() && s->second != who.member_id) {
          result.members.push_back(GroupError::kFencedInstanceId);
        } else {
          spdlog::info("groups: static member {} left group {}", *who.instance_id, g->id);
          remove_member_locked(*g, std::string(s->second), later);
          result.members.push_back(GroupError::kNone);
        }
        continue;
      }
      if (g->pending_members.erase(who.member_id) > 0) {
        maybe_complete_join_locked(*g, later);
        result.members.push_back(GroupError::kNone);
      } else if (g->members.count(who.member_id)) {
        spdlog::info("groups: member {} left group {}", who.member_id, g->id);
        remove_member_locked(*g, who.member_id, later);
        result.members.push_back(GroupError::kNone);
      } else {
        result.members.push_back(GroupError::kUnknownMemberId);
      }
    }
  }
  run(later);
  return result;
}

// ---------------------------------------------------------------------------------------------
// Offsets

void GroupCoordinator::commit(CommitRequest req,
                              std::function<void(std::vector<GroupError>)> done) {
  Deferred later;
  std::vector<GroupError> errors(req.offsets.size(), GroupError::kNone);
  bool answered_later = false;
  {
    std::lock_guard lock(mu_);
    GroupError group_error = GroupError::kNone;
    auto found = groups_.find(req.group_id);
    Group* g = found == groups_.end() ? nullptr : found->second.get();
    if (closed_) {
      group_error = GroupError::kCoordinatorNotAvailable;
    } else if (req.group_id.empty()) {
      group_error = GroupError::kInvalidGroupId;
    } else if (!g) {
      // Consumers that assign partitions themselves commit without joining: the group then
      // exists only to hold offsets.
      if (req.generation < 0) {
        g = &group_locked(req.group_id);
      } else {
        group_error = GroupError::kIllegalGeneration;
      }
    } else if (g->state == GroupState::kDead) {
      group_error = GroupError::kCoordinatorNotAvailable;
    } else if (req.instance_id && g->static_members.count(*req.instance_id) &&
               g->static_members.at(*req.instance_id) != req.member_id) {
      group_error = GroupError::kFencedInstanceId;
    } else if (req.generation < 0 && g->state == GroupState::kEmpty) {
      // An offsets-only commit names no member.
      if (!req.member_id.empty() || req.instance_id) group_error = GroupError::kUnknownMemberId;
    } else if (!g->members.count(req.member_id)) {
      group_error = GroupError::kUnknownMemberId;
    } else if (req.generation != g->generation) {
      group_error = GroupError::kIllegalGeneration;
    } else if (g->state == GroupState::kCompletingRebalance) {
      group_error = GroupError::kRebalanceInProgress;
    } else {
      Member& m = g->members.at(req.member_id);
      m.session_deadline_ms = now() + m.session_timeout_ms;
    }
    Records records;
    std::vector<size_t> written;  // index into req.offsets of each record
    const int64_t commit_time = now();
    for (size_t i = 0; i < req.offsets.size(); ++i) {
      const OffsetToCommit& o = req.offsets[i];
      if (group_error != GroupError::kNone) {
        errors[i] = group_error;
      } else if (o.metadata && o.metadata->size() > options_.max_metadata_bytes) {
        errors[i] = GroupError::kOffsetMetadataTooLarge;
      } else if (!log_.partition(o.partition.topic, o.partition.partition)) {
        errors[i] = GroupError::kUnknownTopicOrPartition;
      } else {
        CommittedOffset value{o.offset, o.leader_epoch, o.metadata.value_or(""), commit_time};
        records.emplace_back(encode_offset_key(req.group_id, o.partition),
                             encode_offset_value(value));
        written.push_back(i);
      }
    }
    if (!records.empty()) {
      answered_later = true;
      ++g->pending_commits;
      const std::string group_id = req.group_id;  // req moves into the callback below
      write_locked(group_id, std::move(records), later,
                   [this, req = std::move(req), written = std::move(written), errors, done,
                    commit_time](Status s, int64_t base) mutable {
                     {
                       std::lock_guard lock(mu_);
                       auto it = groups_.find(req.group_id);
                       if (it != groups_.end()) {
                         Group& g = *it->second;
                         --g.pending_commits;
                         for (size_t k = 0; s.ok() && k < written.size(); ++k) {
                           const OffsetToCommit& o = req.offsets[written[k]];
                           StoredCommit& slot = g.offsets[o.partition];
                           const int64_t at = base + static_cast<int64_t>(k);
                           if (slot.log_offset < at) {
                             slot = StoredCommit{
                                 {o.offset, o.leader_epoch, o.metadata.value_or(""), commit_time},
                                 at,
                                 false};
                           }
                         }
                       }
                     }
                     if (!s.ok()) {
                       for (size_t index : written)
                         errors[index] = GroupError::kCoordinatorNotAvailable;
                     }
                     done(std::move(errors));
                   });
    }
  }
  run(later);
  if (!answered_later) done(std::move(errors));
}

std::vector<FetchedOffset> GroupCoordinator::fetch_offsets(
    const std::string& group_id, const std::optional<std::vector<TopicPartition>>& partitions) {
  std::lock_guard lock(mu_);
  auto found = groups_.find(group_id);
  const Group* g = found == groups_.end() ? nullptr : found->second.get();
  std::vector<FetchedOffset> out;
  auto fill = [](FetchedOffset& f, const StoredCommit& c) {
    f.offset = c.value.offset;
    f.leader_epoch = c.value.leader_epoch;
    f.metadata = c.value.metadata;
  };
  if (partitions) {
    for (const TopicPartition& tp : *partitions) {
      FetchedOffset f;
      f.partition = tp;
      f.metadata = "";
      if (g) {
        auto it = g->offsets.find(tp);
        if (it != g->offsets.end() && !it->second.deleted) fill(f, it->second);
      }
      out.push_back(std::move(f));
    }
  } else if (g) {
    for (const auto& [tp, c] : g->offsets) {
      if (c.deleted) continue;
      FetchedOffset f;
      f.partition = tp;
      fill(f, c);
      out.push_back(std::move(f));
    }
  }
  return out;
}

std::vector<PartitionLag> GroupCoordinator::lag(const std::string& group_id) {
  std::vector<PartitionLag> out;
  for (const FetchedOffset& f : fetch_offsets(group_id, std::nullopt)) {
    PartitionLag l;
    l.partition = f.partition;
    l.committed = f.offset;
    if (auto plog = log_.partition(f.partition.topic, f.partition.partition)) {
      l.log_end = plog->high_watermark();
      l.lag = std::max<int64_t>(0, l.log_end - std::max<int64_t>(l.committed, 0));
    }
    out.push_back(std::move(l));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Administration

std::vector<GroupListing> GroupCoordinator::list_groups(const std::vector<std::string>& states) {
  std::lock_guard lock(mu_);
  std::vector<GroupListing> out;
  for (const auto& [id, g] : groups_) {
    if (g->state == GroupState::kDead) continue;
    const char* state = state_name(g->state);
    if (!states.empty() && std::none_of(states.begin(), states.end(), [&](const std::string& s) {
          return ::strcasecmp(s.c_str(), state) == 0;
        })) {
      continue;
    }
    out.push_back({id, g->protocol_type, state});
  }
  return out;
}

GroupDescription GroupCoordinator::describe_group(const std::string& group_id) {
  std::lock_guard lock(mu_);
  GroupDescription d;
  d.group_id = group_id;
  auto found = groups_.find(group_id);
  if (found == groups_.end()) {
    d.state = state_name(GroupState::kDead);
    return d;
  }
  const Group& g = *found->second;
  d.state = state_name(g.state);
  d.protocol_type = g.protocol_type;
  const bool stable = g.state == GroupState::kStable;
  if (stable) d.protocol = g.protocol.value_or("");
  for (const auto& [id, m] : g.members) {
    DescribedMember dm{id, m.instance_id, m.client_id, m.client_host, "", ""};
    if (stable && g.protocol) {
      if (const std::string* metadata = m.metadata_for(*g.protocol)) dm.metadata = *metadata;
      dm.assignment = m.assignment;
    }
    d.members.push_back(std::move(dm));
  }
  return d;
}

namespace {

// Gathers the results of several asynchronous writes into one answer.
template <typename T>
struct Gather {
  std::mutex mu;
  T results;
  int remaining = 0;
  std::function<void(T)> done;
};

}  // namespace

void GroupCoordinator::delete_groups(std::vector<std::string> group_ids,
                                     std::function<void(std::vector<GroupError>)> done) {
  Deferred later;
  auto gather = std::make_shared<Gather<std::vector<GroupError>>>();
  gather->results.assign(group_ids.size(), GroupError::kNone);
  gather->done = std::move(done);
  gather->remaining = 1;  // released below, after every write is issued
  auto finish_one = [gather] {
    std::unique_lock lock(gather->mu);
    if (--gather->remaining > 0) return;
    lock.unlock();
    gather->done(std::move(gather->results));
  };
  {
    std::lock_guard lock(mu_);
    for (size_t i = 0; i < group_ids.size(); ++i) {
      const std::string& id = group_ids[i];
      auto found = groups_.find(id);
      if (closed_) {
        gather->results[i] = GroupError::kCoordinatorNotAvailable;
        continue;
      }
      if (id.empty()) {
        gather->results[i] = GroupError::kInvalidGroupId;
        continue;
      }
      if (found == groups_.end() || found->second->state == GroupState::kDead) {
        gather->results[i] = GroupError::kGroupIdNotFound;
        continue;
      }
      Group& g = *found->second;
      if (g.state != GroupState::kEmpty) {
        gather->results[i] = GroupError::kNonEmptyGroup;
        continue;
      }
      if (g.pending_commits > 0) {
        // A commit written before the tombstones but not yet durable: clients retry this.
        gather->results[i] = GroupError::kCoordinatorLoadInProgress;
        continue;
      }
      Records records;
      for (const auto& [tp, c] : g.offsets) {
        if (!c.deleted) records.emplace_back(encode_offset_key(id, tp), std::nullopt);
      }
      records.emplace_back(encode_group_key(id), std::nullopt);
      g.state = GroupState::kDead;  // nothing joins or commits while the tombstones are written
      {
        std::lock_guard glock(gather->mu);
        ++gather->remaining;
      }
      write_locked(id, std::move(records), later,
                   [this, id, i, gather, finish_one](Status s, int64_t) {
                     {
                       std::lock_guard lock(mu_);
                       auto it = groups_.find(id);
                       if (it != groups_.end() && it->second->state == GroupState::kDead) {
                         if (s.ok()) {
                           groups_.erase(it);
                         } else {
                           it->second->state = GroupState::kEmpty;
                         }
                       }
                     }
                     if (!s.ok()) {
                       std::lock_guard glock(gather->mu);
                       gather->results[i] = GroupError::kCoordinatorNotAvailable;
                     }
                     finish_one();
                   });
    }
  }
  run(later);
  finish_one();
}

void GroupCoordinator::delete_offsets(
    std::string group_id, std::vector<TopicPartition> partitions,
    std::function<void(GroupError, std::vector<GroupError>)> done) {
  Deferred later;
  std::vector<GroupError> errors(partitions.size(), GroupError::kNone);
  GroupError group_error = GroupError::kNone;
  bool answered_later = false;
  {
    std::lock_guard lock(mu_);
    auto found = groups_.find(group_id);
    if (closed_) {
      group_error = GroupError::kCoordinatorNotAvailable;
    } else if (group_id.empty()) {
      group_error = GroupError::kInvalidGroupId;
    } else if (found == groups_.end() || found->second->state == GroupState::kDead) {
      group_error = GroupError::kGroupIdNotFound;
    } else {
      Group& g = *found->second;
      if (g.state != GroupState::kEmpty && g.protocol_type != "consumer") {
        group_error = GroupError::kNonEmptyGroup;
      } else {
        const std::set<std::string> subscribed = g.subscribed_topics();
        Records records;
        std::vector<TopicPartition> deleted;
        for (size_t i = 0; i < partitions.size(); ++i) {
          const TopicPartition& tp = partitions[i];
          if (subscribed.count(tp.topic)) {
            errors[i] = GroupError::kGroupSubscribedToTopic;
          } else if (!log_.partition(tp.topic, tp.partition)) {
            errors[i] = GroupError::kUnknownTopicOrPartition;
          } else if (auto it = g.offsets.find(tp); it != g.offsets.end() && !it->second.deleted) {
            records.emplace_back(encode_offset_key(group_id, tp), std::nullopt);
            deleted.push_back(tp);
          }
        }
        if (!records.empty()) {
          answered_later = true;
          write_locked(group_id, std::move(records), later,
                       [this, group_id, deleted = std::move(deleted), errors, done](
                           Status s, int64_t base) mutable {
                         if (s.ok()) {
                           std::lock_guard lock(mu_);
                           for (size_t k = 0; k < deleted.size(); ++k) {
                             OffsetsRecord tombstone;
                             tombstone.group = group_id;
                             tombstone.partition = deleted[k];
                             apply_record_locked(tombstone, base + static_cast<int64_t>(k));
                           }
                         }
                         done(s.ok() ? GroupError::kNone : GroupError::kCoordinatorNotAvailable,
                              std::move(errors));
                       });
        }
      }
    }
  }
  run(later);
  if (!answered_later) done(group_error, std::move(errors));
}

// ---------------------------------------------------------------------------------------------
// Timeouts and expiry

void GroupCoordinator::expire_locked(int64_t now_ms, Deferred& later) {
  for (auto& [gid, gptr] : groups_) {
    Group& g = *gptr;
    bool dropped_pending = false;
    for (auto it = g.pending_members.begin(); it != g.pending_members.end();) {
      if (it->second <= now_ms) {
        it = g.pending_members.erase(it);
        dropped_pending = true;
      } else {
        ++it;
      }
    }
    if (dropped_pending) maybe_complete_join_locked(g, later);

    std::vector<std::string> silent;
    for (const auto& [mid, m] : g.members) {
      if (!m.pending_join && !m.pending_sync && m.session_deadline_ms <= now_ms) {
        silent.push_back(mid);
      }
    }
    for (const std::string& mid : silent) {
      spdlog::info("groups: member {} of group {} missed its session timeout", mid, g.id);
      remove_member_locked(g, mid, later);
    }

    if (g.rebalance_deadline_ms < 0 || g.rebalance_deadline_ms > now_ms) continue;
    if (g.state == GroupState::kPreparingRebalance) {
      if (g.initial_delay) {
        g.initial_delay = false;
        g.rebalance_deadline_ms = now_ms + std::max<int32_t>(g.max_rebalance_timeout_ms(), 0);
        maybe_complete_join_locked(g, later);
        continue;
      }
      std::vector<std::string> missing;
      for (const auto& [mid, m] : g.members) {
        if (!m.pending_join) missing.push_back(mid);
      }
      for (const std::string& mid : missing) {
        spdlog::info("groups: member {} of group {} did not rejoin in time", mid, g.id);
        g.members.erase(mid);
      }
      std::erase_if(g.static_members, [&](const auto& s) { return !g.members.count(s.second); });
      g.pending_members.clear();
      complete_join_locked(g, later);
    } else if (g.state == GroupState::kCompletingRebalance) {
      std::vector<std::string> missing;
      for (const auto& [mid, m] : g.members) {
        if (!m.pending_sync) missing.push_back(mid);
      }
      spdlog::info("groups: group {} generation {}: {} members did not sync in time", g.id,
                   g.generation, missing.size());
      for (const std::string& mid : missing) {
        auto it = g.members.find(mid);
        if (it->second.instance_id) g.static_members.erase(*it->second.instance_id);
        g.members.erase(it);
      }
      prepare_rebalance_locked(g, later);
    } else {
      g.rebalance_deadline_ms = -1;
    }
  }
}

void GroupCoordinator::expire_offsets_locked(int64_t now_ms, Deferred& later) {
  std::vector<std::string> vanished;
  for (auto& [gid, gptr] : groups_) {
    Group& g = *gptr;
    if (g.state != GroupState::kEmpty || g.pending_commits > 0 || !g.pending_members.empty()) {
      continue;
    }
    std::erase_if(g.offsets, [](const auto& e) { return e.second.deleted; });
    Records records;
    std::vector<TopicPartition> expired;
    for (const auto& [tp, c] : g.offsets) {
      // A group that only stores offsets counts from each commit; one that had members, from
      // when it became empty (and from the commit, if later).
      const int64_t since = g.protocol_type.empty()
                                ? c.value.commit_timestamp_ms
                                : std::max(c.value.commit_timestamp_ms, g.state_timestamp_ms);
      if (since + options_.offsets_retention_ms <= now_ms) {
        records.emplace_back(encode_offset_key(g.id, tp), std::nullopt);
        expired.push_back(tp);
      }
    }
    const bool whole_group = expired.size() == g.offsets.size();
    if (!whole_group && records.empty()) continue;
    if (whole_group && !g.metadata_stored && records.empty()) {
      vanished.push_back(gid);  // nothing of it was ever written
      continue;
    }
    if (whole_group) records.emplace_back(encode_group_key(g.id), std::nullopt);
    spdlog::info("groups: expiring {} committed offsets of empty group {}{}", expired.size(), g.id,
                 whole_group ? " and the group" : "");
    write_locked(
        g.id, std::move(records), later,
        [this, id = g.id, expired = std::move(expired), whole_group](Status s, int64_t base) {
          if (!s.ok()) return;
          std::lock_guard lock(mu_);
          for (size_t k = 0; k < expired.size(); ++k) {
            OffsetsRecord tombstone;
            tombstone.group = id;
            tombstone.partition = expired[k];
            apply_record_locked(tombstone, base + static_cast<int64_t>(k));
          }
          auto it = groups_.find(id);
          if (whole_group && it != groups_.end() && it->second->state == GroupState::kEmpty &&
              !it->second->has_live_offsets() && it->second->pending_commits == 0 &&
              it->second->pending_members.empty()) {
            groups_.erase(it);
          }
        });
  }
  for (const std::string& gid : vanished)
    groups_.erase(gid);
}

void GroupCoordinator::tick(int64_t now_ms) {
  Deferred later;
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    expire_locked(now_ms, later);
    if (now_ms >= next_retention_check_ms_) {
      next_retention_check_ms_ = now_ms + options_.retention_check_interval_ms;
      expire_offsets_locked(now_ms, later);
    }
  }
  run(later);
}

void GroupCoordinator::timer_loop() {
  std::unique_lock lock(mu_);
  while (!closed_) {
    const int64_t t = now();
    int64_t next = std::min(t + kMaxTimerWaitMs, next_retention_check_ms_);
    for (const auto& [gid, g] : groups_) {
      if (g->rebalance_deadline_ms >= 0) next = std::min(next, g->rebalance_deadline_ms);
      for (const auto& [mid, deadline] : g->pending_members)
        next = std::min(next, deadline);
      for (const auto& [mid, m] : g->members) {
        if (!m.pending_join && !m.pending_sync) next = std::min(next, m.session_deadline_ms);
      }
    }
    if (next > t) {
      timer_cv_.wait_for(lock, std::chrono::milliseconds(next - t));
      continue;  // re-evaluate: woken early by a change, or the deadline came
    }
    lock.unlock();
    tick(t);
    lock.lock();
  }
}

void GroupCoordinator::close() {
  {
    std::lock_guard lock(mu_);
    if (closed_ && !timer_.joinable()) return;
    closed_ = true;
    for (auto& [gid, g] : groups_) {
      for (auto& [mid, m] : g->members) {
        m.pending_join = nullptr;
        m.pending_sync = nullptr;
      }
    }
  }
  timer_cv_.notify_all();
  if (timer_.joinable()) timer_.join();
}

}  // namespace eddy::groups
