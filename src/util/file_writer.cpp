// FileWriter (see file_writer.h): a temporary file written in whole aligned pieces, renamed on commit.
#include "util/file_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "util/error.h"

namespace moss {

namespace {
constexpr size_t kPiece = 8u << 20;  // a multiple of the 2 MiB huge page
}

FileWriter::FileWriter(std::string path) : path_(std::move(path)), tmp_(path_ + ".tmp." + std::to_string(::getpid())) {
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);  // less the umask, as fopen
  if (fd_ < 0) fail("cannot create ", tmp_, ": ", std::strerror(errno));
  buf_.reset(new uint8_t[kPiece]);
}

FileWriter::~FileWriter() {
  if (fd_ >= 0) {
    ::close(fd_);
    std::remove(tmp_.c_str());
  }
}

void FileWriter::flush() {
  size_t done = 0;
  while (done < used_) {
    const ssize_t n = ::write(fd_, buf_.get() + done, used_ - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("cannot write ", tmp_, ": ", n < 0 ? std::strerror(errno) : "disk full");
    done += static_cast<size_t>(n);
  }
  written_ += used_;
  used_ = 0;
}

void FileWriter::write(const void* data, size_t n) {
  if (fd_ < 0) fail("write to ", path_, " after it was committed");
  const auto* p = static_cast<const uint8_t*>(data);
  while (n > 0) {
    const size_t take = std::min(n, kPiece - used_);
    std::memcpy(buf_.get() + used_, p, take);
    used_ += take, p += take, n -= take;
    if (used_ == kPiece) flush();
  }
}

void FileWriter::pad_to(uint64_t alignment) {
  if (alignment == 0) fail("pad_to: alignment 0");
  static const uint8_t zeros[256] = {};
  uint64_t pad = (alignment - offset() % alignment) % alignment;
  while (pad > 0) {
    const size_t take = static_cast<size_t>(std::min<uint64_t>(pad, sizeof zeros));
    write(zeros, take);
    pad -= take;
  }
}

void FileWriter::commit() {
  if (fd_ < 0) fail("commit of ", path_, " twice");
  flush();
  const int fd = fd_;
  fd_ = -1;
  // On disk before the rename: otherwise a crash soon after could leave the final name on an empty
  // or partial file (the rename's metadata may reach the disk before the data).
  if (::fdatasync(fd) != 0 && errno != EINVAL) {  // EINVAL: a file system without sync (nothing to wait for)
    const int e = errno;
    ::close(fd);
    std::remove(tmp_.c_str());
    fail("cannot write ", tmp_, " to disk: ", std::strerror(e));
  }
  if (::close(fd) != 0) {
    const int e = errno;
    std::remove(tmp_.c_str());
    fail("cannot write ", tmp_, ": ", std::strerror(e));
  }
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    const int e = errno;
    std::remove(tmp_.c_str());
    fail("cannot rename ", tmp_, " to ", path_, ": ", std::strerror(e));
  }
}

}  // namespace moss
