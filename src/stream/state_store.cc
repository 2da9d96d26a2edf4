#include "stream/state_store.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

namespace eddy::stream {

struct StateStore::Impl {
  std::unique_ptr<rocksdb::DB> db;
};

namespace {
Error rocks_error(const rocksdb::Status& s) {
  return Error(ErrorCode::kIoError, "state store: " + s.ToString());
}
// The first key after every key that starts with `prefix` (prefix must not be all 0xff).
std::string prefix_end(std::string prefix) {
  while (!prefix.empty() && static_cast<uint8_t>(prefix.back()) == 0xff)
    prefix.pop_back();
  if (!prefix.empty()) prefix.back() = static_cast<char>(static_cast<uint8_t>(prefix.back()) + 1);
  return prefix;
}
}  // namespace

StateStore::StateStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
StateStore::~StateStore() = default;

Result<std::unique_ptr<StateStore>> StateStore::open(const std::string& dir) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.max_background_jobs = 1;
  // Operator state is small, hot and rewritten often: compressing it costs more CPU on every
  // flush and compaction than the disk it saves (snappy was ~2% of a view's CPU).
  options.compression = rocksdb::kNoCompression;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, dir, &db);
  if (!s.ok()) return rocks_error(s);
  auto impl = std::make_unique<Impl>();
  impl->db.reset(db);
  return std::unique_ptr<StateStore>(new StateStore(std::move(impl)));
}

Result<std::optional<std::string>> StateStore::get(std::string_view key) const {
  std::string value;
  rocksdb::Status s =
      impl_->db->Get(rocksdb::ReadOptions(), rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return rocks_error(s);
  return std::optional<std::string>(std::move(value));
}

Status StateStore::write(const std::vector<StateWrite>& writes) {
  rocksdb::WriteBatch batch;
  for (const auto& w : writes) {
    rocksdb::Status s = w.value ? batch.Put(w.key, *w.value) : batch.Delete(w.key);
    if (!s.ok()) return rocks_error(s);
  }
  rocksdb::WriteOptions options;
  options.sync = true;
  rocksdb::Status s = impl_->db->Write(options, &batch);
  if (!s.ok()) return rocks_error(s);
  return Status();
}

Status StateStore::delete_prefix(const std::string& prefix) {
  rocksdb::WriteOptions options;
  options.sync = true;
  rocksdb::Status s =
      impl_->db->DeleteRange(options, impl_->db->DefaultColumnFamily(), prefix, prefix_end(prefix));
  if (!s.ok()) return rocks_error(s);
  return Status();
}

Status StateStore::scan(const std::string& prefix,
                        const std::function<bool(std::string_view, std::string_view)>& fn) const {
  rocksdb::ReadOptions options;
  const std::string end = prefix_end(prefix);
  rocksdb::Slice upper(end);
  options.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(options));
  for (it->Seek(prefix); it->Valid(); it->Next()) {
    const rocksdb::Slice k = it->key();
    const rocksdb::Slice v = it->value();
    if (!fn(std::string_view(k.data(), k.size()), std::string_view(v.data(), v.size()))) break;
  }
  if (!it->status().ok()) return rocks_error(it->status());
  return Status();
}

}  // namespace eddy::stream
