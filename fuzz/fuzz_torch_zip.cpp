// Fuzz target: PyTorch zip checkpoints (ZIP directory + restricted unpickler) from arbitrary
// bytes: in-bounds views or moss::Error. Also feeds the bytes straight to the unpickler, so the
// pickle interpreter is fuzzed without having to discover a valid zip first.
#include "formats/pickle.h"
#include "formats/torch_zip.h"
#include "fuzz_util.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  moss::TensorSet ts;
  try {
    moss::parse_torch_zip(data, size, "fuzz.bin", ts);
    moss::fuzz::touch(ts);
  } catch (const moss::Error&) {
  }
  try {
    moss::unpickle_state_dict(data, size, "fuzz.pkl");
  } catch (const moss::Error&) {
  }
  return 0;
}
