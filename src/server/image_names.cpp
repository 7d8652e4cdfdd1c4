// Image file names of records: strict validation (they become file paths), MIME type by extension,
// and the JSON-array form stored in the records' `images` column (see store.h).
#include <filesystem>
#include <nlohmann/json.hpp>

#include "server/store.h"

namespace moss::server {

namespace {
const char* const kExtensions[][2] = {
    {".png", "image/png"}, {".jpg", "image/jpeg"}, {".jpeg", "image/jpeg"}, {".webp", "image/webp"}};
}

bool valid_image_name(const std::string& name) {
  const size_t dot = name.find('.');
  if (dot == std::string::npos || dot == 0 || dot > 160 || name.front() == '-') return false;
  for (size_t i = 0; i < dot; ++i) {
    const char c = name[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
  }
  const std::string ext = name.substr(dot);
  for (const auto& e : kExtensions)
    if (ext == e[0]) return true;
  return false;
}

std::string image_mime_for_name(const std::string& name) {
  const size_t dot = name.find('.');
  const std::string ext = dot == std::string::npos ? "" : name.substr(dot);
  for (const auto& e : kExtensions)
    if (ext == e[0]) return e[1];
  return "application/octet-stream";
}

std::string images_to_column(const std::vector<std::string>& names) {
  return names.empty() ? std::string() : nlohmann::json(names).dump();
}

std::vector<std::string> images_from_column(const std::string& text) {
  std::vector<std::string> out;
  if (text.empty()) return out;
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_array()) return out;  // not written by us: shows no images rather than failing the read
  for (const auto& v : j)
    if (v.is_string() && valid_image_name(v.get<std::string>())) out.push_back(v.get<std::string>());
  return out;
}

void remove_unreferenced_images(Store& store, int64_t user_id, const std::string& dir,
                                const std::vector<std::string>& names) {
  if (dir.empty()) return;
  for (const std::string& name : names) {
    if (!valid_image_name(name) || store.user_has_image(user_id, name)) continue;
    std::error_code ec;  // already gone, or not removable: nothing to undo, the records are consistent
    std::filesystem::remove(std::filesystem::path(dir) / name, ec);
  }
}

}  // namespace moss::server
