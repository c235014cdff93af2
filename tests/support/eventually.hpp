// Test helper: wait, bounded, until a condition holds. Servers bump their counters on their own
// thread after the client has its answer, so a test reads them through eventually().
#pragma once

#include <chrono>
#include <thread>

namespace kmslab::test {

// True as soon as pred() holds; false when it still does not after `limit`.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = std::chrono::milliseconds(2000)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

}  // namespace kmslab::test
