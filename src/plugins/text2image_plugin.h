// The Text2Image plugin (spec 7.6): `Text2Image("description")` asks an image service for one
// picture, saves it under a generated file name in the output folder, and yields the single result
// line the data always shows: "Image generated successfully." (the chat loop writes it as
// `<|Results|>: Image generated successfully.<eor>`); the saved file is reported in
// ToolResult::images (name, path, MIME type) so frontends can show it. Backends:
// * automatic1111: POST {base_url}/sdapi/v1/txt2img {prompt, steps, width, height}
//   -> {"images": ["<base64 PNG>", ...]}
// * openai: POST {base_url}/v1/images/generations {prompt, n: 1, size: "WxH",
//   response_format: "b64_json"[, model]} -> {"data": [{"b64_json": "..."}]}
// On failure the line is "Image generation failed: <reason>." with ok = false; run() never throws.
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "plugins/http_client.h"
#include "plugins/plugin.h"

namespace moss {

struct Text2ImageConfig {
  std::string backend;   // "" = disabled, "automatic1111", "openai"
  std::string base_url;  // e.g. http://127.0.0.1:7860 or https://api.openai.com
  std::string api_key;   // openai: sent as "Authorization: Bearer ..."; config may say "env:NAME"
  std::string model;     // openai: optional "model" field
  int width = 512, height = 512;
  int steps = 20;        // automatic1111 sampling steps
  std::string output_dir = "moss-images";  // created if missing
  HttpOptions http = [] {
    HttpOptions h;
    h.timeout_ms = 180000;  // diffusion on a busy GPU can take minutes
    return h;
  }();
};

// From the JSON object of the "text2image" section (schema in docs/plugins.md).
Text2ImageConfig text2image_config_from_json(std::string_view json_text);
// Reads the "text2image" section of a JSON config file; absent -> disabled config.
Text2ImageConfig text2image_config_from_file(const std::string& path);

// MIME type of PNG / JPEG / WebP bytes by their signature; "" for anything else.
std::string image_mime_type(const std::vector<uint8_t>& bytes);

// A Text2Image plugin for tests and demos without an image service: each call saves a small
// placeholder PNG (a 16x16 gradient) into `output_dir` under a fresh name like the real plugin's
// and reports it, with the data's success line. (make_text2image_stub_plugin() saves nothing.)
std::unique_ptr<Plugin> make_text2image_placeholder_plugin(const std::string& output_dir);

// Saves `image` under a new name "moss-YYYYmmdd-HHMMSS-<slug of prompt>-<random>.<ext>" in `dir`
// (created if missing; an existing file is never overwritten). Returns what was saved. Throws
// moss::Error when the bytes are not PNG/JPEG/WebP or the file cannot be written.
ToolImage save_generated_image(const std::string& dir, const std::string& prompt, const std::vector<uint8_t>& image);

// Standard base64 (RFC 4648) with optional padding; whitespace is ignored and a leading
// "data:...;base64," is dropped. Throws moss::Error on any other character or a bad length.
std::vector<uint8_t> base64_decode(std::string_view text);

class Text2ImagePlugin : public Plugin {
 public:
  explicit Text2ImagePlugin(Text2ImageConfig config);

  bool configured() const { return !config_.backend.empty(); }
  std::string api_name() const override { return "Text2Image"; }
  ToolResult run(const std::string& argument, ToolTurnContext& ctx) override;
  // `Text2Image("arg") => 'Image generated successfully.'` (the outcome as a Python repr). The
  // chat loop uses it only for turns that are not all-successful Text2Image calls; those it writes
  // as the data's "<|Results|>: Image generated successfully.<eor>" (see plugin.h).
  std::string format(const std::string& argument, const ToolResult& result) const override;

  // Path of the image saved by the last successful run ("" if none yet), for frontends that show it.
  std::string last_image_path() const;

 private:
  std::vector<uint8_t> generate(const std::string& prompt) const;

  Text2ImageConfig config_;
  HttpClient client_;
  mutable std::mutex mu_;
  std::string last_path_;
};

}  // namespace moss
