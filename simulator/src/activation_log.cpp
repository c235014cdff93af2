#include "kmslab/simulator/activation_log.hpp"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace kmslab::simulator {

ActivationLog::ActivationLog(const std::string& path) {
  if (path == "-") {
    file_ = stdout;
    return;
  }
  file_ = std::fopen(path.c_str(), "a");
  if (!file_) throw std::runtime_error("cannot open activation log " + path + ": " + std::strerror(errno));
  owned_ = true;
}

ActivationLog::~ActivationLog() {
  if (owned_ && file_) std::fclose(file_);
}

void ActivationLog::write(const nlohmann::json& entry) {
  std::string line = entry.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  line.push_back('\n');
  std::lock_guard lock(mutex_);
  std::fwrite(line.data(), 1, line.size(), file_);
  std::fflush(file_);
}

}  // namespace kmslab::simulator
