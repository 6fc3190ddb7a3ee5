// Deterministic pseudo-random byte streams and their FNV-1a 64 hash, for byte-exact transfer
// checks: both ends can generate or hash the same stream from a seed without storing it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

// The byte loops below only touch buffers private to the calling thread; instrumenting every
// byte access makes a 256 MiB transfer ~10x slower under TSan for no finding.
#define EDGE_TEST_NO_TSAN __attribute__((no_sanitize("thread")))

namespace edge::test {

class Fnv1a64 {
 public:
  static constexpr std::uint64_t kOffset = 0xcbf29ce484222325ULL;
  static constexpr std::uint64_t kPrime = 0x100000001b3ULL;

  EDGE_TEST_NO_TSAN void update(std::span<const std::uint8_t> bytes) {
    // Raw pointer loop: GCC does not inline (instrumented) span iterators into an
    // uninstrumented function, which would cost a call per byte.
    const std::uint8_t* p = bytes.data();
    std::uint64_t h = hash_;
    for (std::size_t i = 0; i < bytes.size(); ++i) h = (h ^ p[i]) * kPrime;
    hash_ = h;
    size_ += bytes.size();
  }
  std::uint64_t hash() const { return hash_; }
  std::uint64_t size() const { return size_; }

 private:
  std::uint64_t hash_ = kOffset;
  std::uint64_t size_ = 0;
};

// splitmix64 output, 8 bytes per step, little-endian; the stream is a pure function of the seed.
class ByteStream {
 public:
  explicit ByteStream(std::uint64_t seed) : state_(seed) {}
  // Fills `out` with the next bytes of the stream.
  EDGE_TEST_NO_TSAN void fill(std::span<std::uint8_t> out);

 private:
  EDGE_TEST_NO_TSAN std::uint64_t next_word();
  std::uint64_t state_;
  std::uint64_t word_ = 0;
  unsigned word_bytes_left_ = 0;
};

// Hash of the first `size` bytes of the stream for `seed`.
std::uint64_t stream_hash(std::uint64_t seed, std::uint64_t size);

}  // namespace edge::test
