// read_file_capped: the size cap every file input shares, on regular files, endless devices and FIFOs.
#include "kmslab/config/file_input.hpp"

#include <gtest/gtest.h>

#include "fifo_feeder.hpp"

#include <cstdio>
#include <string>

#include <unistd.h>

namespace kmslab::config {
namespace {

bool says(const ConfigError& e, std::string_view text) { return e.format().find(text) != std::string::npos; }

std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  EXPECT_NE(f, nullptr);
  std::fwrite(text.data(), 1, text.size(), f);
  std::fclose(f);
  return path;
}

TEST(FileInput, ReadsAFileWithinTheCap) {
  const std::string path = write_temp("small.txt", "hello\n");
  auto r = read_file_capped(path, 6);
  ASSERT_TRUE(r) << r.error().format();
  EXPECT_EQ(*r, "hello\n");
  auto empty = read_file_capped(write_temp("empty.txt", ""), 6);
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
}

TEST(FileInput, ARegularFileOverTheCapIsRefused) {
  const std::string path = write_temp("big.txt", std::string(7, 'x'));
  auto r = read_file_capped(path, 6);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().format(), path + ": larger than the 6-byte limit");
}

TEST(FileInput, MissingFileAndDirectoryAreErrors) {
  auto missing = read_file_capped(::testing::TempDir() + "/no-such-file", 100);
  ASSERT_FALSE(missing);
  EXPECT_TRUE(says(missing.error(), "cannot open: No such file or directory")) << missing.error().format();
  auto dir = read_file_capped(::testing::TempDir(), 100);
  ASSERT_FALSE(dir);
  EXPECT_TRUE(says(dir.error(), "is a directory")) << dir.error().format();
}

TEST(FileInput, DevZeroStopsAtTheCap) {
  auto r = read_file_capped("/dev/zero", 1 << 20);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().format(), "/dev/zero: larger than the 1048576-byte limit");
}

TEST(FileInput, AFifoIsReadOnlyUpToTheCap) {
  const std::string path = ::testing::TempDir() + "/input.fifo";
  {
    test::FifoFeeder feeder(path, std::size_t{64} << 20);  // far past the cap; bounded
    ASSERT_TRUE(feeder.ok());
    auto r = read_file_capped(path, 1 << 20);
    ASSERT_FALSE(r);
    EXPECT_TRUE(says(r.error(), "larger than the 1048576-byte limit")) << r.error().format();
  }
  test::FifoFeeder small(path, 1000);
  ASSERT_TRUE(small.ok());
  auto ok = read_file_capped(path, 1 << 20);
  ASSERT_TRUE(ok) << ok.error().format();
  EXPECT_EQ(ok->size(), 1000u);
}

TEST(FileInput, ADescriptorIsNamedAsGiven) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ASSERT_EQ(::write(fds[1], "abcdef", 6), 6);
  ::close(fds[1]);
  auto r = read_fd_capped(fds[0], "<stdin>", 5);
  ::close(fds[0]);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().format(), "<stdin>: larger than the 5-byte limit");
}

}  // namespace
}  // namespace kmslab::config
