// Helpers shared by tests of several folders: temporary directories, file I/O, and an assertion that a
// call throws moss::Error whose message contains given text.
#pragma once
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "util/error.h"

namespace moss::test {

// The formats tests' fixtures.
inline std::string fixture_dir() { return std::string(MOSS_FIXTURE_DIR) + "/formats"; }

// A fresh directory under the system temp dir, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    static int counter = 0;
    path_ = std::filesystem::temp_directory_path() /
            ("moss_formats_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string path(const std::string& name = "") const { return name.empty() ? path_.string() : (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace moss::test

// EXPECT that `stmt` throws moss::Error with a message containing `substr`.
#define EXPECT_MOSS_ERROR(stmt, substr)                                                   \
  do {                                                                                    \
    try {                                                                                 \
      stmt;                                                                               \
      ADD_FAILURE() << "expected moss::Error containing \"" << (substr) << "\"";          \
    } catch (const moss::Error& e) {                                                      \
      EXPECT_THAT(std::string(e.what()), ::testing::HasSubstr(substr));                   \
    }                                                                                     \
  } while (0)
