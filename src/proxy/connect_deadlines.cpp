#include "proxy/connect_deadlines.h"

namespace edge::proxy {

ConnectDeadlines::ConnectDeadlines(asio::io_context& io, Clock::duration timeout)
    : timer_(io), timeout_(timeout) {}

void ConnectDeadlines::add(Waiter& waiter) {
  waiter.deadline = Clock::now() + timeout_;
  waiting_.pushBack(&waiter);  // the latest deadline: the queue stays sorted
  arm();
}

void ConnectDeadlines::stop() {
  armed_ = false;
  timer_.cancel();  // the handler sees operation_aborted and touches nothing
}

void ConnectDeadlines::arm() {
  // An armed timer stays on an earlier deadline even if that waiter left: it then fires once
  // for nothing and re-arms for the new front, cheaper than re-setting it on every remove.
  if (armed_ || waiting_.empty()) return;
  armed_ = true;
  timer_.expires_at(waiting_.front()->deadline);
  timer_.async_wait([this](std::error_code ec) {
    if (ec == asio::error::operation_aborted) return;  // stop(), or this is going away
    armed_ = false;
    expire();
  });
}

void ConnectDeadlines::expire() {
  const auto now = Clock::now();
  while (Waiter* oldest = waiting_.front()) {
    if (oldest->deadline > now) break;
    waiting_.remove(oldest);
    oldest->deadlinePassed();  // may add or remove other waiters
  }
  arm();
}

}  // namespace edge::proxy
