// Fuzz target: GGUF parsing of arbitrary bytes must either succeed with in-bounds views or throw
// moss::Error. Successfully parsed inputs are written back and re-read (writer/reader agreement).
#include <unistd.h>

#include <cstdio>
#include <string>

#include "formats/gguf.h"
#include "fuzz_util.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  moss::ModelFile m;
  try {
    moss::parse_gguf(data, size, "fuzz.gguf", m.meta, m.tensors);
  } catch (const moss::Error&) {
    return 0;
  }
  moss::fuzz::touch(m.tensors);
  // Re-encode as f32 (quantized tensors kept as they are) and parse the result: must succeed.
  static const std::string path = "/tmp/moss_fuzz_gguf_" + std::to_string(::getpid()) + ".gguf";
  try {
    moss::write_gguf(path, m, moss::DType::F32);
  } catch (const moss::Error&) {
    return 0;  // e.g. a tensor the writer refuses (a 0-d name too long is impossible here, types are)
  }
  moss::ModelFile back = moss::read_gguf(path);  // must not throw
  if (back.tensors.size() != m.tensors.size()) __builtin_trap();
  std::remove(path.c_str());
  return 0;
}
