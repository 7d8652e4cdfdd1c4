// `moss serve -m MODEL [--host 127.0.0.1] [--port 8080] [--db sqlite:moss.db]`: the HTTP server
// (OpenAI-compatible API, MOSS API, conversations, users; see docs/api.md). Loopback by default;
// on any other address it refuses to start unless a user with an API key exists (`moss user add`).
// `-m fake:` runs the deterministic FakeEngine instead of a model (test / demo mode); its
// Text2Image ("draw ..." prompts) saves placeholder PNGs into the image folder.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "cli/command.h"
#include "cli/common.h"
#include "plugins/text2image_plugin.h"
#include "server/fake_engine.h"
#include "util/paths.h"
#include "server/model_engine.h"
#include "server/server.h"
#include "server/store.h"
#include "util/error.h"

namespace moss::cli {
namespace {

struct ServeOptions {
  ModelOptions model_opts;  // -m (also 'fake:'), -t for the model engine
  std::string db = "sqlite:moss.db";
  int fake_delay_ms = 20;
  server::ServerConfig config;
  server::ModelEngineOptions engine;
  bool no_constrain = false;
  std::string image_dir = "moss-images";  // --image-dir
  bool image_dir_given = false;
};

// The folder generated images are served from: the text2image output_dir of --plugin-config when
// a backend is configured there (that is where the plugin saves), else --image-dir.
std::string resolve_image_dir(const ServeOptions& o) {
  const Text2ImageConfig tc =
      o.engine.plugin_config.empty() ? Text2ImageConfig{} : text2image_config_from_file(o.engine.plugin_config);
  if (tc.backend.empty()) return o.image_dir;
  namespace fs = std::filesystem;
  if (o.image_dir_given && fs::weakly_canonical(o.image_dir) != fs::weakly_canonical(tc.output_dir))
    fail("--image-dir ", o.image_dir, " differs from the text2image output_dir ", tc.output_dir,
         " of --plugin-config (images are served from where the plugin saves them)");
  return tc.output_dir;
}

std::unique_ptr<server::ChatEngine> make_engine(const ServeOptions& o) {
  const std::string& model = o.model_opts.model;
  if (model.rfind("fake:", 0) == 0) {
    auto fake = std::make_unique<server::FakeEngine>(std::chrono::milliseconds(o.fake_delay_ms),
                                                     model.size() > 5 ? model.substr(5) : "moss-fake");
    fake->set_text2image(make_text2image_placeholder_plugin(o.config.image_dir));
    return fake;
  }
  server::ModelEngineOptions e = o.engine;
  e.model_path = model;
  e.threads = o.model_opts.threads;
  e.kv_type = o.model_opts.kv_dtype();
  e.constrain_commands = !o.no_constrain;
  return std::make_unique<server::ModelEngine>(e);
}

int run_serve(ServeOptions& o) {
  // Block the stop signals in every thread; the main thread waits for them with sigwait.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  if (o.config.web_root.empty()) o.config.web_root = find_beside_checkout("web/dist");  // "" if not built
  o.config.image_dir = resolve_image_dir(o);
  auto engine = make_engine(o);
  auto store = server::open_store(o.db);
  server::Server srv(o.config, *store, *engine);
  const int port = srv.start();
  std::fprintf(stderr, "moss serve: %s on http://%s:%d (db %s, web UI %s)%s\n", engine->model_name().c_str(),
               o.config.host.c_str(), port, o.db.c_str(), o.config.web_root.empty() ? "not built" : o.config.web_root.c_str(),
               srv.open_mode() ? " -- open mode: no API keys exist, loopback only" : "");
  int sig = 0;
  sigwait(&set, &sig);
  std::fprintf(stderr, "moss serve: signal %d, stopping\n", sig);
  srv.stop();
  return 0;
}

const CommandRegistration kRegistration{
    "serve",
    "serve chat over HTTP: OpenAI-compatible and MOSS APIs (docs/api.md); -m fake: runs a scripted demo engine", [](CLI::App& sub) {
      auto o = std::make_shared<ServeOptions>();
      auto& c = o->config;
      o->model_opts.add_to(sub);  // -m fake: (or fake:NAME) = scripted test engine, no model (demo mode)
      o->model_opts.add_kv_type_to(sub);
      sub.add_option("--host", c.host, "address to listen on (non-loopback needs API keys)")->capture_default_str();
      sub.add_option("--port", c.port, "TCP port (0 = any free port)")->capture_default_str();
      sub.add_option("--db", o->db, "store: sqlite:PATH (or PATH), or postgresql://... (when built with libpq)")
          ->capture_default_str();
      sub.add_option("--http-threads", c.threads, "HTTP worker threads (connections served at once)")
          ->capture_default_str();
      sub.add_option("--max-body", c.max_body_bytes, "largest request body in bytes (413 above)")->capture_default_str();
      sub.add_option("--max-prompt", c.max_prompt_chars, "longest prompt in bytes (400 above)")->capture_default_str();
      sub.add_option("--rate", c.rate_per_minute, "requests per minute per user (0 = unlimited)")->capture_default_str();
      sub.add_option("--burst", c.rate_burst, "requests a user may send at once")->capture_default_str();
      sub.add_option("--moderation", c.moderation_file, "word-list file (one word per line, # comments)");
      sub.add_option("--moderation-mode", c.moderation_mode, "block: refuse such prompts; mask: star them out")
          ->check(CLI::IsMember({"block", "mask"}))
          ->capture_default_str();
      sub.add_option("--fake-delay-ms", o->fake_delay_ms, "per-token delay of the fake: engine")->capture_default_str();
      sub.add_flag("--log", c.log_requests, "log one line per request to stderr");
      sub.add_option("--cors-origin", c.cors_origins,
                     "allow browser pages of this origin (scheme://host[:port], or *) to call /v1 and /api; "
                     "repeatable or comma-separated (default: none, no CORS headers)")
          ->delimiter(',');
      sub.add_option("--image-dir", o->image_dir,
                     "folder of generated images served at /api/images/NAME (default: the text2image output_dir of "
                     "--plugin-config, else moss-images; -m fake: saves placeholders here)")
          ->capture_default_str()
          ->each([o](const std::string&) { o->image_dir_given = true; });
      sub.add_option("--web-root", c.web_root, "folder with the built web UI, served at / (default: web/dist of the source tree if built)");
      auto& e = o->engine;
      sub.add_option("--plugin-config", e.plugin_config, "JSON with the search / text2image backends (docs/plugins.md)");
      sub.add_flag("--image-stub", e.image_stub, "Text2Image reports success without generating (demo)");
      sub.add_option("--layout", e.layout, "turn layout: auto (five-field iff plugins requested), five (plugin model), two (sft model)")
          ->check(CLI::IsMember({"auto", "five", "two"}))
          ->capture_default_str();
      sub.add_option("--max-batch-tokens", e.max_batch_tokens, "tokens per batched forward step (prefills are chunked)")
          ->capture_default_str();
      sub.add_option("--cached-conversations", e.max_cached_conversations, "conversations whose KV cache is kept between turns")
          ->capture_default_str();
      sub.add_flag("--no-constrain-commands", o->no_constrain,
                   "default for the Commands stage: unconstrained (requests may set constrain_commands)");
      return [o] { return run_serve(*o); };
    }};

}  // namespace
}  // namespace moss::cli
