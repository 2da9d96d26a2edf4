// Broker configuration under Kafka's broker names: which names may change at run time
// (AlterConfigs on a BROKER resource) and the durable store of the values set that way.
//
// Kafka layers a broker's configuration: per-broker dynamic values over cluster-wide dynamic
// defaults over the static configuration (flags, config file) over built-in defaults. Eddy keeps
// those layers for its one broker. Broker names that give topic defaults ("log.retention.ms" for
// "retention.ms") act on every topic without an override of its own. The other names Kafka lets
// change at run time (listener SASL and SSL settings, thread counts, connection quotas) are
// accepted, validated by type, stored and described, and have no effect; src/kafka/README.md lists
// them.
//
// File `broker_configs` in the data directory, replaced atomically, sealed with a checksum:
//
//   eddy-broker-configs 1
//   set <default|broker> <name> <value as hex bytes>
//   crc <8 hex digits>
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/file_io.h"
#include "common/result.h"
#include "storage/topic_config.h"

namespace eddy::storage {

// Where a dynamic value applies: the cluster-wide default (Kafka's resource name "") or this
// broker (its node id).
enum class BrokerScope { kClusterDefault, kBroker };

struct BrokerConfigKey {
  std::string name;
  ConfigType type;
  bool sensitive = false;  // described without its value
  // The topic config this name gives the default of; null for names without effect in Eddy.
  const TopicConfigKey* topic_key = nullptr;
};

// The dynamic values by broker config name.
struct DynamicBrokerConfigs {
  ConfigMap cluster_default;
  ConfigMap broker;

  ConfigMap& at(BrokerScope scope) {
    return scope == BrokerScope::kBroker ? broker : cluster_default;
  }
  const ConfigMap& at(BrokerScope scope) const {
    return scope == BrokerScope::kBroker ? broker : cluster_default;
  }
  // The topic defaults in force: `static_defaults` under the cluster default under the broker's
  // own values.
  Result<TopicConfig> topic_defaults(const TopicConfig& static_defaults) const;
};

// The broker config `name` when Kafka lets it change at run time, else null.
const BrokerConfigKey* find_dynamic_broker_key(const std::string& name);
// Every name find_dynamic_broker_key knows, sorted.
const std::vector<BrokerConfigKey>& dynamic_broker_keys();
// Checks a value for `name`: kUnsupported when `name` cannot change at run time,
// kInvalidArgument naming the key when the value does not parse. Returns the value as stored
// (normalized like topic configs).
Result<std::string> check_dynamic_broker_config(const std::string& name, const std::string& value);

std::string encode_broker_configs(const DynamicBrokerConfigs& configs);
Result<DynamicBrokerConfigs> decode_broker_configs(const std::string& text,
                                                   const std::string& origin);
// A missing file holds no dynamic values.
Result<DynamicBrokerConfigs> load_broker_configs(FileSystem& fs, const std::string& path);
Status store_broker_configs(FileSystem& fs, const std::string& path,
                            const DynamicBrokerConfigs& configs);

}  // namespace eddy::storage
