// Where a listener's bearer token comes from. A token on the command line is visible to every
// user in `ps`, so a file and an environment variable are offered too; whether the token is good
// enough is net::check_listener_token's rule, applied when the listener starts.
#include "commands.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

namespace kmslab::cli {

namespace {

// result<string, string> cannot tell a token from an error by type alone: say which.
boost::system::result<std::string, std::string> token_error(std::string message) {
  return {boost::system::in_place_error, std::move(message)};
}
boost::system::result<std::string, std::string> token_value(std::string token) {
  return {boost::system::in_place_value, std::move(token)};
}

}  // namespace

boost::system::result<std::string, std::string> resolve_listener_token(const ListenerTokenSources& from) {
  if (!from.value.empty() && !from.file.empty())
    return token_error(fmt::format("give {} or {}, not both", from.value_option, from.file_option));
  if (!from.value.empty()) return token_value(from.value);
  if (!from.file.empty()) {
    constexpr std::size_t kMaxTokenFileBytes = 4096;
    std::ifstream in(from.file, std::ios::binary);
    if (!in)
      return token_error(fmt::format("{} {}: cannot open: {}", from.file_option, from.file, std::strerror(errno)));
    std::string text(kMaxTokenFileBytes + 1, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxTokenFileBytes)
      return token_error(fmt::format("{} {}: larger than {} bytes; expected one line holding the token",
                                     from.file_option, from.file, kMaxTokenFileBytes));
    // The line end an editor or `echo` adds is not part of the token; anything else is.
    if (text.ends_with('\n')) text.pop_back();
    if (text.ends_with('\r')) text.pop_back();
    if (text.empty())
      return token_error(fmt::format("{} {}: the file is empty; expected the token", from.file_option, from.file));
    return token_value(std::move(text));
  }
  if (const char* env = std::getenv(from.env_variable.c_str()); env != nullptr && *env != '\0') return token_value(env);
  return token_value({});
}

}  // namespace kmslab::cli
