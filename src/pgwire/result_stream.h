// A statement's results on their way to the client, encoded on the query thread and handed to
// the connection in chunks, so that no result is ever held whole: while the connection writes
// one chunk the statement fills the next, and waits when that one is full too. A client that
// reads slowly slows the statement down instead of making the server hold its rows.
//
// Threading: the ResultSink calls (begin_rows, row, ...) come from the one query thread running
// the statement; take(), stop() and wake_for_cancel() from the connection or the canceler;
// rest() once the statement has returned.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "sql/session.h"

namespace eddy::pgwire {

class ResultStream final : public sql::ResultSink {
 public:
  enum class Protocol : uint8_t {
    kSimple,    // each statement is described (RowDescription) and completed here
    kExtended,  // Describe sent the RowDescription; the caller completes the Execute
  };
  struct Callbacks {
    std::function<void()> chunk_ready;  // a chunk can be taken
    // The client took nothing for `stall_timeout`: the statement ends (08006) and frees its
    // thread, and the connection should close (the client is not reading its answer anyway).
    std::function<void()> stalled;
  };
  // `canceled`: the session's cancel flag (a statement waiting to hand over a chunk stops when
  // it is set; wake_for_cancel() makes the wait look). The callbacks run on the query thread.
  // `formats`: the result formats Bind asked for.
  ResultStream(Protocol protocol, const std::atomic<bool>& canceled, Callbacks callbacks,
               std::chrono::milliseconds stall_timeout, std::vector<int16_t> formats = {});

  sql::SqlStatus begin_rows(const std::vector<std::pair<std::string, sql::Type>>& columns) override;
  sql::SqlStatus row(const sql::Row& row) override;
  sql::SqlStatus begin_copy_out(int16_t columns) override;
  sql::SqlStatus copy_line(std::string_view line) override;
  sql::SqlStatus statement_done(sql::StatementResult&& result) override;

  // The chunk waiting to be sent (empty when none); lets the statement hand over the next.
  std::string take();
  // The connection is gone: the statement's next hand-over fails (08006) instead of waiting.
  void stop();
  void wake_for_cancel();
  // What the statement encoded after its last hand-over; call once it has returned.
  std::string rest();

  // Encodes a finished statement as the simple query protocol answers it.
  static void encode_result(std::string& out, const sql::StatementResult& result);

 private:
  // A cancel stops a statement while it sends rows, not once it has finished (its
  // CommandComplete is already encoded).
  enum class OnCancel : uint8_t { kStop, kFinish };
  sql::SqlStatus hand_over_if_full(OnCancel on_cancel = OnCancel::kStop);

  static constexpr size_t kChunkBytes = 256 * 1024;

  const Protocol protocol_;
  const std::atomic<bool>& canceled_;
  const Callbacks callbacks_;
  const std::chrono::milliseconds stall_timeout_;
  const std::vector<int16_t> formats_;
  std::string filling_;  // the query thread's

  std::mutex mu_;
  std::condition_variable handed_;
  std::string ready_;  // the chunk handed over, until take()
  bool stopped_ = false;
};

}  // namespace eddy::pgwire
