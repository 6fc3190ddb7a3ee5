// The DNS wire walker (discovery/dns_wire.h) and answer selection (discovery/answer_records.h)
// over an arbitrary reply, as the network may send it. Besides memory safety: records and their
// rdata lie inside the message, names come out in the one normalized, escaped form, and the
// answers selected are what selectAnswers promises.
#include <cstdint>
#include <span>
#include <string>

#include "discovery/answer_records.h"
#include "discovery/dns_wire.h"
#include "fuzz_check.h"

namespace {

using namespace edge::discovery;

// A name as readName writes it: lower-case, no trailing dot, any byte outside printable ASCII
// (and dot, quote, backslash) as \DDD. c-ares can be asked for it unless it holds a NUL byte.
void checkName(const std::string& name) {
  FUZZ_CHECK(normalizeName(name) == name);
  FUZZ_CHECK(name.size() <= 4 * 255);
  for (size_t i = 0; i < name.size(); ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    FUZZ_CHECK(c > 0x20 && c < 0x7F && c != '"');
    if (c == '\\') {
      FUZZ_CHECK(i + 3 < name.size());
      for (size_t d = i + 1; d <= i + 3; ++d) FUZZ_CHECK(name[d] >= '0' && name[d] <= '9');
      const int byte = (name[i + 1] - '0') * 100 + (name[i + 2] - '0') * 10 + (name[i + 3] - '0');
      FUZZ_CHECK(byte >= 0 && byte <= 255);
      i += 3;
    }
  }
  const bool has_nul = name.find("\\000") != std::string::npos;
  FUZZ_CHECK(caresQueryName(name).has_value() == !has_nul);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> message(data, size);
  if (auto question = readQuestion(message)) checkName(question->name);
  for (size_t offset = 0; offset < size && offset < 64; ++offset) {
    if (auto name = readName(message, offset)) checkName(*name);
  }

  const auto parsed = parseMessage(message);
  if (!parsed) return 0;
  FUZZ_CHECK(parsed->rcode <= 15);
  for (const auto& rr : parsed->records) {
    checkName(rr.name);
    FUZZ_CHECK(rr.ttl <= 0x7FFFFFFFu);
    FUZZ_CHECK(rr.rdata_offset + rr.rdata.size() <= size);
    FUZZ_CHECK(rr.rdata.empty() || rr.rdata.data() == data + rr.rdata_offset);
    if (auto srv = parseSrv(message, rr)) {
      FUZZ_CHECK(rr.type == kTypeSrv);
      checkName(srv->target);
    }
    if (auto cname = parseCname(message, rr)) {
      FUZZ_CHECK(rr.type == kTypeCname);
      checkName(*cname);
    }
  }

  // The question's own records, and those of a name the answers use (CNAME chains).
  std::string question = "example.internal";
  if (auto q = readQuestion(message)) question = q->name;
  for (const uint16_t type : {kTypeSrv, kTypeA, kTypeAaaa, kTypeCname}) {
    const auto answers = selectAnswers(message, *parsed, question, type);
    if (answers.records.empty()) FUZZ_CHECK(answers.ttl == UINT32_MAX);
    for (const ResourceRecord* rr : answers.records) {
      FUZZ_CHECK(rr >= parsed->records.data() &&
                 rr < parsed->records.data() + parsed->records.size());
      FUZZ_CHECK(rr->section == Section::Answer && rr->type == type && rr->rr_class == kClassIn);
      FUZZ_CHECK(answers.ttl <= rr->ttl);
      if (type == kTypeCname) FUZZ_CHECK(rr->name == question);  // chains are not followed
    }
  }
  return 0;
}
