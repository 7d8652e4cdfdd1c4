// CommandsAutomaton: a hand-written DFA. The state packs a phase, a position within the current
// literal (or the argument length), the set of names still possible while a name is being read, and
// the number of calls completed so far.
#include "generate/commands_automaton.h"

#include "util/error.h"

namespace moss {

namespace {
enum Phase : uint64_t {
  kLeadingSpace = 0,  // expecting the single space after "<|Commands|>:"
  kFirst,             // start of " None" or of the first call's name
  kNone,              // inside "None" (pos = bytes of "None" matched)
  kName,              // inside a call name (pos = bytes matched, mask = candidate names)
  kOpen,              // after the name: expecting "(\"" (pos = bytes matched)
  kArg,               // inside the argument (pos = argument bytes so far)
  kClose,             // after the closing quote: expecting ")"
  kAfterCall,         // a call is complete: ", " or the end
  kSeparator,         // after ",": expecting " "
  kDone,              // " None" complete
};

// Layout: phase 4 bits | pos 16 bits | name mask 8 bits | calls 8 bits.
constexpr uint64_t pack(uint64_t phase, uint64_t pos, uint64_t mask, uint64_t calls) {
  return phase | pos << 4 | mask << 20 | calls << 28;
}
constexpr uint64_t phase_of(uint64_t s) { return s & 0xf; }
constexpr uint64_t pos_of(uint64_t s) { return (s >> 4) & 0xffff; }
constexpr uint64_t mask_of(uint64_t s) { return (s >> 20) & 0xff; }
constexpr uint64_t calls_of(uint64_t s) { return (s >> 28) & 0xff; }

constexpr char kNoneText[] = "None";
constexpr char kOpenText[] = "(\"";
}  // namespace

CommandsAutomaton::CommandsAutomaton(std::vector<std::string> api_names, CommandsLimits limits)
    : names_(std::move(api_names)), limits_(limits) {
  if (names_.size() > 8) fail("at most 8 plugin names can be enabled at once");
  for (const auto& n : names_)
    if (n.empty() || n.size() > 31) fail("bad plugin API name '", n, "'");
  if (limits_.max_calls < 1 || limits_.max_calls > 255) fail("max_calls must be in 1..255");
  if (limits_.max_arg_bytes < 1 || limits_.max_arg_bytes > 65535) fail("max_arg_bytes must be in 1..65535");
  for (int b = 0x20; b < 256; ++b) arg_bytes_.set(static_cast<size_t>(b));
  arg_bytes_.reset('"');
  arg_bytes_.reset('\\');
  arg_bytes_.reset(0x7f);
}

ByteAutomaton::State CommandsAutomaton::start() const { return pack(kLeadingSpace, 0, 0, 0); }

std::optional<ByteAutomaton::State> CommandsAutomaton::step(State s, uint8_t c) const {
  const uint64_t pos = pos_of(s), calls = calls_of(s);
  auto start_name = [&](uint64_t calls_done) -> std::optional<State> {
    uint64_t mask = 0;
    for (size_t i = 0; i < names_.size(); ++i)
      if (static_cast<uint8_t>(names_[i][0]) == c) mask |= 1u << i;
    if (!mask) return std::nullopt;
    return pack(kName, 1, mask, calls_done);
  };
  switch (phase_of(s)) {
    case kLeadingSpace:
      if (c == ' ') return pack(kFirst, 0, 0, 0);
      return std::nullopt;
    case kFirst:
      if (c == 'N') return pack(kNone, 1, 0, 0);
      return start_name(0);
    case kNone:
      if (pos < 4 && c == static_cast<uint8_t>(kNoneText[pos])) return pack(pos + 1 == 4 ? kDone : kNone, pos + 1, 0, 0);
      return std::nullopt;
    case kName: {
      uint64_t mask = 0;
      bool complete_possible = false;
      for (size_t i = 0; i < names_.size(); ++i) {
        if (!(mask_of(s) & (1u << i))) continue;
        const std::string& n = names_[i];
        if (pos < n.size() && static_cast<uint8_t>(n[pos]) == c) mask |= 1u << i;
        if (pos == n.size()) complete_possible = true;
      }
      if (mask) return pack(kName, pos + 1, mask, calls);
      if (complete_possible && c == '(') return pack(kOpen, 1, 0, calls);
      return std::nullopt;
    }
    case kOpen:
      if (c == static_cast<uint8_t>(kOpenText[pos])) return pack(kArg, 0, 0, calls);
      return std::nullopt;
    case kArg:
      if (c == '"') {
        if (pos == 0) return std::nullopt;  // empty argument
        return pack(kClose, 0, 0, calls);
      }
      if (arg_bytes_.test(c) && pos < static_cast<uint64_t>(limits_.max_arg_bytes)) return pack(kArg, pos + 1, 0, calls);
      return std::nullopt;
    case kClose:
      if (c == ')') return pack(kAfterCall, 0, 0, calls + 1);
      return std::nullopt;
    case kAfterCall:
      if (c == ',' && calls < static_cast<uint64_t>(limits_.max_calls)) return pack(kSeparator, 0, 0, calls);
      return std::nullopt;
    case kSeparator:
      if (pos == 0) return c == ' ' ? std::optional<State>(pack(kSeparator, 1, 0, calls)) : std::nullopt;
      return start_name(calls);
    default:
      return std::nullopt;  // kDone: nothing may follow " None"
  }
}

bool CommandsAutomaton::accepting(State s) const {
  const uint64_t p = phase_of(s);
  return p == kDone || p == kAfterCall;
}

ByteAutomaton::FreeRun CommandsAutomaton::free_run(State s) const {
  if (phase_of(s) != kArg) return {};
  const uint64_t used = pos_of(s);
  const uint64_t room = used < static_cast<uint64_t>(limits_.max_arg_bytes) ? limits_.max_arg_bytes - used : 0;
  return {&arg_bytes_, static_cast<size_t>(room)};
}

bool CommandsAutomaton::accepts(const std::string& text) const {
  auto s = step_all(start(), text.data(), text.size());
  return s && accepting(*s);
}

}  // namespace moss
