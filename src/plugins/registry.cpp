// See registry.h.
#include "plugins/registry.h"

namespace moss {

void PluginRegistry::add(std::unique_ptr<Plugin> plugin) {
  if (!plugin) return;
  std::string name = plugin->api_name();
  plugins_[name] = std::move(plugin);
}

Plugin* PluginRegistry::find(const std::string& api_name) const {
  auto it = plugins_.find(api_name);
  return it == plugins_.end() ? nullptr : it->second.get();
}

std::vector<std::string> PluginRegistry::names() const {
  std::vector<std::string> v;
  for (const auto& [name, p] : plugins_) v.push_back(name);
  return v;
}

PluginRegistry default_plugin_registry() {
  PluginRegistry r;
  r.add(make_calculator_plugin());
  r.add(make_solver_plugin());
  return r;
}

}  // namespace moss
