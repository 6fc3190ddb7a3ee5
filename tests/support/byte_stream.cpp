#include "byte_stream.h"

#include <algorithm>
#include <vector>

namespace edge::test {

EDGE_TEST_NO_TSAN std::uint64_t ByteStream::next_word() {
  std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

EDGE_TEST_NO_TSAN void ByteStream::fill(std::span<std::uint8_t> out) {
  std::uint8_t* p = out.data();  // raw pointers: see Fnv1a64::update
  const std::size_t size = out.size();
  std::size_t i = 0;
  if (word_bytes_left_ == 0) {  // fast path: whole words (bytes in little-endian order)
    for (; i + 8 <= size; i += 8) {
      const std::uint64_t w = next_word();
      for (unsigned b = 0; b < 8; ++b) p[i + b] = static_cast<std::uint8_t>(w >> (8 * b));
    }
  }
  for (; i < size; ++i) {
    if (word_bytes_left_ == 0) {
      word_ = next_word();
      word_bytes_left_ = 8;
    }
    p[i] = static_cast<std::uint8_t>(word_ & 0xff);
    word_ >>= 8;
    --word_bytes_left_;
  }
}

std::uint64_t stream_hash(std::uint64_t seed, std::uint64_t size) {
  ByteStream stream(seed);
  Fnv1a64 hasher;
  std::vector<std::uint8_t> chunk(1 << 16);
  while (size > 0) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(size, chunk.size()));
    stream.fill({chunk.data(), n});
    hasher.update({chunk.data(), n});
    size -= n;
  }
  return hasher.hash();
}

}  // namespace edge::test
