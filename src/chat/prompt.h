// The MOSS conversation format (spec 4.1, 5, 7.1): the meta instruction built from the enabled
// plugins, and the text of one turn in the five-field plugin layout or the two-field Human/MOSS
// layout of the plain sft model. Everything here is plain text; conversation.cpp turns it into
// tokens with the end markers inserted as special tokens by the program.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace moss {

// Which plugin lines of the meta instruction say "enabled" (spec 5). Image edition and
// text-to-speech are never enabled in the data and have no executor, so they are not options.
struct PluginSet {
  bool inner_thoughts = false;
  bool search = false;
  bool calculator = false;
  bool solver = false;
  bool text2image = false;

  bool any_tool() const { return search || calculator || solver || text2image; }
  // Whether the Commands API name ("Search", "Calculate", "Solve", "Text2Image") is enabled.
  bool enables(std::string_view api_name) const;
  // "search,calculator" style list (names: search, calculator, solver, text2image); throws
  // moss::Error on an unknown name. Inner thoughts are switched on with any plugin list (the SFT data
  // never has plugins without inner thoughts); "none" or "" = no plugins.
  static PluginSet parse(std::string_view list);
  std::string to_string() const;  // the same list form
};

// The 10 base lines (M0, 1,025 characters), each ending with "\n".
const std::string& meta_instruction_base();
// M0 + the 7 plugin status lines in the SFT form (M2; no stray space after "Web search: disabled.").
std::string meta_instruction(const PluginSet& plugins);

enum class TurnLayout {
  FiveField,  // Human, Inner Thoughts, Commands, Results, MOSS (all SFT files; the plugin model)
  TwoField,   // Human, MOSS (how moss-moon-003-sft is prompted by the demos, spec 4.1)
};

// The <|Results|> field: "<|Results|>:\n{body}\n<eor>\n", or "<|Results|>: {body}<eor>\n" when
// inline (non-plugin "None" and Text2Image's "Image generated successfully.", spec 7.1).
struct ResultsField {
  std::string body;
  bool inline_form = false;
  std::string text() const;
};

// One finished turn, the field contents without role tags and markers.
struct Turn {
  std::string human;
  std::string inner_thoughts;
  std::string commands;
  ResultsField results;
  std::string answer;
};

// Role tags and the text between them and their markers (note the space after each colon).
inline constexpr std::string_view kHumanTag = "<|Human|>: ";
inline constexpr std::string_view kThoughtsTag = "<|Inner Thoughts|>: ";
inline constexpr std::string_view kCommandsTag = "<|Commands|>: ";
inline constexpr std::string_view kResultsTag = "<|Results|>:";
inline constexpr std::string_view kMossTag = "<|MOSS|>: ";

std::string format_turn(const Turn& turn, TurnLayout layout);

// Inverse of format_turn for the five SFT field strings (Human, Inner Thoughts, Commands,
// Tool Responses, MOSS); nullopt if a field lacks its tag or marker.
std::optional<Turn> parse_sft_turn(std::string_view human, std::string_view thoughts, std::string_view commands,
                                   std::string_view results, std::string_view moss);

}  // namespace moss
