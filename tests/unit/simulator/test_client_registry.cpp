#include "kmslab/simulator/client_registry.hpp"

#include <gtest/gtest.h>

namespace kmslab::simulator {
namespace {

const auto kWindows = *protocol::Guid::parse("55c92734-d682-4d71-983e-d6ec3f16059f");
const auto kOffice = *protocol::Guid::parse("0ff1ce15-a989-479d-af46-f275c6370663");

TEST(ClientRegistry, CountsDistinctClientsPerApplication) {
  ClientRegistry reg;
  std::mt19937_64 rng(1);
  const auto a = protocol::Guid::random_v4(rng);
  const auto b = protocol::Guid::random_v4(rng);
  EXPECT_EQ(reg.observe(kWindows, a), 1u);
  EXPECT_EQ(reg.observe(kWindows, a), 1u) << "a returning client does not add to the count";
  EXPECT_EQ(reg.observe(kWindows, b), 2u);
  EXPECT_EQ(reg.observe(kOffice, a), 1u) << "Office keeps its own count";
  EXPECT_EQ(reg.count(kWindows), 2u);
}

TEST(ClientRegistry, ReportsAtMostTheWindow) {
  ClientRegistry reg(50);
  reg.prefill(kWindows, 80, 7);
  EXPECT_EQ(reg.count(kWindows), 50u);
  std::mt19937_64 rng(2);
  EXPECT_EQ(reg.observe(kWindows, protocol::Guid::random_v4(rng)), 50u);
  reg.clear();
  EXPECT_EQ(reg.count(kWindows), 0u);
}

}  // namespace
}  // namespace kmslab::simulator
