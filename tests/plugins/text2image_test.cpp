// Text2ImagePlugin against mock AUTOMATIC1111 and OpenAI-style services on 127.0.0.1: request
// bodies, decoding and saving, and every failure as a clean result line.
#include "plugins/text2image_plugin.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <unistd.h>

#include "http_test_server.h"
#include "util/error.h"

namespace fs = std::filesystem;

namespace moss {
namespace {

using testing::TestServer;

// A valid 1x1 PNG, base64 as a service would send it.
const char* kPngB64 =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

TEST(Base64, Rfc4648Vectors) {
  auto s = [](std::string_view b64) {
    auto v = base64_decode(b64);
    return std::string(v.begin(), v.end());
  };
  EXPECT_EQ(s(""), "");
  EXPECT_EQ(s("Zg=="), "f");
  EXPECT_EQ(s("Zm8="), "fo");
  EXPECT_EQ(s("Zm9v"), "foo");
  EXPECT_EQ(s("Zm9vYg=="), "foob");
  EXPECT_EQ(s("Zm9vYmE="), "fooba");
  EXPECT_EQ(s("Zm9v\nYmFy"), "foobar");
  EXPECT_EQ(s("Zm9vYg"), "foob");  // unpadded
  EXPECT_EQ(s("data:image/png;base64,Zm9v"), "foo");
  EXPECT_EQ(s("+/+/"), "\xfb\xff\xbf");
  EXPECT_THROW(base64_decode("Zm9v!"), Error);
  EXPECT_THROW(base64_decode("Zg==Zg=="), Error);
  EXPECT_THROW(base64_decode("Z"), Error);
  EXPECT_THROW(base64_decode("Zm9vY==="), Error);
}

class Text2ImageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    out_dir = fs::temp_directory_path() / ("moss-t2i-test-" + std::to_string(rd())) / "images";
    auto& s = srv.server();
    s.Post("/sdapi/v1/txt2img", [this](const httplib::Request& req, httplib::Response& res) {
      request = nlohmann::json::parse(req.body);
      res.set_content(reply.empty() ? std::string(R"({"images":[")") + kPngB64 + R"("],"info":"{}"})"
                                    : reply,
                      "application/json");
      if (status) res.status = status;
    });
    s.Post("/v1/images/generations", [this](const httplib::Request& req, httplib::Response& res) {
      request = nlohmann::json::parse(req.body);
      auth = req.get_header_value("Authorization");
      res.set_content(std::string(R"({"created":1,"data":[{"b64_json":")") + kPngB64 + R"("}]})",
                      "application/json");
    });
    s.Post("/slow/sdapi/v1/txt2img", [this](const httplib::Request&, httplib::Response& res) {
      srv.wait_or_stop(3000);
      res.set_content("{}", "application/json");
    });
    srv.start();
  }
  void TearDown() override { fs::remove_all(out_dir.parent_path()); }

  Text2ImageConfig config(const std::string& backend) {
    Text2ImageConfig c;
    c.backend = backend;
    c.base_url = srv.base_url();
    c.output_dir = out_dir.string();
    return c;
  }
  size_t files_saved() const {
    if (!fs::exists(out_dir)) return 0;
    return static_cast<size_t>(std::distance(fs::directory_iterator(out_dir), fs::directory_iterator()));
  }

  TestServer srv;
  fs::path out_dir;
  nlohmann::json request;
  std::string auth, reply;
  int status = 0;
};

TEST_F(Text2ImageTest, Automatic1111SavesPng) {
  Text2ImageConfig c = config("automatic1111");
  c.width = 640;
  c.steps = 7;
  Text2ImagePlugin plugin(c);
  ASSERT_TRUE(plugin.configured());
  EXPECT_EQ(plugin.api_name(), "Text2Image");
  ToolTurnContext ctx;
  const ToolResult r = plugin.run("a painting of the rock/../../x", ctx);
  ASSERT_TRUE(r.ok) << r.lines[0];
  EXPECT_EQ(r.lines, std::vector<std::string>{"Image generated successfully."});
  EXPECT_EQ(plugin.format("a painting of the rock", r),
            "Text2Image(\"a painting of the rock\") => 'Image generated successfully.'");
  EXPECT_EQ(request["prompt"], "a painting of the rock/../../x");
  EXPECT_EQ(request["steps"], 7);
  EXPECT_EQ(request["width"], 640);
  EXPECT_EQ(request["height"], 512);
  const fs::path saved = plugin.last_image_path();
  // The result reports the saved picture for frontends.
  ASSERT_EQ(r.images.size(), 1u);
  EXPECT_EQ(r.images[0].path, saved.string());
  EXPECT_EQ(r.images[0].name, saved.filename().string());
  EXPECT_EQ(r.images[0].mime_type, "image/png");
  EXPECT_EQ(saved.parent_path(), out_dir);  // the prompt cannot steer the path
  EXPECT_EQ(saved.extension(), ".png");
  EXPECT_NE(saved.filename().string().find("a-painting-of-the-rock-x"), std::string::npos) << saved;
  std::ifstream in(saved, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  const auto expected = base64_decode(kPngB64);
  EXPECT_EQ(bytes.str(), std::string(expected.begin(), expected.end()));
  // A second image never overwrites the first.
  plugin.run("a painting of the rock/../../x", ctx);
  EXPECT_EQ(files_saved(), 2u);
}

TEST_F(Text2ImageTest, OpenAiStyle) {
  Text2ImageConfig c = config("openai");
  c.api_key = "sk-test";
  c.model = "dall-e-2";
  c.width = c.height = 256;
  Text2ImagePlugin plugin(c);
  ToolTurnContext ctx;
  const ToolResult r = plugin.run("一只在太空飞翔的狗", ctx);
  ASSERT_TRUE(r.ok) << r.lines[0];
  EXPECT_EQ(auth, "Bearer sk-test");
  EXPECT_EQ(request["n"], 1);
  EXPECT_EQ(request["size"], "256x256");
  EXPECT_EQ(request["response_format"], "b64_json");
  EXPECT_EQ(request["model"], "dall-e-2");
  EXPECT_NE(fs::path(plugin.last_image_path()).filename().string().find("-image-"), std::string::npos);
}

TEST_F(Text2ImageTest, FailuresAreResultLines) {
  ToolTurnContext ctx;
  Text2ImagePlugin plugin(config("automatic1111"));
  reply = R"({"images": [)";
  ToolResult r = plugin.run("x", ctx);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.lines[0], "Image generation failed: the reply is not valid JSON.");
  EXPECT_TRUE(r.images.empty());
  reply = R"({"images": []})";
  EXPECT_EQ(plugin.run("x", ctx).lines[0], "Image generation failed: the reply has no images[0] string.");
  reply = R"({"images": ["Zm9vYmFy"]})";
  EXPECT_EQ(plugin.run("x", ctx).lines[0],
            "Image generation failed: the service returned data that is not a PNG, JPEG or WebP image.");
  reply = R"({"images": ["%%%"]})";
  EXPECT_EQ(plugin.run("x", ctx).lines[0].rfind("Image generation failed: base64: invalid", 0), 0u);
  reply = R"({"error": "CUDA out of memory"})";
  status = 500;
  r = plugin.run("x", ctx);
  EXPECT_NE(r.lines[0].find("HTTP 500"), std::string::npos) << r.lines[0];
  EXPECT_EQ(files_saved(), 0u);
  EXPECT_EQ(plugin.last_image_path(), "");

  Text2ImageConfig slow = config("automatic1111");
  slow.base_url = srv.base_url() + "/slow";
  slow.http.timeout_ms = 150;
  r = Text2ImagePlugin(slow).run("x", ctx);
  EXPECT_NE(r.lines[0].find("timed out after 150 ms"), std::string::npos) << r.lines[0];

  Text2ImagePlugin disabled{Text2ImageConfig{}};
  EXPECT_FALSE(disabled.configured());
  EXPECT_FALSE(disabled.run("x", ctx).ok);
}

TEST(Text2ImageMime, BySignature) {
  EXPECT_EQ(image_mime_type(base64_decode(kPngB64)), "image/png");
  EXPECT_EQ(image_mime_type({0xFF, 0xD8, 0xFF, 0xE0}), "image/jpeg");
  EXPECT_EQ(image_mime_type({'R', 'I', 'F', 'F', 0, 0, 0, 0, 'W', 'E', 'B', 'P'}), "image/webp");
  EXPECT_EQ(image_mime_type({'<', 's', 'v', 'g'}), "");
  EXPECT_THROW(save_generated_image(fs::temp_directory_path().string(), "x", {'<', 's', 'v', 'g'}), Error);
}

// The placeholder (tests and demos) saves a real PNG per call and reports it like the real plugin.
TEST(Text2ImagePlaceholder, SavesAValidPngPerCall) {
  const fs::path dir = fs::temp_directory_path() / ("moss_t2i_placeholder_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  auto plugin = make_text2image_placeholder_plugin(dir.string());
  ToolTurnContext ctx;
  const ToolResult a = plugin->run("a cat", ctx);
  const ToolResult b = plugin->run("a cat", ctx);
  ASSERT_TRUE(a.ok) << a.lines[0];
  EXPECT_EQ(a.lines, std::vector<std::string>{"Image generated successfully."});
  ASSERT_EQ(a.images.size(), 1u);
  ASSERT_EQ(b.images.size(), 1u);
  EXPECT_NE(a.images[0].name, b.images[0].name);
  EXPECT_EQ(a.images[0].mime_type, "image/png");
  EXPECT_EQ(fs::path(a.images[0].path).parent_path(), dir);
  std::ifstream in(a.images[0].path, std::ios::binary);
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(image_mime_type(bytes), "image/png");
  // Decode it as a PNG reader would: every chunk's CRC-32, IHDR 64x64 8-bit RGB, and an IDAT that
  // inflates to 64 rows of a filter byte (0) plus 64 RGB pixels.
  auto be32 = [&](size_t at) {
    return uint32_t{bytes[at]} << 24 | uint32_t{bytes[at + 1]} << 16 | uint32_t{bytes[at + 2]} << 8 | bytes[at + 3];
  };
  std::vector<uint8_t> idat;
  std::vector<std::string> types;
  for (size_t at = 8; at + 12 <= bytes.size();) {
    const uint32_t n = be32(at);
    ASSERT_LE(at + 12 + n, bytes.size());
    types.emplace_back(reinterpret_cast<const char*>(bytes.data() + at + 4), 4);
    EXPECT_EQ(be32(at + 8 + n), static_cast<uint32_t>(crc32(0, bytes.data() + at + 4, 4 + n))) << types.back();
    if (types.back() == "IHDR") {
      EXPECT_EQ(be32(at + 8), 64u);
      EXPECT_EQ(be32(at + 12), 64u);
      EXPECT_EQ(bytes[at + 16], 8);  // bit depth
      EXPECT_EQ(bytes[at + 17], 2);  // RGB
    }
    if (types.back() == "IDAT") idat.insert(idat.end(), bytes.begin() + at + 8, bytes.begin() + at + 8 + n);
    at += 12 + n;
  }
  EXPECT_EQ(types, (std::vector<std::string>{"IHDR", "IDAT", "IEND"}));
  std::vector<uint8_t> pixels(64 * (64 * 3 + 1) + 1);
  uLongf got = pixels.size();
  ASSERT_EQ(uncompress(pixels.data(), &got, idat.data(), idat.size()), Z_OK);
  EXPECT_EQ(got, 64u * (64 * 3 + 1));
  for (size_t row = 0; row < 64; ++row) EXPECT_EQ(pixels[row * (64 * 3 + 1)], 0) << row;
  EXPECT_EQ(plugin->format("a cat", a), "Text2Image(\"a cat\") => 'Image generated successfully.'");
  // An unwritable folder is a failure line, not an exception.
  auto bad = make_text2image_placeholder_plugin("/proc/moss-no-such-dir");
  const ToolResult f = bad->run("x", ctx);
  EXPECT_FALSE(f.ok);
  EXPECT_TRUE(f.images.empty());
  EXPECT_EQ(f.lines[0].rfind("Image generation failed: ", 0), 0u);
  fs::remove_all(dir);
}

TEST(Text2ImageConfig, FromJson) {
  const Text2ImageConfig c = text2image_config_from_json(
      R"({"backend":"openai","base_url":"http://127.0.0.1:1","api_key":"env:MOSS_TEST_UNSET_KEY_X",
          "width":256,"height":256,"output_dir":"out","timeout_ms":1000})");
  EXPECT_EQ(c.backend, "openai");
  EXPECT_EQ(c.api_key, "");  // env var not set
  EXPECT_EQ(c.width, 256);
  EXPECT_EQ(c.http.timeout_ms, 1000);
  EXPECT_THROW(text2image_config_from_json(R"({"widht": 3})"), Error);
  EXPECT_THROW(text2image_config_from_json(R"({"width": 3})"), Error);
  Text2ImageConfig bad;
  bad.backend = "midjourney";
  bad.base_url = "http://x";
  EXPECT_THROW(Text2ImagePlugin{bad}, Error);
}

}  // namespace
}  // namespace moss
