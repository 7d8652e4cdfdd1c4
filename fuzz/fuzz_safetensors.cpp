// Fuzz target: safetensors parsing of arbitrary bytes: in-bounds views or moss::Error.
#include "formats/safetensors.h"
#include "fuzz_util.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  moss::TensorSet ts;
  try {
    moss::parse_safetensors(data, size, "fuzz.safetensors", ts);
  } catch (const moss::Error&) {
    return 0;
  }
  moss::fuzz::touch(ts);
  return 0;
}
