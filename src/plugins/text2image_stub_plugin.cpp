// A Text2Image plugin that generates nothing and reports success in the SFT data's words. The chat
// loop renders a turn whose calls are all successful Text2Image calls as the single-line block
// "<|Results|>: Image generated successfully.<eor>\n" (spec 7.6).
#include "plugins/registry.h"

namespace moss {
namespace {

class Text2ImageStub : public Plugin {
 public:
  std::string api_name() const override { return "Text2Image"; }
  ToolResult run(const std::string&, ToolTurnContext&) override { return {{"Image generated successfully."}, true}; }
  std::string format(const std::string& argument, const ToolResult& result) const override {
    return "Text2Image(\"" + argument + "\") => '" + (result.lines.empty() ? std::string() : result.lines[0]) + "'";
  }
};

}  // namespace

std::unique_ptr<Plugin> make_text2image_stub_plugin() { return std::make_unique<Text2ImageStub>(); }

}  // namespace moss
