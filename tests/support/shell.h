// Test helper for the tests that drive the built `moss` executable (MOSS_BINARY, defined for every
// test target): runs a shell command and captures its standard output and exit code.
#pragma once
#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace moss::test {

struct ShellResult {
  int code = -1;  // exit status; -1 if the command could not run or was killed
  std::string output;
};

inline ShellResult run_shell(const std::string& command) {
  ShellResult r;
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  const int status = ::pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// `moss ARGS` (ARGS as the shell reads them), with stderr merged into the output or discarded.
inline ShellResult run_moss(const std::string& args, bool merge_stderr = true) {
  // Appended piece by piece: GCC 12 warns (-Wrestrict, a false positive) on one long + chain here.
  std::string command = "\"";
  command += MOSS_BINARY;
  command += "\" ";
  command += args;
  command += merge_stderr ? " 2>&1" : " 2>/dev/null";
  return run_shell(command);
}

}  // namespace moss::test
