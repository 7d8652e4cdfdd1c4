// Placeholder until the Hugging Face importer lands.
#include "formats/hf_folder.h"

#include "util/error.h"

namespace moss {
ModelFile open_hf_folder(const std::string& dir) { fail(dir, ": Hugging Face folders are not supported yet"); }
}  // namespace moss
