// A full-duplex transfer through one connection to a source_sink backend: `bytes` of
// ByteStream(upload_seed) up while everything that comes down is hashed, both checked against
// what the backend reports. Used by the byte-exact tests and by those that reload or upgrade
// the daemon while transfers run.
#pragma once

#include <chrono>
#include <cstdint>

#include "byte_stream.h"
#include "socket_io.h"

namespace edge::test {

struct TransferResult {
  std::uint64_t sent = 0;  // bytes the client sent, and their hash
  std::uint64_t sent_hash = Fnv1a64::kOffset;
  IoResult send_end = IoResult::ok;
  std::uint64_t received = 0;  // bytes the client received, and their hash
  std::uint64_t received_hash = Fnv1a64::kOffset;
  IoResult receive_end = IoResult::ok;  // eof when the stream ended cleanly
};

// Sends `bytes` on `fd` (then shuts down its write side) while reading until EOF. `pause`:
// a wait after every 64 KiB sent, for a transfer that must last (zero: as fast as it goes).
TransferResult run_transfer(int fd, std::uint64_t bytes, std::uint64_t upload_seed,
                            const Until& until,
                            std::chrono::milliseconds pause = std::chrono::milliseconds(0));

}  // namespace edge::test
