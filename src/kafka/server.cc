#include "kafka/server.h"

#include <spdlog/spdlog.h>

#include <signal.h>
#include <sys/sendfile.h>

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <cerrno>
#include <cstring>
#include <deque>
#include <list>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <variant>

#include "kafka/handlers/handlers.h"
#include "kafka/request.h"
#include "net/declared_read.h"
#include "net/listener.h"
#include "net/receive_budget.h"
#include "storage/log_manager.h"

namespace eddy::kafka {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;

class Connection;

class KafkaServer::Impl {
 public:
  Impl(KafkaServerOptions options, storage::LogManager& log)
      : options_(std::move(options)),
        log_(log),
        receive_budget_(options_.receive_budget ? options_.receive_budget
                                                : std::make_shared<net::ReceiveBudget>(
                                                      net::kDefaultReceiveBudgetBytes)),
        acceptor_(io_) {}

  Status bind();
  void run();
  void stop();
  asio::awaitable<void> accept_loop();

  // Fetch long-poll wake-ups, keyed by "topic\0partition".
  void add_data_waiter(const std::string& topic, int32_t partition, std::weak_ptr<void> alive,
                       std::function<void()> wake);
  void notify_data(const std::string& topic, int32_t partition);

  KafkaServerOptions options_;
  storage::LogManager& log_;
  std::shared_ptr<net::ReceiveBudget> receive_budget_;
  BrokerIdentity broker_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopped_{false};

  std::mutex connections_mu_;
  std::list<std::weak_ptr<Connection>> connections_;

  std::mutex waiters_mu_;
  struct DataWaiter {
    std::weak_ptr<void> alive;
    std::function<void()> wake;
  };
  std::unordered_map<std::string, std::vector<DataWaiter>> waiters_;
};

namespace {

std::string waiter_key(const std::string& topic, int32_t partition) {
  return topic + '\0' + std::to_string(partition);
}

int32_t load_i32(const uint8_t* p) {
  return static_cast<int32_t>((uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
                              (uint32_t{p[2]} << 8) | uint32_t{p[3]});
}

}  // namespace

class Connection : public std::enable_shared_from_this<Connection>, public AsyncServices {
 public:
  Connection(tcp::socket socket, KafkaServer::Impl& server)
      : socket_(std::move(socket)),
        server_(server),
        strand_(socket_.get_executor()),
        drain_timer_(strand_) {
    boost::system::error_code ec;
    auto endpoint = socket_.remote_endpoint(ec);
    peer_ = ec ? "unknown" : endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
    client_host_ = ec ? "unknown" : "/" + endpoint.address().to_string();
  }

  void start() { asio::co_spawn(strand_, read_loop(shared_from_this()), asio::detached); }

  void close() {
    asio::post(strand_, [self = shared_from_this()] { self->close_on_strand(); });
  }

  Cancel after(int64_t delay_ms, std::function<void()> fn) override {
    auto timer = std::make_shared<asio::steady_timer>(strand_);
    timer->expires_after(std::chrono::milliseconds(std::max<int64_t>(delay_ms, 0)));
    timer->async_wait([timer, fn = std::move(fn),
                       self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec != asio::error::operation_aborted) fn();
    });
    return [timer, strand = strand_] { asio::post(strand, [timer] { timer->cancel(); }); };
  }

  void on_data(const std::string& topic, int32_t partition, std::weak_ptr<void> alive,
               std::function<void()> wake) override {
    server_.add_data_waiter(topic, partition, std::move(alive),
                            [self = shared_from_this(), wake = std::move(wake)]() mutable {
                              asio::post(self->strand_, std::move(wake));
                            });
  }

 private:
  struct Pending {
    int32_t correlation_id;
    bool header_v1;  // flexible response header (tagged fields)
    size_t request_bytes;
    bool ready = false;
    ResponseBody body{};
  };

  static asio::awaitable<void> read_loop(std::shared_ptr<Connection> self) {
    co_await self->read_requests();
  }

  asio::awaitable<void> read_requests() {
    const auto idle = std::chrono::milliseconds(server_.options_.idle_timeout_ms);
    asio::steady_timer idle_timer(strand_);
    for (;;) {
      if (closed_) co_return;
      while (inflight_bytes_ > static_cast<size_t>(server_.options_.max_inflight_bytes) &&
             !closed_) {
        // Backpressure: stop reading until the responses we owe drain below the budget.
        drain_timer_.expires_at(asio::steady_timer::time_point::max());
        boost::system::error_code ignored;
        co_await drain_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
      }
      uint8_t size_bytes[4];
      idle_timer.expires_after(idle);
      auto first = co_await (asio::async_read(socket_, asio::buffer(size_bytes),
                                              asio::as_tuple(asio::use_awaitable)) ||
                             idle_timer.async_wait(asio::as_tuple(asio::use_awaitable)));
      if (first.index() == 1) {
        spdlog::info("kafka: closing idle connection from {}", peer_);
        close_on_strand();
        co_return;
      }
      auto [read_error, n] = std::get<0>(first);
      if (read_error) {
        if (read_error != asio::error::eof && read_error != asio::error::operation_aborted) {
          spdlog::debug("kafka: connection {}: {}", peer_, read_error.message());
        }
        close_on_strand();
        co_return;
      }
      const int32_t size = load_i32(size_bytes);
      if (size < 8 || size > server_.options_.max_request_bytes) {
        spdlog::warn("kafka: closing connection from {}: request size {} outside [8, {}]", peer_,
                     size, server_.options_.max_request_bytes);
        close_on_strand();
        co_return;
      }
      std::vector<std::byte> frame;
      const auto read = co_await net::read_declared(
          socket_, static_cast<size_t>(size), frame, server_.receive_budget_.get(),
          std::chrono::milliseconds(server_.options_.stall_timeout_ms));
      if (read != net::DeclaredRead::kComplete) {
        if (read == net::DeclaredRead::kStalled) {
          spdlog::warn("kafka: closing connection from {}: a {}-byte request stopped arriving",
                       peer_, size);
        }
        close_on_strand();
        co_return;
      }
      if (!dispatch(std::move(frame))) {
        close_on_strand();
        co_return;
      }
    }
  }

  // Returns false when the request is malformed and the connection must close.
  bool dispatch(std::vector<std::byte> frame) {
    auto parsed = parse_request(frame);
    if (!parsed.ok()) {
      spdlog::warn("kafka: closing connection from {}: {}", peer_, parsed.error().message());
      return false;
    }
    ParsedRequest& request = *parsed;
    const size_t request_bytes = frame.size();
    switch (request.error) {
      case RequestErrorKind::kNone:
        break;
      case RequestErrorKind::kUnknownApiKey:
        spdlog::warn("kafka: closing connection from {}: unsupported API key {}", peer_,
                     request.api_key);
        return false;
      case RequestErrorKind::kUnsupportedVersion:
        if (answers_unsupported_version(request)) {
          pending_.push_back({request.correlation_id, false, request_bytes, true,
                              unsupported_api_versions_body()});
          // Every pending_ slot takes a sequence number, or later responses on this
          // connection would be matched to the wrong slot and never sent.
          ++next_seq_;
          inflight_bytes_ += request_bytes;
          pump_writes();
          return true;
        }
        spdlog::warn("kafka: closing connection from {}: {} v{} is not supported (v{}-v{})", peer_,
                     request.handler->name, request.api_version, request.handler->min_version,
                     request.handler->max_version);
        return false;
    }
    const Handler& handler = *request.handler;
    WireReader body = body_reader(frame, request);

    pending_.push_back({request.correlation_id, request.response_header_v1, request_bytes});
    inflight_bytes_ += request_bytes;
    const uint64_t seq = next_seq_++;
    RequestContext context{
        .api_key = handler.key,
        .api_version = request.api_version,
        .correlation_id = request.correlation_id,
        .client_id = std::move(request.client_id),
        .log = server_.log_,
        .broker = server_.broker_,
        .groups = server_.options_.groups,
        .client_host = client_host_,
        .auto_create_topics = server_.options_.auto_create_topics,
        .default_partitions = server_.options_.default_partitions,
    };
    auto respond = [self = shared_from_this(), seq](ResponseBody response) {
      if (self->server_.stopped_) return;
      asio::post(self->strand_, [self, seq, response = std::move(response)]() mutable {
        self->complete(seq, std::move(response));
      });
    };
    bool well_formed = handler.handle(context, body, *this, std::move(respond));
    if (!well_formed) {
      spdlog::warn("kafka: closing connection from {}: malformed {} v{} request: {}", peer_,
                   handler.name, request.api_version,
                   body.ok() ? "invalid contents" : body.error());
      return false;
    }
    return true;
  }

  void complete(uint64_t seq, ResponseBody response) {
    // pending_ holds requests in order; seq counts from first_seq_ at its front.
    if (seq < first_seq_ || seq - first_seq_ >= pending_.size()) return;
    Pending& slot = pending_[seq - first_seq_];
    slot.ready = true;
    slot.body = std::move(response);
    pump_writes();
  }

  bool sends_files() const override { return true; }

  void pump_writes() {
    if (writing_ || closed_) return;
    // Responses go out as a small header and the body's pieces in gathered writes; fetched
    // records are pieces of their own (buffers, or segment file ranges sent with sendfile), so
    // they are never copied again on their way to the socket.
    auto batch = std::make_shared<Outgoing>();
    while (!pending_.empty() && pending_.front().ready) {
      Pending& front = pending_.front();
      if (front.body) {
        auto& header = batch->headers.emplace_back();
        const size_t header_size = front.header_v1 ? 9 : 8;
        const auto size = static_cast<uint32_t>(header_size - 4 + front.body->size());
        const auto correlation = static_cast<uint32_t>(front.correlation_id);
        for (int i = 0; i < 4; ++i) {
          header[i] = static_cast<std::byte>(size >> (24 - 8 * i));
          header[4 + i] = static_cast<std::byte>(correlation >> (24 - 8 * i));
        }
        header[8] = std::byte{0};
        batch->parts.push_back(asio::const_buffer(header.data(), header_size));
        batch->bodies.push_back(std::move(*front.body));
        for (auto& piece : batch->bodies.back().pieces) {
          if (auto* range = std::get_if<FileRange>(&piece)) {
            batch->parts.push_back(range);
          } else {
            const auto& bytes = std::get<std::vector<std::byte>>(piece);
            if (!bytes.empty())
              batch->parts.push_back(asio::const_buffer(bytes.data(), bytes.size()));
          }
        }
      }
      inflight_bytes_ -= front.request_bytes;
      pending_.pop_front();
      ++first_seq_;
    }
    if (inflight_bytes_ <= static_cast<size_t>(server_.options_.max_inflight_bytes)) {
      drain_timer_.cancel();
    }
    if (batch->parts.empty()) return;
    writing_ = true;
    write_parts(std::move(batch), 0, 0);
  }

  // Responses being written: headers and bodies own the bytes `parts` points into.
  struct Outgoing {
    std::deque<std::array<std::byte, 9>> headers;  // size, correlation id, empty tagged fields
    std::deque<ResponsePieces> bodies;
    std::vector<std::variant<asio::const_buffer, const FileRange*>> parts;
  };

  // Writes parts[index...], `done` bytes of parts[index] already sent; on the strand.
  void write_parts(std::shared_ptr<Outgoing> batch, size_t index, uint64_t done) {
    if (closed_) return;
    if (index == batch->parts.size()) {
      writing_ = false;
      pump_writes();
      return;
    }
    if (const auto* const* range = std::get_if<const FileRange*>(&batch->parts[index])) {
      send_file(std::move(batch), index, done, **range);
      return;
    }
    std::vector<asio::const_buffer> buffers;
    size_t next = index;
    while (next < batch->parts.size() &&
           std::holds_alternative<asio::const_buffer>(batch->parts[next])) {
      buffers.push_back(std::get<asio::const_buffer>(batch->parts[next]));
      ++next;
    }
    asio::async_write(
        socket_, buffers,
        asio::bind_executor(strand_, [self = shared_from_this(), batch, next](
                                         const boost::system::error_code& ec, size_t) mutable {
          if (ec) {
            self->close_on_strand();
            return;
          }
          self->write_parts(std::move(batch), next, 0);
        }));
  }

  void send_file(std::shared_ptr<Outgoing> batch, size_t index, uint64_t done,
                 const FileRange& range) {
    boost::system::error_code ec;
    socket_.native_non_blocking(true, ec);
    while (!ec && done < range.length) {
      off_t position = static_cast<off_t>(range.position + done);
      const size_t want = static_cast<size_t>(std::min<uint64_t>(range.length - done, 1u << 30));
      const ssize_t sent =
          ::sendfile(socket_.native_handle(), range.file->native_handle(), &position, want);
      if (sent > 0) {
        done += static_cast<uint64_t>(sent);
      } else if (sent < 0 && (errno == EAGAIN || errno == EINTR)) {
        if (errno == EINTR) continue;
        socket_.async_wait(tcp::socket::wait_write,
                           asio::bind_executor(strand_, [self = shared_from_this(), batch, index,
                                                         done](const boost::system::error_code& e) {
                             if (e) {
                               self->close_on_strand();
                               return;
                             }
                             const auto* range = std::get<const FileRange*>(batch->parts[index]);
                             self->send_file(batch, index, done, *range);
                           }));
        return;
      } else {
        // 0: the file is shorter than the range (it was cut under us); never send filler.
        if (sent < 0 && (errno == EPIPE || errno == ECONNRESET)) {
          close_on_strand();
          return;
        }
        spdlog::warn("kafka: closing connection to {}: sending records from {} failed: {}", peer_,
                     range.file->path(), sent == 0 ? "file ended early" : std::strerror(errno));
        close_on_strand();
        return;
      }
    }
    if (ec) {
      close_on_strand();
      return;
    }
    write_parts(std::move(batch), index + 1, 0);
  }

  void close_on_strand() {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    drain_timer_.cancel();
  }

  tcp::socket socket_;
  KafkaServer::Impl& server_;
  asio::strand<asio::any_io_executor> strand_;
  asio::steady_timer drain_timer_;
  std::string peer_;
  std::string client_host_;
  std::deque<Pending> pending_;
  uint64_t first_seq_ = 0;
  uint64_t next_seq_ = 0;
  size_t inflight_bytes_ = 0;
  bool writing_ = false;
  bool closed_ = false;
};

Status KafkaServer::Impl::bind() {
  // sendfile has no MSG_NOSIGNAL: a consumer gone mid-answer would otherwise kill the process
  // with SIGPIPE instead of failing one write with EPIPE.
  ::signal(SIGPIPE, SIG_IGN);
  RETURN_IF_ERROR(
      net::open_listener(acceptor_, options_.listen_host, options_.listen_port, "kafka"));
  broker_.host = options_.advertise_host.empty() ? options_.listen_host : options_.advertise_host;
  broker_.port =
      options_.advertise_port != 0 ? options_.advertise_port : acceptor_.local_endpoint().port();
  broker_.cluster_id = options_.cluster_id;
  return ok_status();
}

asio::awaitable<void> KafkaServer::Impl::accept_loop() {
  return net::accept_connections(acceptor_, io_, stopped_, "kafka", [this](tcp::socket socket) {
    auto connection = std::make_shared<Connection>(std::move(socket), *this);
    {
      std::lock_guard lock(connections_mu_);
      connections_.remove_if([](const auto& weak) { return weak.expired(); });
      connections_.push_back(connection);
    }
    connection->start();
  });
}

void KafkaServer::Impl::run() {
  asio::co_spawn(io_, accept_loop(), asio::detached);
  for (int i = 0; i < std::max(options_.threads, 1); ++i) {
    threads_.emplace_back([this] { io_.run(); });
  }
}

void KafkaServer::Impl::stop() {
  if (stopped_.exchange(true)) return;
  asio::post(io_, [this] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
  });
  {
    std::lock_guard lock(connections_mu_);
    for (auto& weak : connections_) {
      if (auto connection = weak.lock()) connection->close();
    }
  }
  io_.stop();
  for (auto& thread : threads_)
    thread.join();
  threads_.clear();
}

void KafkaServer::Impl::add_data_waiter(const std::string& topic, int32_t partition,
                                        std::weak_ptr<void> alive, std::function<void()> wake) {
  std::lock_guard lock(waiters_mu_);
  auto& list = waiters_[waiter_key(topic, partition)];
  // Idle partitions are never notified: prune abandoned waits as new ones arrive.
  if (list.size() >= 32) {
    std::erase_if(list, [](const DataWaiter& w) { return w.alive.expired(); });
  }
  list.push_back({std::move(alive), std::move(wake)});
}

void KafkaServer::Impl::notify_data(const std::string& topic, int32_t partition) {
  std::vector<DataWaiter> wake;
  {
    std::lock_guard lock(waiters_mu_);
    auto it = waiters_.find(waiter_key(topic, partition));
    if (it == waiters_.end()) return;
    wake.swap(it->second);
    waiters_.erase(it);
  }
  for (auto& waiter : wake) {
    if (!waiter.alive.expired()) waiter.wake();
  }
}

KafkaServer::KafkaServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

KafkaServer::~KafkaServer() {
  stop();
  impl_->log_.set_visibility_observer(nullptr);
}

Result<std::unique_ptr<KafkaServer>> KafkaServer::start(KafkaServerOptions options,
                                                        storage::LogManager& log) {
  auto impl = std::make_unique<Impl>(std::move(options), log);
  RETURN_IF_ERROR(impl->bind());
  Impl* raw = impl.get();
  log.set_visibility_observer(
      [raw](const std::string& topic, int32_t partition) { raw->notify_data(topic, partition); });
  impl->run();
  spdlog::info("kafka: listening on {}:{} (advertised as {}:{})", raw->options_.listen_host,
               raw->acceptor_.local_endpoint().port(), raw->broker_.host, raw->broker_.port);
  return std::unique_ptr<KafkaServer>(new KafkaServer(std::move(impl)));
}

int KafkaServer::bound_port() const {
  boost::system::error_code ec;
  auto endpoint = impl_->acceptor_.local_endpoint(ec);
  return ec ? impl_->broker_.port : endpoint.port();
}

void KafkaServer::stop() {
  impl_->stop();
}

}  // namespace eddy::kafka
