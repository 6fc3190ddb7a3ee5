#include "admin/http_connection.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/post.hpp>
#include <asio/write.hpp>
#include <utility>

#include "net/endpoint.h"

namespace edge::admin {

bool ConnectionSet::add(const std::shared_ptr<HttpConnection>& connection) {
  std::lock_guard lock(mutex_);
  if (closed_) return false;
  live_.emplace_back(connection.get(), connection);
  return true;
}

void ConnectionSet::remove(const HttpConnection* connection) {
  std::lock_guard lock(mutex_);
  std::erase_if(live_, [&](const auto& entry) { return entry.first == connection; });
}

void ConnectionSet::stopOldest() {
  std::shared_ptr<HttpConnection> oldest;
  {
    std::lock_guard lock(mutex_);
    if (live_.empty()) return;
    oldest = live_.front().second.lock();  // null: being destroyed, and removing itself
    live_.erase(live_.begin());
  }
  if (oldest) oldest->stop();
}

size_t ConnectionSet::size() const {
  std::lock_guard lock(mutex_);
  return live_.size();
}

void ConnectionSet::close() {
  std::vector<std::shared_ptr<HttpConnection>> connections;
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    for (const auto& [_, weak] : live_) {
      if (auto c = weak.lock()) connections.push_back(std::move(c));
    }
  }
  // Outside the lock: a connection released here may be destroyed, and remove() itself.
  for (const auto& c : connections) c->stop();
}

HttpConnection::HttpConnection(asio::ip::tcp::socket socket, const Handler& handler,
                               ConnectionSet& set)
    : socket_(std::move(socket)), timer_(socket_.get_executor()), handler_(handler), set_(set) {
  std::error_code ec;
  const auto remote = socket_.remote_endpoint(ec);
  remote_ = ec ? "?" : net::format(remote);
}

HttpConnection::~HttpConnection() {
  set_.remove(this);
}

void HttpConnection::start() {
  asio::post(socket_.get_executor(), [self = shared_from_this()] {
    self->deadline_ = Clock::now() + kReadTimeout;
    self->watch();
    self->read();
  });
}

void HttpConnection::stop() {
  asio::post(socket_.get_executor(), [self = shared_from_this()] {
    self->stopping_ = true;
    // A request being answered is answered (send() closes after it); no other is read.
    if (self->state_ != State::writing) self->close();
  });
}

// One timer per connection, for whichever deadline is current: a later one is seen when the timer
// fires (and re-armed), an earlier one re-arms it at once (setDeadline()).
void HttpConnection::watch() {
  timer_.expires_at(deadline_);  // cancels a wait still pending: its handler sees aborted
  timer_.async_wait([self = shared_from_this()](std::error_code ec) {
    if (ec == asio::error::operation_aborted || self->state_ == State::closed) return;
    if (Clock::now() < self->deadline_) return self->watch();
    if (!self->idle_ && self->state_ == State::reading) {
      spdlog::debug("admin: {}: no complete request within {} s", self->remote_,
                    kReadTimeout.count());
    }
    self->close();
  });
}

void HttpConnection::setDeadline(Clock::time_point deadline) {
  deadline_ = deadline;
  if (deadline < timer_.expiry()) watch();
}

void HttpConnection::read() {
  state_ = State::reading;
  socket_.async_read_some(asio::buffer(chunk_),
                          [self = shared_from_this()](std::error_code ec, size_t n) {
                            if (ec || self->state_ == State::closed) return self->close();
                            self->buffer_.append(self->chunk_.data(), n);
                            self->process();
                          });
}

void HttpConnection::process() {
  if (stopping_) return close();
  const auto result = parser_.parse(buffer_);
  if (result.state == RequestParser::State::incomplete) {
    if (idle_ && !buffer_.empty()) {  // a request has begun: it has the read timeout from now
      idle_ = false;
      setDeadline(Clock::now() + kReadTimeout);
    }
    return read();
  }
  if (result.state == RequestParser::State::error) {
    spdlog::debug("admin: bad request from {}: {} {}", remote_, result.status, result.reason);
    HttpResponse response;
    response.status = result.status;
    response.body = std::to_string(result.status) + " " + result.reason + "\n";
    return send(std::move(response), false, false);
  }
  HttpRequest request = std::move(parser_.request());
  buffer_.erase(0, result.consumed);
  parser_.reset();
  ++served_;
  HttpResponse response = handler_(request);
  spdlog::debug("admin: {} {} {} from {}", request.method, request.path, response.status, remote_);
  const bool keep_alive = request.keep_alive && served_ < kMaxRequests && !stopping_;
  send(std::move(response), request.method == "HEAD", keep_alive);
}

void HttpConnection::send(HttpResponse response, bool head_only, bool keep_alive) {
  state_ = State::writing;
  keep_alive_ = keep_alive;
  head_ = formatHead(response, keep_alive, static_cast<int>(kIdleTimeout.count()));
  if (!head_only) body_ = std::move(response.body);
  deadline_ = Clock::now() + kWriteTimeout;
  const std::array<asio::const_buffer, 2> buffers{asio::buffer(head_), asio::buffer(body_)};
  asio::async_write(
      socket_, buffers,
      // Called after each partial write: progress moves the write deadline.
      [this](std::error_code ec, size_t) -> size_t {
        deadline_ = Clock::now() + kWriteTimeout;
        return ec ? 0 : 65536;
      },
      [self = shared_from_this()](std::error_code ec, size_t) {
        if (ec) return self->close();
        std::string().swap(self->body_);  // a /connections answer can be megabytes
        if (self->stopping_) return self->close();
        if (!self->keep_alive_) return self->linger();
        self->idle_ = self->buffer_.empty();
        self->setDeadline(Clock::now() + (self->idle_ ? kIdleTimeout : kReadTimeout));
        self->process();  // a pipelined request may be here already
      });
}

void HttpConnection::linger() {
  state_ = State::lingering;
  std::error_code ignored;
  socket_.shutdown(asio::socket_base::shutdown_send, ignored);
  setDeadline(Clock::now() + kLingerTimeout);
  drain();
}

void HttpConnection::drain() {
  socket_.async_read_some(asio::buffer(chunk_),
                          [self = shared_from_this()](std::error_code ec, size_t n) {
                            self->drained_ += n;
                            if (ec || self->drained_ > kMaxLingerBytes) return self->close();
                            self->drain();
                          });
}

void HttpConnection::close() {
  if (state_ == State::closed) return;
  state_ = State::closed;
  std::error_code ignored;
  socket_.close(ignored);
  timer_.cancel();
}

}  // namespace edge::admin
