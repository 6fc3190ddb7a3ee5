#include "health/checker.h"

#include <spdlog/spdlog.h>

#include <array>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <memory>
#include <optional>
#include <unordered_set>

#include "config/duration.h"
#include "health/greeting.h"

namespace edge::health {

// One endpoint's check: connect, then (with an expected greeting) read until a verdict; a timer
// bounds the whole. Checker thread only; kept alive by its pending handlers.
class Checker::Check : public std::enable_shared_from_this<Check> {
 public:
  Check(Checker& checker, Job job)
      : checker_(checker),
        job_(std::move(job)),
        socket_(checker.io_),
        timer_(checker.io_),
        greeting_(checker.settings_.expect) {}

  void run() {
    std::error_code ec;
    socket_.open(job_.endpoint.protocol(), ec);  // non-blocking from asio's point of view
    if (ec) {
      // A local failure (descriptors, no IPv6 here) says nothing about the target: no verdict.
      spdlog::debug("health check of {}: socket: {}", net::format(job_.endpoint), ec.message());
      // Posted: done() launches the next check, which must not nest inside launchNext().
      return asio::post(checker_.io_, [self = shared_from_this()] { self->done(std::nullopt); });
    }
    timer_.expires_after(checker_.settings_.timeout);
    timer_.async_wait([self = shared_from_this()](std::error_code wait_ec) {
      if (wait_ec || self->finished_) return;
      self->timed_out_ = true;
      std::error_code ignored;
      self->socket_.cancel(ignored);  // the pending connect or read ends with operation_aborted
    });
    socket_.async_connect(job_.endpoint, [self = shared_from_this()](std::error_code connect_ec) {
      self->connected(connect_ec);
    });
  }

 private:
  void connected(const std::error_code& ec) {
    if (timed_out_) return done("health check: connect timeout (" + checker_.timeout_text_ + ")");
    if (ec) return done("health check: connect: " + ec.message());
    if (checker_.settings_.expect.empty()) return done(std::string());
    read();
  }

  void read() {
    const size_t want = std::min(buffer_.size(), greeting_.wanted());
    socket_.async_read_some(
        asio::buffer(buffer_.data(), want),
        [self = shared_from_this()](std::error_code ec, size_t n) { self->received(ec, n); });
  }

  void received(const std::error_code& ec, size_t n) {
    if (n > 0) {
      switch (greeting_.feed(std::string_view(buffer_.data(), n))) {
        case Greeting::Verdict::Passed:
          return done(std::string());
        case Greeting::Verdict::Failed:
          return done("health check: " + greeting_.mismatch());
        case Greeting::Verdict::Pending:
          break;
      }
    }
    if (timed_out_) return done("health check: " + greeting_.timedOut(checker_.timeout_text_));
    if (ec == asio::error::eof) return done("health check: " + greeting_.closedEarly());
    if (ec) return done("health check: read: " + ec.message());
    read();
  }

  // `cause`: nullopt no verdict, empty passed, else why it failed.
  void done(std::optional<std::string> cause) {
    finished_ = true;
    std::error_code ignored;
    timer_.cancel();
    // RST rather than FIN: a check leaves no TIME_WAIT behind, however often it runs.
    if (socket_.is_open()) {
      socket_.set_option(asio::socket_base::linger(true, 0), ignored);
      socket_.close(ignored);
    }
    if (cause) checker_.finished(job_, cause->empty(), *cause);
    checker_.running_--;
    checker_.launchNext();
  }

  Checker& checker_;
  Job job_;
  asio::ip::tcp::socket socket_;
  asio::steady_timer timer_;
  Greeting greeting_;
  std::array<char, 256> buffer_{};
  bool timed_out_ = false;
  bool finished_ = false;
};

Checker::Checker(Settings settings, const discovery::TargetBoard& board, HealthTable& table)
    : settings_(std::move(settings)),
      timeout_text_(
          config::formatDuration(std::chrono::duration_cast<config::Duration>(settings_.timeout))),
      board_(board),
      table_(table) {}

Checker::~Checker() {
  stop();
}

void Checker::start() {
  if (thread_.joinable()) return;
  asio::post(io_, [this] { startRound(); });
  thread_ = std::thread([this] { io_.run(); });
}

void Checker::stop() {
  io_.stop();
  if (thread_.joinable()) thread_.join();
}

void Checker::startRound() {
  round_started_ = Clock::now();
  const auto set = board_.load();
  std::unordered_set<net::Endpoint, net::EndpointHash> seen;
  for (const auto& target : set->targets) {
    for (const auto& ep : target.endpoints) {
      if (seen.insert(ep).second) pending_.push_back({ep, target.name});
    }
  }
  table_.prune();  // endpoints that left DNS are not checked, nor kept
  {
    std::lock_guard lock(results_mutex_);
    std::erase_if(results_, [&](const auto& kv) { return !seen.contains(kv.first); });
  }
  if (pending_.empty()) return roundEnded();
  launchNext();
}

void Checker::launchNext() {
  while (running_ < settings_.concurrency && !pending_.empty()) {
    auto job = std::move(pending_.front());
    pending_.pop_front();
    ++running_;
    std::make_shared<Check>(*this, std::move(job))->run();
  }
  if (running_ == 0 && pending_.empty()) roundEnded();
}

std::vector<std::pair<net::Endpoint, Checker::Results>> Checker::results() const {
  std::lock_guard lock(results_mutex_);
  return {results_.begin(), results_.end()};
}

void Checker::finished(const Job& job, bool passed, const std::string& cause) {
  {
    std::lock_guard lock(results_mutex_);
    auto& r = results_[job.endpoint];
    ++(passed ? r.passed : r.failed);
  }
  if (passed) {
    table_.checkPassed(job.endpoint, job.name);
  } else {
    table_.checkFailed(job.endpoint, job.name, cause);
  }
}

void Checker::roundEnded() {
  rounds_.fetch_add(1, std::memory_order_acq_rel);
  round_timer_.expires_at(round_started_ + settings_.interval);
  round_timer_.async_wait([this](std::error_code ec) {
    if (!ec) startRound();
  });
}

}  // namespace edge::health
