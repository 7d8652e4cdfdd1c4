// Parser for the text the model writes between "<|Commands|>: " and "<eoc>" (spec 4.9 step 3,
// 7.2, 7.7). It accepts every form found in the 500 plugin conversations and never throws:
//   * `Name("arg")` calls separated by ", ", ", \n", newlines, or in a numbered list with trailing
//     "# comments"; a trailing "," or stray text after a call (`Calculate("…") = 0`) is ignored;
//   * "None" and its variants ("None.", "Non", "None (…)", "None. " + a worked answer) = no call;
//     a "None" item inside a list of calls is skipped;
//   * an unknown tool name is still a call (the loop answers it with "unknown tool");
//   * a second quoted argument (`Solve("eq", "x")`) is kept in extra_args;
//   * an argument that is not a single quoted string (a Python expression such as
//     `"("+ str(2) + ")"`) or a call without its closing parenthesis is a call marked malformed.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace moss {

struct ParsedCall {
  std::string name;                     // "Calculate", or whatever identifier preceded "("
  std::string argument;                 // contents of the first quoted argument
  std::vector<std::string> extra_args;  // further quoted arguments, e.g. "x" in Solve("…", "x")
  std::string raw;                      // the call's text as written
  bool malformed = false;               // argument not a quoted string / no closing ")"
  // How the call is echoed in the Results block: `Name("arg")`, plus `, "x"` per extra argument
  // (spec 7.2: `Solve("2x+3x+4x=30"), "x" =>`); malformed calls echo their raw text.
  std::string echo() const;
};

struct ParsedCommands {
  std::vector<ParsedCall> calls;
  bool none = false;           // the whole line is a None form (no calls)
  bool none_in_list = false;   // a bare "None" item appeared beside calls
  bool stray_text = false;     // text that was neither a call, a separator, a list number nor a comment
};

ParsedCommands parse_commands(std::string_view text);

}  // namespace moss
