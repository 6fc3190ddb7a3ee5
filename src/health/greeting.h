#pragma once
// The greeting part of a health check (--health-check-expect): the target's first bytes must
// start with the expected text. Bytes arrive in pieces; each piece is judged as it comes, so a
// wrong first byte fails at once and a slow, right greeting passes as soon as it is complete.
// A pure value: no socket, no clock; the checker reports the end of the stream and timeouts.

#include <optional>
#include <string>
#include <string_view>

namespace edge::health {

class Greeting {
 public:
  enum class Verdict { Pending, Passed, Failed };

  explicit Greeting(std::string_view expect) : expect_(expect) {}

  // The next bytes the target sent.
  Verdict feed(std::string_view bytes);
  Verdict verdict() const { return verdict_; }
  // Bytes still wanted before a verdict (0 once there is one).
  size_t wanted() const { return verdict_ == Verdict::Pending ? expect_.size() - got_.size() : 0; }

  // Why the check failed, for the log: after feed() said Failed, or when the target closed
  // (`closed`) or the time ran out before a verdict. Received bytes are shown escaped.
  std::string mismatch() const;
  std::string closedEarly() const;
  std::string timedOut(std::string_view timeout) const;

 private:
  std::string expect_;
  std::string got_;  // at most expect_.size() bytes: all a verdict needs
  Verdict verdict_ = Verdict::Pending;
};

}  // namespace edge::health
