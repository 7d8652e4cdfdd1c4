// Text-to-image plugin: HTTP backends, base64 decoding, saving the picture (see the header).
#include "plugins/text2image_plugin.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <random>

#include "plugins/http_client_json.h"
#include "plugins/py_repr.h"
#include "util/error.h"

namespace fs = std::filesystem;

namespace moss {
namespace {

using nlohmann::json;

const char* image_extension(const std::vector<uint8_t>& b) {
  static const uint8_t kPng[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  if (b.size() >= 8 && std::equal(kPng, kPng + 8, b.begin())) return ".png";
  if (b.size() >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return ".jpg";
  if (b.size() >= 12 && std::equal(b.begin(), b.begin() + 4, "RIFF") &&
      std::equal(b.begin() + 8, b.begin() + 12, "WEBP")) {
    return ".webp";
  }
  return nullptr;
}

// A file-name-safe summary of the prompt: lowercase ASCII letters and digits, other runs -> '-'.
std::string slug(const std::string& prompt) {
  std::string s;
  for (unsigned char c : prompt) {
    if (s.size() >= 40) break;
    if (std::isalnum(c) && c < 0x80) {
      s += static_cast<char>(std::tolower(c));
    } else if (!s.empty() && s.back() != '-') {
      s += '-';
    }
  }
  while (!s.empty() && s.back() == '-') s.pop_back();
  return s.empty() ? "image" : s;
}

}  // namespace

std::string image_mime_type(const std::vector<uint8_t>& bytes) {
  const char* ext = image_extension(bytes);
  if (!ext) return "";
  const std::string e = ext;
  return e == ".png" ? "image/png" : e == ".jpg" ? "image/jpeg" : "image/webp";
}

ToolImage save_generated_image(const std::string& dir, const std::string& prompt, const std::vector<uint8_t>& image) {
  const char* ext = image_extension(image);
  if (!ext) fail("not a PNG, JPEG or WebP image");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail("cannot create ", dir, ": ", ec.message());
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
  std::random_device rd;
  for (int attempt = 0; attempt < 8; ++attempt) {
    char rnd[16];
    std::snprintf(rnd, sizeof rnd, "%06x", rd() & 0xFFFFFF);
    const std::string name = "moss-" + std::string(stamp) + "-" + slug(prompt) + "-" + rnd + ext;
    const fs::path path = fs::path(dir) / name;
    // "x": fail if the file exists, so nothing is ever overwritten.
    std::FILE* f = std::fopen(path.c_str(), "wbx");
    if (!f) continue;
    const size_t n = std::fwrite(image.data(), 1, image.size(), f);
    const bool ok = std::fclose(f) == 0 && n == image.size();
    if (!ok) {
      fs::remove(path, ec);
      fail("cannot write ", path.string());
    }
    return ToolImage{name, path.string(), image_mime_type(image)};
  }
  fail("cannot create a new file in ", dir);
}

std::vector<uint8_t> base64_decode(std::string_view text) {
  const size_t comma = text.find(',');
  if (text.rfind("data:", 0) == 0 && comma != std::string_view::npos) text.remove_prefix(comma + 1);
  std::vector<uint8_t> out;
  out.reserve(text.size() / 4 * 3);
  uint32_t acc = 0;
  int bits = 0, pad = 0;
  size_t count = 0;
  for (char ch : text) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '+') v = 62;
    else if (c == '/') v = 63;
    else if (c == '=') {
      ++pad;
      ++count;
      continue;
    } else {
      fail("base64: invalid character 0x", std::to_string(c), " at data position ", count);
    }
    if (pad) fail("base64: data after '=' padding");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    ++count;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<uint8_t>((acc >> bits) & 0xFF));
    }
  }
  if (pad > 2 || (pad && count % 4 != 0) || (count - pad) % 4 == 1) {
    fail("base64: bad length or padding");
  }
  return out;
}

Text2ImageConfig text2image_config_from_json(std::string_view text) {
  using namespace config;
  const std::string what = "text2image config";
  const auto obj = parse_object(text, what);
  check_keys(obj, what, {"backend", "base_url", "api_key", "model", "width", "height", "steps",
                         "output_dir"});
  Text2ImageConfig c;
  c.backend = get_string(obj, "backend", what, "");
  c.base_url = get_string(obj, "base_url", what, "");
  c.api_key = resolve_secret(get_string(obj, "api_key", what, ""));
  c.model = get_string(obj, "model", what, "");
  c.width = static_cast<int>(get_int(obj, "width", what, c.width, 64, 4096));
  c.height = static_cast<int>(get_int(obj, "height", what, c.height, 64, 4096));
  c.steps = static_cast<int>(get_int(obj, "steps", what, c.steps, 1, 500));
  c.output_dir = get_string(obj, "output_dir", what, c.output_dir);
  read_http_options(obj, what, c.http);
  return c;
}

Text2ImageConfig text2image_config_from_file(const std::string& path) {
  const std::string section = config::file_section(path, "text2image");
  return section.empty() ? Text2ImageConfig{} : text2image_config_from_json(section);
}

Text2ImagePlugin::Text2ImagePlugin(Text2ImageConfig config)
    : config_(std::move(config)), client_(config_.http) {
  const std::string& b = config_.backend;
  if (!b.empty() && b != "automatic1111" && b != "openai") {
    fail("text2image: unknown backend \"", b, "\" (expected automatic1111 or openai)");
  }
  if (!b.empty() && config_.base_url.empty()) fail("text2image: base_url is not set");
  if (!b.empty() && config_.output_dir.empty()) fail("text2image: output_dir is not set");
  while (!config_.base_url.empty() && config_.base_url.back() == '/') config_.base_url.pop_back();
}

std::vector<uint8_t> Text2ImagePlugin::generate(const std::string& prompt) const {
  std::string b64;
  if (config_.backend == "automatic1111") {
    const json req = {{"prompt", prompt},
                      {"steps", config_.steps},
                      {"width", config_.width},
                      {"height", config_.height}};
    const HttpResponse resp = client_.post_json(config_.base_url + "/sdapi/v1/txt2img",
                                                req.dump(-1, ' ', false, json::error_handler_t::replace));
    const json doc = json::parse(resp.body, nullptr, false);
    if (doc.is_discarded()) fail("the reply is not valid JSON");
    if (!doc.is_object() || !doc.contains("images") || !doc["images"].is_array() ||
        doc["images"].empty() || !doc["images"][0].is_string()) {
      fail("the reply has no images[0] string");
    }
    b64 = doc["images"][0].get<std::string>();
  } else {
    json req = {{"prompt", prompt},
                {"n", 1},
                {"size", std::to_string(config_.width) + "x" + std::to_string(config_.height)},
                {"response_format", "b64_json"}};
    if (!config_.model.empty()) req["model"] = config_.model;
    HttpHeaders headers;
    if (!config_.api_key.empty()) headers.emplace_back("Authorization", "Bearer " + config_.api_key);
    const HttpResponse resp =
        client_.post_json(config_.base_url + "/v1/images/generations",
                          req.dump(-1, ' ', false, json::error_handler_t::replace), headers);
    const json doc = json::parse(resp.body, nullptr, false);
    if (doc.is_discarded()) fail("the reply is not valid JSON");
    if (!doc.is_object() || !doc.contains("data") || !doc["data"].is_array() ||
        doc["data"].empty() || !doc["data"][0].is_object() ||
        !doc["data"][0].contains("b64_json") || !doc["data"][0]["b64_json"].is_string()) {
      fail("the reply has no data[0].b64_json string");
    }
    b64 = doc["data"][0]["b64_json"].get<std::string>();
  }
  std::vector<uint8_t> image = base64_decode(b64);
  if (!image_extension(image)) fail("the service returned data that is not a PNG, JPEG or WebP image");
  return image;
}

ToolResult Text2ImagePlugin::run(const std::string& argument, ToolTurnContext&) {
  ToolResult result;
  if (!configured()) {
    result.ok = false;
    result.lines = {"Image generation failed: no text-to-image backend is configured."};
    return result;
  }
  try {
    ToolImage saved = save_generated_image(config_.output_dir, argument, generate(argument));
    {
      std::lock_guard lock(mu_);
      last_path_ = saved.path;
    }
    result.lines = {"Image generated successfully."};
    result.images.push_back(std::move(saved));
  } catch (const std::exception& e) {
    std::string why = e.what();
    for (char& c : why) {
      if (c == '\n' || c == '\r' || c == '<') c = ' ';  // one line, no markers
    }
    result.ok = false;
    result.lines = {"Image generation failed: " + why + "."};
  }
  return result;
}

std::string Text2ImagePlugin::format(const std::string& argument, const ToolResult& result) const {
  // Only used when the turn is not all-successful Text2Image calls (the chat loop writes those as
  // the data's single line). Echo the call like the other tools, the outcome quoted like
  // Calculate's value, matching the registry's offline stub.
  std::string line;
  for (const std::string& l : result.lines) line += (line.empty() ? "" : " ") + l;
  return "Text2Image(\"" + argument + "\") => " + py_repr(line);
}

std::string Text2ImagePlugin::last_image_path() const {
  std::lock_guard lock(mu_);
  return last_path_;
}

}  // namespace moss
