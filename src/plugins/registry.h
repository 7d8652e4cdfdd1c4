// The set of plugin executors available to the chat loop, looked up by Commands API name
// ("Search", "Calculate", "Solve", "Text2Image"). Which of them a conversation may use is decided
// by its meta instruction (chat/prompt.h PluginSet), not here.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "plugins/plugin.h"

namespace moss {

class PluginRegistry {
 public:
  // Replaces any plugin with the same api_name(). Null is ignored.
  void add(std::unique_ptr<Plugin> plugin);
  Plugin* find(const std::string& api_name) const;  // nullptr if none
  std::vector<std::string> names() const;

 private:
  std::map<std::string, std::unique_ptr<Plugin>> plugins_;
};

// Adapters over the tool functions (calculator.h, solver.h).
std::unique_ptr<Plugin> make_calculator_plugin();
std::unique_ptr<Plugin> make_solver_plugin();
// Text2Image without an image backend: reports success exactly as the SFT data does
// ("Image generated successfully."), generating nothing. For tests and offline demos.
std::unique_ptr<Plugin> make_text2image_stub_plugin();

// A registry with every tool that needs no configuration (calculator, solver).
PluginRegistry default_plugin_registry();

// default_plugin_registry() plus Search and Text2Image as configured by the "search" and
// "text2image" sections of a JSON config file (docs/plugins.md; "" = none configured). Without an
// image backend, `image_stub` registers make_text2image_stub_plugin() instead. Throws moss::Error
// for an unreadable or invalid config.
PluginRegistry plugin_registry_from_config(const std::string& config_path, bool image_stub);

}  // namespace moss
