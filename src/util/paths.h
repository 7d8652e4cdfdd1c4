// Finding the project's own folders at run time: files that lie beside a checkout (shared/data,
// the built web UI) rather than in the install.
#pragma once
#include <string>

namespace moss {

// The nearest folder named `relative` under an ancestor of the working directory or of the running
// executable (e.g. "shared/data/gpt2-bpe", which lies beside a checkout, not in it); the
// MOSS_SHARED_DIR environment variable, if set, is tried first for paths starting with "shared/".
// Empty if there is none.
std::string find_beside_checkout(const std::string& relative);

}  // namespace moss
