// One JSON line per KMS activation handled by the simulator's host (when a log file is given):
// time, host, peer, client machine ID, workstation, product, protocol version, result, duration.
// Lines are written whole (one write per line under a mutex), so concurrent sessions never
// interleave, and flushed so `tail -f` and tests see them at once.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdio>
#include <memory>
#include <mutex>
#include <string>

namespace kmslab::simulator {

class ActivationLog {
 public:
  // Opens `path` for appending ("-" = standard output). Throws std::runtime_error naming the path
  // and the reason when it cannot be opened (a configuration error the caller reports).
  explicit ActivationLog(const std::string& path);
  ~ActivationLog();
  ActivationLog(const ActivationLog&) = delete;
  ActivationLog& operator=(const ActivationLog&) = delete;

  void write(const nlohmann::json& entry);

 private:
  std::mutex mutex_;
  std::FILE* file_ = nullptr;
  bool owned_ = false;
};

}  // namespace kmslab::simulator
