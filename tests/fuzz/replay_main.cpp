// Corpus replay without libFuzzer: a plain main() that feeds files to LLVMFuzzerTestOneInput.
//
// GCC builds link each fuzz target's source with this file instead of -fsanitize=fuzzer, and
// ctest runs it over the target's seed corpus and its regression directory, so every input that
// ever crashed a parser is rerun by every ordinary (and asan) build. Arguments are files or
// directories; a directory contributes its regular files (not recursively, dotfiles skipped),
// in name order so a failure reproduces in the same sequence. Each input's path is printed before
// it runs: when a property check aborts, the last line names the culprit.
// Exit status: 0 when every input ran, 1 when no input was found (a missing corpus must not pass
// silently), 2 when a file cannot be read. A crash or property violation aborts the process.
#include "fuzz_target.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

bool read_file(const fs::path& path, std::vector<std::uint8_t>& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return !in.bad();
}

std::vector<fs::path> inputs_of(const fs::path& arg) {
  std::vector<fs::path> files;
  std::error_code ec;
  if (fs::is_directory(arg, ec)) {
    for (const auto& entry : fs::directory_iterator(arg, ec)) {
      const std::string name = entry.path().filename().string();
      if (!name.empty() && name.front() != '.' && entry.is_regular_file(ec))
        files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
  } else {
    files.push_back(arg);
  }
  return files;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t replayed = 0;
  std::vector<std::uint8_t> data;
  for (int i = 1; i < argc; ++i) {
    for (const auto& path : inputs_of(argv[i])) {
      if (!read_file(path, data)) {
        std::cerr << "replay: cannot read " << path.string() << '\n';
        return 2;
      }
      std::cerr << "replay: " << path.string() << " (" << data.size() << " bytes)" << std::endl;
      // A copy of exactly the input's size, so ASan sees any read past its end.
      std::vector<std::uint8_t> exact(data.begin(), data.end());
      LLVMFuzzerTestOneInput(exact.data(), exact.size());
      ++replayed;
    }
  }
  if (replayed == 0) {
    std::cerr << "replay: no inputs found in the given paths\n";
    return 1;
  }
  std::cerr << "replay: " << replayed << " input" << (replayed == 1 ? "" : "s") << " passed\n";
  return 0;
}
