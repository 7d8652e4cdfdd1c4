// open_model: picks the reader from what is at the path (a folder is a Hugging Face checkpoint, a
// file must be GGUF).
#include <sys/stat.h>

#include <cstdio>
#include <cstring>

#include "formats/gguf.h"
#include "formats/hf_folder.h"
#include "util/error.h"

namespace moss {

ModelFile open_model(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) fail("cannot open model ", path, ": ", std::strerror(errno));
  if (S_ISDIR(st.st_mode)) return open_hf_folder(path);
  unsigned char head[4] = {};
  size_t got = 0;
  if (FILE* f = std::fopen(path.c_str(), "rb")) {
    got = std::fread(head, 1, 4, f);
    std::fclose(f);
  } else {
    fail("cannot open model ", path, ": ", std::strerror(errno));
  }
  if (got == 4 && std::memcmp(head, "GGUF", 4) == 0) return read_gguf(path);
  if (got == 4 && std::memcmp(head, "PK\x03\x04", 4) == 0)
    fail(path, " is a PyTorch checkpoint; open the Hugging Face folder that holds it (with config.json) instead");
  fail(path, " is neither a GGUF file nor a Hugging Face model folder");
}

}  // namespace moss
