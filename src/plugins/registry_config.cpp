// Builds the plugin registry the front ends use: the local tools plus the configured network ones.
#include "plugins/registry.h"
#include "plugins/search_plugin.h"
#include "plugins/text2image_plugin.h"

namespace moss {

PluginRegistry plugin_registry_from_config(const std::string& config_path, bool image_stub) {
  PluginRegistry r = default_plugin_registry();
  if (!config_path.empty()) {
    const SearchConfig sc = search_config_from_file(config_path);
    if (!sc.backend.empty()) r.add(std::make_unique<SearchPlugin>(sc));
    Text2ImageConfig tc = text2image_config_from_file(config_path);
    if (!tc.backend.empty()) r.add(std::make_unique<Text2ImagePlugin>(std::move(tc)));
  }
  if (image_stub && r.find("Text2Image") == nullptr) r.add(make_text2image_stub_plugin());
  return r;
}

}  // namespace moss
