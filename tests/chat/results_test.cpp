// The Results field on the 500 plugin conversations: "None" turns and Text2Image turns must be
// reproduced byte for byte; Search turns with a stand-in search plugin that returns the data's own
// snippets (this checks the block layout and the <|k|> numbering across calls, not the search);
// Calculate/Solve turns with the real calculator and solver, counting the turns whose whole
// Results field is reproduced.
#include "chat/results.h"

#include <gtest/gtest.h>

#include <map>

#include "sft_data.h"

namespace moss {
namespace {

std::string strip(const std::string& field, size_t head, size_t tail) {
  return field.substr(head, field.size() - head - tail);
}

// Search that answers from a table: query -> snippets (the text after "<|k|>: ").
class TableSearch : public Plugin {
 public:
  std::map<std::string, std::vector<std::string>> table;
  std::string api_name() const override { return "Search"; }
  ToolResult run(const std::string& q, ToolTurnContext& ctx) override {
    ToolResult r;
    auto it = table.find(q);
    if (it == table.end()) return {{"No results."}, false};
    for (const auto& s : it->second) r.lines.push_back("<|" + std::to_string(ctx.next_search_hit++) + "|>: " + s);
    return r;
  }
  std::string format(const std::string& q, const ToolResult& r) const override {
    std::string s = "Search(\"" + q + "\") =>";
    for (const auto& l : r.lines) s += "\n" + l;
    return s;
  }
};

// Reads the Search blocks of a Results body into the table.
void learn_search_hits(const std::string& body, TableSearch& search) {
  std::string query;
  size_t i = 0;
  while (i <= body.size()) {
    size_t j = body.find('\n', i);
    if (j == std::string::npos) j = body.size();
    const std::string line = body.substr(i, j - i);
    if (line.starts_with("Search(\"") && line.ends_with("\") =>")) {
      query = line.substr(8, line.size() - 8 - 5);
      search.table[query];
    } else if (!query.empty() && line.starts_with("<|")) {
      const size_t colon = line.find("|>: ");
      if (colon != std::string::npos) search.table[query].push_back(line.substr(colon + 4));
    } else {
      query.clear();
    }
    i = j + 1;
  }
}

PluginSet plugins_of(const std::string& meta) {
  PluginSet p;
  p.inner_thoughts = meta.find("- Inner thoughts: enabled.") != std::string::npos;
  p.search = meta.find("- Web search: enabled.") != std::string::npos;
  p.calculator = meta.find("- Calculator: enabled.") != std::string::npos;
  p.solver = meta.find("- Equation solver: enabled.") != std::string::npos;
  p.text2image = meta.find("- Text-to-image: enabled.") != std::string::npos;
  return p;
}

TEST(Results, PluginConversations) {
  PluginRegistry reg;
  auto search_owned = std::make_unique<TableSearch>();
  TableSearch* search = search_owned.get();
  reg.add(std::move(search_owned));
  reg.add(make_text2image_stub_plugin());
  reg.add(make_calculator_plugin());
  reg.add(make_solver_plugin());

  size_t none_turns = 0, image_turns = 0, search_turns = 0, search_ok = 0;
  size_t tool_turns = 0, tool_ok = 0, tool_blocks = 0, tool_blocks_ok = 0, checked_whole = 0, reordered = 0;
  for (const auto& c : test::sft_conversations()) {
    if (!c.plugin) continue;
    const PluginSet enabled = plugins_of(c.json["meta_instruction"]);
    for (const auto& t : test::sft_turns(c.json)) {
      const std::string commands = strip(t["Commands"], 14, 6);
      const std::string want = t["Tool Responses"];
      const ParsedCommands pc = parse_commands(commands);
      search->table.clear();
      if (want.starts_with("<|Results|>:\n")) learn_search_hits(strip(want, 13, 7), *search);
      const ResultsOutcome r = run_commands(pc, enabled, reg);
      const std::string got = r.field.text();
      bool has_search = false, has_tool = false, only_known = true;
      for (const auto& call : pc.calls) {
        has_search |= call.name == "Search";
        has_tool |= call.name == "Calculate" || call.name == "Solve";
        only_known &= !call.malformed && enabled.enables(call.name);
      }
      if (pc.calls.empty()) {
        ++none_turns;
        EXPECT_EQ(got, want) << commands;
      } else if (pc.calls[0].name == "Text2Image") {
        ++image_turns;
        EXPECT_EQ(got, want) << commands;
      } else if (has_search && !has_tool) {
        ++search_turns;
        search_ok += got == want;
        if (got != want) std::printf("search turn not reproduced: %s\n", commands.c_str());
      } else if (has_tool) {
        ++tool_turns;
        tool_ok += got == want;
        // Per block: the data's blocks are the body's lines grouped by call echo.
        bool all_blocks = true, in_order = true;
        size_t last_pos = 0;
        for (const auto& o : r.calls) {
          const size_t pos = want.find("\n" + o.block + "\n");
          const bool found = pos != std::string::npos;
          all_blocks &= found;
          if (found) {
            in_order &= pos >= last_pos;
            last_pos = pos;
          }
          if (o.call.name != "Calculate" && o.call.name != "Solve") continue;
          ++tool_blocks;
          tool_blocks_ok += found;
        }
        // Where the tools reproduce every value of the turn, the whole field must match, except in
        // the 3 mix turns whose data lists the blocks out of command order (SSCCS -> SSSCC,
        // SSCSSC -> SSSSCC, SCC -> CCS: no consistent rule, so we keep command order, spec 7.2).
        if (all_blocks && in_order) {
          EXPECT_EQ(got, want) << commands;
          ++checked_whole;
        }
        reordered += all_blocks && !in_order;
      }
    }
  }
  EXPECT_EQ(none_turns, 49u);
  EXPECT_EQ(image_turns, 100u);
  // Search-only turns: all but one, the turn with the unknown Count("…") call, where the data
  // silently drops the call and we answer it with an "Unknown tool" line.
  std::printf("search-only turns reproduced: %zu / %zu\n", search_ok, search_turns);
  EXPECT_EQ(search_ok + 1, search_turns);
  std::printf("calculator/solver turns: %zu / %zu whole Results fields reproduced (%zu with every value "
              "reproduced, %zu of those listed out of order in the data); Calculate/Solve blocks %zu / %zu\n",
              tool_ok, tool_turns, checked_whole + reordered, reordered, tool_blocks_ok, tool_blocks);
  EXPECT_LE(reordered, 3u);
  // Regression floor, the count measured when this test was written (the rest differ in value:
  // the data's unquoted "No calculation results.", solver cases SymPy handles differently, ...).
  EXPECT_GE(tool_ok, 337u);
}

TEST(Results, RefusalsAndLayout) {
  PluginRegistry reg;
  reg.add(make_text2image_stub_plugin());
  PluginSet p = PluginSet::parse("text2image");
  auto r = run_commands(parse_commands(R"x(Count("x"), Search("q"), Text2Image("a cat"), Calculate(1+1))x"), p, reg);
  EXPECT_EQ(r.field.text(),
            "<|Results|>:\n"
            "Count(\"x\") => 'Unknown tool Count.'\n"
            "Search(\"q\") => 'Search is not enabled.'\n"
            "Text2Image(\"a cat\") => 'Image generated successfully.'\n"
            "Calculate(1+1) => 'Malformed command.'\n<eor>\n");
  ASSERT_EQ(r.calls.size(), 4u);
  EXPECT_EQ(r.calls[0].status, CallStatus::Unknown);
  EXPECT_EQ(r.calls[1].status, CallStatus::Disabled);
  EXPECT_EQ(r.calls[2].status, CallStatus::Ok);
  EXPECT_EQ(r.calls[3].status, CallStatus::Malformed);

  p.search = true;  // enabled but nothing registered
  r = run_commands(parse_commands(R"x(Search("q"))x"), p, reg);
  EXPECT_EQ(r.field.text(), "<|Results|>:\nSearch(\"q\") => 'Search is not available.'\n<eor>\n");
  r = run_commands(parse_commands(R"x(Text2Image("a cat"))x"), p, reg);
  EXPECT_EQ(r.field.text(), "<|Results|>: Image generated successfully.<eor>\n");
  r = run_commands(parse_commands("None."), p, reg);
  EXPECT_EQ(r.field.text(), "<|Results|>:\nNone\n<eor>\n");
}

}  // namespace
}  // namespace moss
