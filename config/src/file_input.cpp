#include "kmslab/config/file_input.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace kmslab::config {
namespace {

ConfigError file_error(const std::string& name, std::string message) { return ConfigError{name, 0, 0, "", std::move(message)}; }

std::string too_large(std::size_t max_bytes) { return fmt::format("larger than the {}-byte limit", max_bytes); }

// Closes the descriptor it owns on every path out of read_file_capped.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() { ::close(fd_); }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;

 private:
  int fd_;
};

}  // namespace

ConfigResult<std::string> read_fd_capped(int fd, const std::string& name, std::size_t max_bytes) {
  struct stat st {};
  if (::fstat(fd, &st) == 0) {
    if (S_ISDIR(st.st_mode)) return file_error(name, "is a directory, expected a file");
    // A regular file says its size: refuse it without reading.
    if (S_ISREG(st.st_mode) && static_cast<std::uintmax_t>(st.st_size) > max_bytes)
      return file_error(name, too_large(max_bytes));
  }
  std::string text;
  constexpr std::size_t kChunk = 64 * 1024;
  for (;;) {
    const std::size_t used = text.size();
    // Never hold more than one chunk past the cap, whatever the source.
    text.resize(used + kChunk);
    const ssize_t n = ::read(fd, text.data() + used, kChunk);
    if (n < 0) {
      if (errno == EINTR) {
        text.resize(used);
        continue;
      }
      return file_error(name, fmt::format("cannot read: {}", std::strerror(errno)));
    }
    text.resize(used + static_cast<std::size_t>(n));
    if (text.size() > max_bytes) return file_error(name, too_large(max_bytes));
    if (n == 0) return ConfigResult<std::string>(boost::system::in_place_value, std::move(text));
  }
}

ConfigResult<std::string> read_file_capped(const std::string& path, std::size_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return file_error(path, fmt::format("cannot open: {}", std::strerror(errno)));
  FdCloser closer(fd);
  return read_fd_capped(fd, path, max_bytes);
}

}  // namespace kmslab::config
