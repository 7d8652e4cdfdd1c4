// Text2Image without an image service, for tests and demos:
// * the stub generates nothing and reports success in the SFT data's words. The chat loop renders
//   a turn whose calls are all successful Text2Image calls as the single-line block
//   "<|Results|>: Image generated successfully.<eor>\n" (spec 7.6).
// * the placeholder does the same but also saves a small PNG (a colour gradient whose hue depends
//   on the prompt) like the real plugin, so frontends can show a picture end to end.
#include <zlib.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "plugins/registry.h"
#include "plugins/text2image_plugin.h"

namespace moss {
namespace {

const char* kSuccess = "Image generated successfully.";

std::string format_call(const std::string& argument, const ToolResult& result) {
  return "Text2Image(\"" + argument + "\") => '" + (result.lines.empty() ? std::string() : result.lines[0]) + "'";
}

class Text2ImageStub : public Plugin {
 public:
  std::string api_name() const override { return "Text2Image"; }
  ToolResult run(const std::string&, ToolTurnContext&) override { return {{kSuccess}, true}; }
  std::string format(const std::string& argument, const ToolResult& result) const override {
    return format_call(argument, result);
  }
};

// ---- a small PNG: 8-bit RGB, the pixel rows deflated and every chunk checksummed by zlib ----

uint32_t crc(const uint8_t* p, size_t n, uint32_t seed = 0) {
  return static_cast<uint32_t>(::crc32(seed, p, static_cast<uInt>(n)));
}

void put32(std::vector<uint8_t>& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(v >> s));
}

void chunk(std::vector<uint8_t>& out, const char* type, const std::vector<uint8_t>& data) {
  put32(out, static_cast<uint32_t>(data.size()));
  const size_t start = out.size();
  out.insert(out.end(), type, type + 4);
  out.insert(out.end(), data.begin(), data.end());
  put32(out, crc(out.data() + start, out.size() - start));
}

std::vector<uint8_t> gradient_png(const std::string& prompt) {
  constexpr uint32_t kSize = 64;
  const uint32_t seed = crc(reinterpret_cast<const uint8_t*>(prompt.data()), prompt.size());
  std::vector<uint8_t> raw;
  for (uint32_t y = 0; y < kSize; ++y) {
    raw.push_back(0);  // filter: none
    for (uint32_t x = 0; x < kSize; ++x) {
      raw.push_back(static_cast<uint8_t>((seed & 0xFF) / 2 + x * 2));
      raw.push_back(static_cast<uint8_t>(((seed >> 8) & 0xFF) / 2 + y * 2));
      raw.push_back(static_cast<uint8_t>(((seed >> 16) & 0xFF) / 2 + (x + y)));
    }
  }
  uLongf z_size = compressBound(static_cast<uLong>(raw.size()));
  std::vector<uint8_t> z(z_size);
  if (compress2(z.data(), &z_size, raw.data(), static_cast<uLong>(raw.size()), Z_BEST_SPEED) != Z_OK)
    throw std::runtime_error("zlib could not compress the picture");
  z.resize(z_size);

  std::vector<uint8_t> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  std::vector<uint8_t> ihdr;
  put32(ihdr, kSize);
  put32(ihdr, kSize);
  ihdr.insert(ihdr.end(), {8, 2, 0, 0, 0});  // 8-bit, RGB, deflate, no filter method, no interlace
  chunk(png, "IHDR", ihdr);
  chunk(png, "IDAT", z);
  chunk(png, "IEND", {});
  return png;
}

class Text2ImagePlaceholder : public Plugin {
 public:
  explicit Text2ImagePlaceholder(std::string dir) : dir_(std::move(dir)) {}
  std::string api_name() const override { return "Text2Image"; }
  ToolResult run(const std::string& argument, ToolTurnContext&) override {
    try {
      ToolResult r{{kSuccess}, true};
      r.images.push_back(save_generated_image(dir_, argument, gradient_png(argument)));
      return r;
    } catch (const std::exception& e) {
      return {{std::string("Image generation failed: ") + e.what() + "."}, false};
    }
  }
  std::string format(const std::string& argument, const ToolResult& result) const override {
    return format_call(argument, result);
  }

 private:
  std::string dir_;
};

}  // namespace

std::unique_ptr<Plugin> make_text2image_stub_plugin() { return std::make_unique<Text2ImageStub>(); }

std::unique_ptr<Plugin> make_text2image_placeholder_plugin(const std::string& output_dir) {
  return std::make_unique<Text2ImagePlaceholder>(output_dir);
}

}  // namespace moss
