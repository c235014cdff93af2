// Reading a whole input file with a size cap: the one way every file kmslab reads (YAML configs,
// scenarios, zone files, baselines, load reports, hex captures) is brought into memory.
//
// A regular file larger than the cap is refused from its size without reading it; anything else
// (a FIFO, /dev/zero, a pipe on standard input) is read until EOF or until one byte past the cap,
// so an endless source costs at most max_bytes + one chunk of memory and ends quickly.
// Errors are ConfigErrors without a line ("baseline.json: larger than the 8388608-byte limit").
#pragma once

#include "kmslab/config/yaml_node.hpp"

#include <cstddef>
#include <string>

namespace kmslab::config {

// The whole of `path`; an error when it cannot be opened or read, is a directory, or holds more
// than max_bytes.
ConfigResult<std::string> read_file_capped(const std::string& path, std::size_t max_bytes);

// The same for an open descriptor (standard input for "-"), named `name` in errors; the
// descriptor is read to EOF (or past the cap) and not closed.
ConfigResult<std::string> read_fd_capped(int fd, const std::string& name, std::size_t max_bytes);

}  // namespace kmslab::config
