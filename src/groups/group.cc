#include "groups/group.h"

#include <algorithm>
#include <random>
#include <span>

#include "kafka/wire.h"

namespace eddy::groups {

const char* state_name(GroupState state) {
  switch (state) {
    case GroupState::kEmpty:
      return "Empty";
    case GroupState::kPreparingRebalance:
      return "PreparingRebalance";
    case GroupState::kCompletingRebalance:
      return "CompletingRebalance";
    case GroupState::kStable:
      return "Stable";
    case GroupState::kDead:
      return "Dead";
  }
  return "Dead";
}

const std::string* Member::metadata_for(const std::string& protocol) const {
  for (const auto& p : protocols) {
    if (p.name == protocol) return &p.metadata;
  }
  return nullptr;
}

bool Group::all_members_joined() const {
  if (!pending_members.empty()) return false;
  return std::all_of(members.begin(), members.end(), [](const auto& entry) {
    return static_cast<bool>(entry.second.pending_join);
  });
}

bool Group::has_live_offsets() const {
  return std::any_of(offsets.begin(), offsets.end(),
                     [](const auto& entry) { return !entry.second.deleted; });
}

int32_t Group::max_rebalance_timeout_ms() const {
  int32_t max = 0;
  for (const auto& [id, m] : members)
    max = std::max(max, m.rebalance_timeout_ms);
  return max;
}

std::set<std::string> Group::candidate_protocols() const {
  std::set<std::string> common;
  bool first = true;
  for (const auto& [id, m] : members) {
    std::set<std::string> mine;
    for (const auto& p : m.protocols)
      mine.insert(p.name);
    if (first) {
      common = std::move(mine);
      first = false;
      continue;
    }
    std::set<std::string> both;
    std::set_intersection(common.begin(), common.end(), mine.begin(), mine.end(),
                          std::inserter(both, both.end()));
    common = std::move(both);
  }
  return common;
}

std::optional<std::string> Group::select_protocol() const {
  const std::set<std::string> candidates = candidate_protocols();
  if (candidates.empty()) return std::nullopt;
  std::map<std::string, int> votes;
  for (const auto& [id, m] : members) {
    for (const auto& p : m.protocols) {
      if (candidates.count(p.name)) {
        ++votes[p.name];
        break;
      }
    }
  }
  // Ties go to the protocol the earliest member prefers, so the choice is deterministic.
  const Member* earliest = nullptr;
  for (const auto& [id, m] : members) {
    if (!earliest || m.join_order < earliest->join_order) earliest = &m;
  }
  std::optional<std::string> best;
  int best_votes = -1;
  for (const auto& p : earliest->protocols) {
    auto it = votes.find(p.name);
    if (it != votes.end() && it->second > best_votes) {
      best = p.name;
      best_votes = it->second;
    }
  }
  for (const auto& [name, count] : votes) {
    if (count > best_votes) {
      best = name;
      best_votes = count;
    }
  }
  return best;
}

bool Group::supports(const std::string& type, const std::vector<Protocol>& protocols) const {
  if (type.empty() || protocols.empty()) return false;
  if (members.empty()) return true;
  if (type != protocol_type) return false;
  const std::set<std::string> candidates = candidate_protocols();
  return std::any_of(protocols.begin(), protocols.end(),
                     [&](const Protocol& p) { return candidates.count(p.name) > 0; });
}

std::set<std::string> Group::subscribed_topics() const {
  std::set<std::string> topics;
  if (protocol_type != "consumer" || !protocol) return topics;
  for (const auto& [id, m] : members) {
    const std::string* metadata = m.metadata_for(*protocol);
    if (!metadata) continue;
    // ConsumerProtocolSubscription: version int16, topics [string], then fields we do not need.
    kafka::WireReader r({reinterpret_cast<const std::byte*>(metadata->data()), metadata->size()},
                        false);
    (void)r.i16();
    const int32_t n = r.array_length(2);
    for (int32_t i = 0; i < n && r.ok(); ++i) {
      std::string topic = r.string();
      if (r.ok()) topics.insert(std::move(topic));
    }
  }
  return topics;
}

StoredGroup Group::to_stored(int64_t now_ms) const {
  StoredGroup g;
  g.protocol_type = protocol_type;
  g.generation = generation;
  g.protocol = protocol;
  g.leader = leader;
  g.state_timestamp_ms = now_ms;
  for (const auto& [id, m] : members) {
    StoredMember s;
    s.member_id = id;
    s.instance_id = m.instance_id;
    s.client_id = m.client_id;
    s.client_host = m.client_host;
    s.rebalance_timeout_ms = m.rebalance_timeout_ms;
    s.session_timeout_ms = m.session_timeout_ms;
    if (protocol) {
      if (const std::string* metadata = m.metadata_for(*protocol)) s.subscription = *metadata;
    }
    s.assignment = m.assignment;
    g.members.push_back(std::move(s));
  }
  return g;
}

std::string new_member_id(const std::string& prefix) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = prefix + "-";
  const uint64_t hi = rng(), lo = rng();
  for (int i = 0; i < 32; ++i) {
    const uint64_t word = i < 16 ? hi : lo;
    id.push_back(kHex[(word >> ((i % 16) * 4)) & 0xF]);
    if (i == 7 || i == 11 || i == 15 || i == 19) id.push_back('-');
  }
  return id;
}

}  // namespace eddy::groups
