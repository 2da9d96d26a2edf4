#include "pgwire/result_stream.h"

#include "pgwire/codec.h"

namespace eddy::pgwire {

ResultStream::ResultStream(Protocol protocol, const std::atomic<bool>& canceled,
                           Callbacks callbacks, std::chrono::milliseconds stall_timeout,
                           std::vector<int16_t> formats)
    : protocol_(protocol),
      canceled_(canceled),
      callbacks_(std::move(callbacks)),
      stall_timeout_(stall_timeout),
      formats_(std::move(formats)) {}

sql::SqlStatus ResultStream::begin_rows(
    const std::vector<std::pair<std::string, sql::Type>>& columns) {
  if (protocol_ == Protocol::kSimple) Writer(filling_).row_description(columns, {});
  return hand_over_if_full();
}

sql::SqlStatus ResultStream::row(const sql::Row& row) {
  Writer(filling_).data_row(row, formats_);
  return hand_over_if_full();
}

sql::SqlStatus ResultStream::begin_copy_out(int16_t columns) {
  Writer(filling_).copy_out_response(columns);
  return hand_over_if_full();
}

sql::SqlStatus ResultStream::copy_line(std::string_view line) {
  Writer(filling_).copy_data(line);
  return hand_over_if_full();
}

sql::SqlStatus ResultStream::statement_done(sql::StatementResult&& result) {
  encode_result(filling_, result);
  return hand_over_if_full(OnCancel::kFinish);
}

void ResultStream::encode_result(std::string& out, const sql::StatementResult& result) {
  Writer w(out);
  if (result.copy == sql::StatementResult::Copy::kOut) {
    if (!result.streamed) {
      w.copy_out_response(result.copy_columns);
      for (const auto& line : result.copy_lines)
        w.copy_data(line);
    }
    w.copy_done();
  } else if (result.returns_rows && !result.streamed) {
    w.row_description(result.columns, {});
    for (const auto& row : result.rows)
      w.data_row(row, {});
  }
  for (const auto& n : result.notices)
    w.notice(n);
  w.command_complete(result.tag);
}

sql::SqlStatus ResultStream::hand_over_if_full(OnCancel on_cancel) {
  if (filling_.size() < kChunkBytes) return sql::Unit{};
  const bool stop_on_cancel = on_cancel == OnCancel::kStop;
  {
    std::unique_lock lock(mu_);
    const bool free = handed_.wait_for(lock, stall_timeout_, [&] {
      return ready_.empty() || stopped_ || (stop_on_cancel && canceled_.load());
    });
    if (!free) {
      stopped_ = true;
      lock.unlock();
      callbacks_.stalled();
      return sql::sql_error("08006", "the client stopped reading its results for " +
                                         std::to_string(stall_timeout_.count()) + " ms");
    }
    if (stopped_)
      return sql::sql_error("08006", "the client closed the connection while receiving rows");
    if (stop_on_cancel && canceled_.load())
      return sql::sql_error(sql::sqlstate::kQueryCanceled,
                            "canceling statement due to user request");
    ready_.swap(filling_);
  }
  filling_.clear();
  callbacks_.chunk_ready();
  return sql::Unit{};
}

std::string ResultStream::take() {
  std::string chunk;
  {
    std::lock_guard lock(mu_);
    chunk.swap(ready_);
  }
  handed_.notify_all();
  return chunk;
}

void ResultStream::stop() {
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
  }
  handed_.notify_all();
}

void ResultStream::wake_for_cancel() {
  // Taking the lock orders the flag's store before the waiter's next look at it.
  { std::lock_guard lock(mu_); }
  handed_.notify_all();
}

std::string ResultStream::rest() {
  std::string out = take();
  out += filling_;
  filling_.clear();
  return out;
}

}  // namespace eddy::pgwire
