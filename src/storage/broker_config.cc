#include "storage/broker_config.h"

#include <algorithm>
#include <sstream>

#include "storage/sealed_text.h"

namespace eddy::storage {
namespace {

constexpr const char* kHeader = "eddy-broker-configs 1";
constexpr uint64_t kMaxFileBytes = 16 << 20;

// Kafka's dynamically updatable broker configs that have no effect on Eddy (one node, no TLS or
// SASL yet, its own threading): accepted so that tools which set them keep working.
struct InertKey {
  const char* name;
  ConfigType type;
};
constexpr InertKey kInertKeys[] = {
    {"background.threads", ConfigType::kInt},
    {"follower.replication.throttled.rate", ConfigType::kLong},
    {"leader.replication.throttled.rate", ConfigType::kLong},
    {"log.cleaner.backoff.ms", ConfigType::kLong},
    {"log.cleaner.dedupe.buffer.size", ConfigType::kLong},
    {"log.cleaner.io.buffer.load.factor", ConfigType::kDouble},
    {"log.cleaner.io.buffer.size", ConfigType::kInt},
    {"log.cleaner.io.max.bytes.per.second", ConfigType::kDouble},
    {"log.cleaner.threads", ConfigType::kInt},
    {"max.connection.creation.rate", ConfigType::kInt},
    {"max.connections", ConfigType::kInt},
    {"max.connections.per.ip", ConfigType::kInt},
    {"max.connections.per.ip.overrides", ConfigType::kString},
    {"metric.reporters", ConfigType::kList},
    {"num.io.threads", ConfigType::kInt},
    {"num.network.threads", ConfigType::kInt},
    {"num.recovery.threads.per.data.dir", ConfigType::kInt},
    {"num.replica.fetchers", ConfigType::kInt},
    {"principal.builder.class", ConfigType::kClass},
    {"replica.alter.log.dirs.io.max.bytes.per.second", ConfigType::kLong},
    {"sasl.enabled.mechanisms", ConfigType::kList},
    {"sasl.jaas.config", ConfigType::kPassword},
    {"sasl.kerberos.kinit.cmd", ConfigType::kString},
    {"sasl.kerberos.min.time.before.relogin", ConfigType::kLong},
    {"sasl.kerberos.principal.to.local.rules", ConfigType::kList},
    {"sasl.kerberos.service.name", ConfigType::kString},
    {"sasl.kerberos.ticket.renew.jitter", ConfigType::kDouble},
    {"sasl.kerberos.ticket.renew.window.factor", ConfigType::kDouble},
    {"sasl.login.refresh.buffer.seconds", ConfigType::kShort},
    {"sasl.login.refresh.min.period.seconds", ConfigType::kShort},
    {"sasl.login.refresh.window.factor", ConfigType::kDouble},
    {"sasl.login.refresh.window.jitter", ConfigType::kDouble},
    {"sasl.mechanism.inter.broker.protocol", ConfigType::kString},
    {"ssl.cipher.suites", ConfigType::kList},
    {"ssl.client.auth", ConfigType::kString},
    {"ssl.enabled.protocols", ConfigType::kList},
    {"ssl.endpoint.identification.algorithm", ConfigType::kString},
    {"ssl.engine.factory.class", ConfigType::kClass},
    {"ssl.key.password", ConfigType::kPassword},
    {"ssl.keymanager.algorithm", ConfigType::kString},
    {"ssl.keystore.certificate.chain", ConfigType::kPassword},
    {"ssl.keystore.key", ConfigType::kPassword},
    {"ssl.keystore.location", ConfigType::kString},
    {"ssl.keystore.password", ConfigType::kPassword},
    {"ssl.keystore.type", ConfigType::kString},
    {"ssl.protocol", ConfigType::kString},
    {"ssl.provider", ConfigType::kString},
    {"ssl.secure.random.implementation", ConfigType::kString},
    {"ssl.trustmanager.algorithm", ConfigType::kString},
    {"ssl.truststore.certificates", ConfigType::kPassword},
    {"ssl.truststore.location", ConfigType::kString},
    {"ssl.truststore.password", ConfigType::kPassword},
    {"ssl.truststore.type", ConfigType::kString},
};

std::string to_hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::optional<std::string> from_hex(const std::string& hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int high = nibble(hex[i]);
    const int low = nibble(hex[i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    out += static_cast<char>(high * 16 + low);
  }
  return out;
}

}  // namespace

const std::vector<BrokerConfigKey>& dynamic_broker_keys() {
  static const std::vector<BrokerConfigKey> keys = [] {
    std::vector<BrokerConfigKey> k;
    for (const auto& topic_key : TopicConfig::keys()) {
      if (topic_key.broker_name.empty()) continue;
      k.push_back({topic_key.broker_name, topic_key.type, false, &topic_key});
    }
    for (const auto& inert : kInertKeys) {
      k.push_back({inert.name, inert.type, inert.type == ConfigType::kPassword, nullptr});
    }
    std::sort(k.begin(), k.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    return k;
  }();
  return keys;
}

const BrokerConfigKey* find_dynamic_broker_key(const std::string& name) {
  const auto& keys = dynamic_broker_keys();
  auto it =
      std::lower_bound(keys.begin(), keys.end(), name,
                       [](const BrokerConfigKey& k, const std::string& n) { return k.name < n; });
  return it != keys.end() && it->name == name ? &*it : nullptr;
}

Result<std::string> check_dynamic_broker_config(const std::string& name, const std::string& value) {
  const BrokerConfigKey* key = find_dynamic_broker_key(name);
  if (key == nullptr) {
    return Error(ErrorCode::kUnsupported,
                 "broker config '" + name + "' cannot be changed at run time");
  }
  if (key->topic_key != nullptr) {
    // Validated by the rules of the topic config it gives the default of.
    Status valid = TopicConfig::validate(key->topic_key->name, value);
    if (!valid.ok()) {
      std::string message = valid.error().message();
      // Name the broker config the user set, not its topic synonym.
      const std::string topic_prefix = "config " + key->topic_key->name + ":";
      if (message.rfind(topic_prefix, 0) == 0) {
        message = "config " + name + ":" + message.substr(topic_prefix.size());
      }
      return Error(ErrorCode::kInvalidArgument, message);
    }
    return TopicConfig::normalize(key->topic_key->name, value);
  }
  return check_typed_value(name, key->type, value);
}

Result<TopicConfig> DynamicBrokerConfigs::topic_defaults(const TopicConfig& static_defaults) const {
  TopicConfig config = static_defaults;
  for (const ConfigMap* layer : {&cluster_default, &broker}) {
    ConfigMap topic_values;
    for (const auto& [name, value] : *layer) {
      const BrokerConfigKey* key = find_dynamic_broker_key(name);
      if (key != nullptr && key->topic_key != nullptr) topic_values[key->topic_key->name] = value;
    }
    ASSIGN_OR_RETURN(config, TopicConfig::resolve(config, topic_values));
  }
  return config;
}

std::string encode_broker_configs(const DynamicBrokerConfigs& configs) {
  std::string out = std::string(kHeader) + "\n";
  for (BrokerScope scope : {BrokerScope::kClusterDefault, BrokerScope::kBroker}) {
    const char* scope_name = scope == BrokerScope::kBroker ? "broker" : "default";
    for (const auto& [name, value] : configs.at(scope)) {
      out += std::string("set ") + scope_name + " " + name + " " + to_hex(value) + "\n";
    }
  }
  return seal_text(std::move(out));
}

Result<DynamicBrokerConfigs> decode_broker_configs(const std::string& text,
                                                   const std::string& origin) {
  const std::string what = "broker configs " + origin;
  ASSIGN_OR_RETURN(std::string body, unseal_text(text, what));
  auto corrupt = [&](const std::string& why) {
    return Error(ErrorCode::kCorrupt, what + " is damaged: " + why);
  };
  DynamicBrokerConfigs configs;
  std::istringstream in(body);
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    const std::string where = " (line " + std::to_string(line_no) + ")";
    if (line_no == 1) {
      if (line != kHeader) return corrupt("unknown format '" + line + "'");
      continue;
    }
    std::istringstream fields(line);
    std::string verb, scope, name, hex;
    fields >> verb >> scope >> name >> hex;
    auto value = from_hex(hex);
    if (verb != "set" || (scope != "default" && scope != "broker") || name.empty() || !value) {
      return corrupt("unrecognised line" + where);
    }
    if (!check_dynamic_broker_config(name, *value).ok()) return corrupt("bad value" + where);
    configs.at(scope == "broker" ? BrokerScope::kBroker : BrokerScope::kClusterDefault)[name] =
        *value;
  }
  if (line_no == 0) return corrupt("empty");
  return configs;
}

Result<DynamicBrokerConfigs> load_broker_configs(FileSystem& fs, const std::string& path) {
  ASSIGN_OR_RETURN(auto text, read_text_file(fs, path, kMaxFileBytes));
  if (!text) return DynamicBrokerConfigs{};
  return decode_broker_configs(*text, path);
}

Status store_broker_configs(FileSystem& fs, const std::string& path,
                            const DynamicBrokerConfigs& configs) {
  return write_text_file(fs, path, encode_broker_configs(configs));
}

}  // namespace eddy::storage
