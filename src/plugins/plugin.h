// The plugin interface (design principle 6): a plugin has an API name used in Commands lines
// ("Search", "Calculate", "Solve", "Text2Image"), a meta-instruction line, and run(argument) ->
// result. The chat loop formats results into the <|Results|> block (spec 7.2); the per-turn
// context carries what must continue across the calls of one turn (search hit numbering).
#pragma once
#include <memory>
#include <string>
#include <vector>

namespace moss {

// Per-turn state shared by the calls of one Commands line.
struct ToolTurnContext {
  int next_search_hit = 1;  // <|k|> numbering continues across the Search calls of one turn
};

// A picture a plugin saved (Text2Image): frontends show it; it is not part of the model's text.
struct ToolImage {
  std::string name;       // file name inside the plugin's output folder, e.g. "moss-...-1a2b3c.png"
  std::string path;       // full path of the saved file
  std::string mime_type;  // "image/png", "image/jpeg" or "image/webp"
};

struct ToolResult {
  // Lines after `Name("arg") =>` (Search, Solve) or the single value of Calculate; see the
  // plugin's format(). Empty lines are not allowed.
  std::vector<std::string> lines;
  bool ok = true;
  std::vector<ToolImage> images = {};  // pictures this call saved (Text2Image); empty for the others
};

class Plugin {
 public:
  virtual ~Plugin() = default;
  virtual std::string api_name() const = 0;  // "Calculate"
  // Runs the call. Never throws for bad arguments: returns the plugin's "No result." form instead.
  virtual ToolResult run(const std::string& argument, ToolTurnContext& ctx) = 0;
  // The block this call contributes to the <|Results|> body, exactly as in the SFT data, e.g.
  // `Calculate("1+1") => '2'` or `Search("q") =>\n<|1|>: 'snippet'`. It must begin with
  // `Name("argument")` when it echoes the call: chat/results.cpp inserts a second quoted argument
  // after that prefix (`Solve("eq"), "x" =>`). A turn whose calls are all successful Text2Image
  // calls is written by the chat loop as "<|Results|>: Image generated successfully.<eor>" and
  // does not use format(). Results text is tokenized as plain text (no special tokens).
  virtual std::string format(const std::string& argument, const ToolResult& result) const = 0;
};

}  // namespace moss
