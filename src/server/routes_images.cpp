// GET /api/images/NAME: a picture saved by the Text2Image plugin, served from the server's image
// folder to the owner of a record that lists it (any other caller gets 404, as for a missing one).
// NAME is validated strictly (valid_image_name) before it touches the file system, so no path
// outside the folder can be named; the Content-Type comes from the validated extension. Fetches
// are not counted by the rate limit: a page loads every picture of a conversation at once, and a
// picture costs one owner lookup and a file read, not a model turn.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "server/server_context.h"

namespace moss::server {

namespace {
constexpr uintmax_t kMaxImageBytes = 64u << 20;  // far above any generated picture
}

void add_image_routes(ServerContext& ctx) {
  add_route(ctx, Method::get, "/api/images/([^/]+)", "/api/images/{name}", false,
            [](ServerContext& c, const httplib::Request& req, httplib::Response& res, const UserRow& user) {
              const std::string name = req.matches[1];
              if (!valid_image_name(name)) http_fail(400, "invalid_value", "invalid image name");
              if (c.config.image_dir.empty() || !c.store.user_has_image(user.id, name))
                http_fail(404, "not_found", "no such image");
              const std::filesystem::path path = std::filesystem::path(c.config.image_dir) / name;
              std::error_code ec;
              const bool regular = std::filesystem::is_regular_file(path, ec);
              const uintmax_t size = regular ? std::filesystem::file_size(path, ec) : 0;
              if (!regular || ec || size > kMaxImageBytes) http_fail(404, "not_found", "no such image");
              std::ifstream in(path, std::ios::binary);
              std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
              if (!in.good() && !in.eof()) http_fail(500, "internal_error", "cannot read the image");
              res.status = 200;
              // Private: the picture belongs to one user; it never changes under its name.
              res.set_header("Cache-Control", "private, max-age=86400");
              res.set_header("X-Content-Type-Options", "nosniff");
              res.set_content(std::move(bytes), image_mime_for_name(name));
            },
            /*rate_limited=*/false);
}

}  // namespace moss::server
