// One lock for all CLN/GiNaC work of the Calculate and Solve plugins: CLN and GiNaC keep
// reference-counted shared objects without atomic counts, so two threads must not use them at once.
#pragma once
#include <mutex>

namespace moss {

std::mutex& cln_mutex();

}  // namespace moss
