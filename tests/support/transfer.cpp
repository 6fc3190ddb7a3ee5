#include "transfer.h"

#include <sys/socket.h>

#include <algorithm>
#include <thread>
#include <vector>

namespace edge::test {

TransferResult run_transfer(int fd, std::uint64_t bytes, std::uint64_t upload_seed,
                            const Until& until, std::chrono::milliseconds pause) {
  TransferResult result;
  std::thread writer([&] {
    ByteStream stream(upload_seed);
    Fnv1a64 hasher;
    std::vector<std::uint8_t> chunk(1 << 16);
    while (result.sent < bytes && result.send_end == IoResult::ok) {
      const auto n =
          static_cast<std::size_t>(std::min<std::uint64_t>(bytes - result.sent, chunk.size()));
      stream.fill({chunk.data(), n});
      hasher.update({chunk.data(), n});
      result.send_end = send_all(fd, chunk.data(), n, until);
      if (result.send_end == IoResult::ok) result.sent += n;
      if (pause.count() > 0) std::this_thread::sleep_for(pause);
    }
    result.sent_hash = hasher.hash();
    if (result.send_end == IoResult::ok) ::shutdown(fd, SHUT_WR);
  });
  Fnv1a64 received;
  std::vector<std::uint8_t> buffer(1 << 16);
  while (result.receive_end == IoResult::ok) {
    std::size_t got = 0;
    result.receive_end = recv_some(fd, buffer.data(), buffer.size(), got, until);
    if (result.receive_end == IoResult::ok) received.update({buffer.data(), got});
  }
  writer.join();
  result.received = received.size();
  result.received_hash = received.hash();
  return result;
}

}  // namespace edge::test
