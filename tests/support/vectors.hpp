// Test helper: load the captured vectors (tests/vectors, copied from the shared capture set).
#pragma once

#include "kmslab/protocol/hex.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace kmslab::test {

inline std::string vector_path(const std::string& name) {
  return std::string(KMSLAB_VECTORS_DIR) + "/" + name;
}

inline std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The bytes of a captured PDU, e.g. load_vector("v6_request.hex").
inline protocol::Bytes load_vector(const std::string& name) {
  auto bytes = protocol::from_hex(read_text_file(vector_path(name)));
  if (!bytes) throw std::runtime_error(name + ": " + bytes.error().message());
  return *bytes;
}

}  // namespace kmslab::test
