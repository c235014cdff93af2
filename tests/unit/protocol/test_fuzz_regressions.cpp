// Regression tests for bugs the fuzz targets found (tests/fuzz), one per bug, named after it.
// The crashing inputs themselves are replayed from tests/fuzz/regressions/ by fuzz_replay.*;
// these tests state the broken rule directly so a reader sees what was wrong.
#include "kmslab/protocol/dns_message.hpp"
#include "kmslab/protocol/dns_text.hpp"

#include <gtest/gtest.h>

namespace kmslab::protocol {
namespace {

// fuzz_dns_message, regressions/dns_message/truncate_to_tc_when_question_exceeds_limit.bin:
// truncate_to set TC only when it dropped answer or authority records, so a message whose
// header and question alone exceed the limit came back over the limit with TC clear, against
// the promise in dns_message.hpp.
TEST(FuzzRegression, DnsTruncateToSetsTcWhenTheQuestionAloneExceedsTheLimit) {
  dns::Message m = dns::make_query(8, dns::Name::parse("kms1.corp.example.").value(), dns::Type::a);
  m.header.rd = false;
  const std::size_t limit = dns::kHeaderSize;
  auto wire = dns::truncate_to(m, limit);
  ASSERT_TRUE(wire) << wire.error().message();
  EXPECT_GT(wire->size(), limit);
  EXPECT_TRUE(m.header.tc);
  auto back = dns::decode(*wire);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_TRUE(back->header.tc);
  EXPECT_EQ(back->questions.size(), 1u);
}

// fuzz_dns_message, regressions/dns_message/empty_txt_rdata_has_no_text_form.bin: a TXT record
// with an empty rdata decodes (zero strings), but format_rdata printed it as "", which
// parse_rdata rejects ("TXT rdata needs at least one string"). It now prints RFC 3597's "\# 0".
TEST(FuzzRegression, DnsEmptyTxtRdataPrintsAsTextThatParsesBack) {
  const dns::Rdata empty = dns::TxtData{};
  const std::string text = dns::format_rdata(empty);
  EXPECT_EQ(text, "\\# 0");
  auto back = dns::parse_rdata(dns::Type::txt, text);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(dns::format_rdata(*back), text);
}

}  // namespace
}  // namespace kmslab::protocol
