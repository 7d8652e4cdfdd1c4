// `moss serve`: the HTTP server. OpenAI-compatible API (/v1/...), the MOSS API (/api/chat, like
// moss_api_demo.py), conversations as resources, users/keys, /health and /metrics. Every turn is
// stored as a record of one of the caller's conversations before it is acknowledged.
// See docs/api.md for the endpoints and formats.
#pragma once
#include <cstddef>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "server/chat_engine.h"
#include "server/store.h"

namespace moss::server {

struct ServerConfig {
  std::string host = "127.0.0.1";  // loopback by default
  int port = 8080;                 // 0 = any free port (see Server::port())
  int threads = 64;                // HTTP worker threads = max connections served at once
  size_t max_body_bytes = 1 << 20; // larger request bodies get 413
  size_t max_prompt_chars = 32768; // longer prompts get 400 context_length_exceeded
  int max_messages = 512;          // messages per OpenAI request
  int read_timeout_s = 30;
  int write_timeout_s = 30;
  double rate_per_minute = 120;    // per-user request rate; <= 0 disables
  double rate_burst = 30;
  std::string moderation_file;     // empty = no moderation
  std::string moderation_mode = "block";
  SamplingParams defaults;         // sampling when a request does not say
  bool log_requests = false;       // one line per request on stderr
  std::string web_root;            // folder served at / (the web UI's build, web/dist); "" = none
  // Folder of the pictures the Text2Image plugin saves; GET /api/images/NAME serves them to the
  // owner of the record that lists NAME. "" = no images are served (404).
  std::string image_dir;
  // Origins allowed to call the API from a browser page on another origin (CORS), e.g.
  // "https://chat.example.org"; "*" allows any. Empty = no CORS headers at all.
  std::vector<std::string> cors_origins;
};

struct ServerContext;  // server_context.h

class Server {
 public:
  Server(ServerConfig config, Store& store, ChatEngine& engine);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts serving on a background thread; returns the bound port. Throws moss::Error
  // when the address is not loopback and no user has an API key, or when binding fails.
  int start();
  void stop();   // stops accepting and waits for the serving thread
  void wait();   // blocks until stop() (from another thread or a signal handler thread)
  int port() const { return port_; }
  bool open_mode() const;  // running without keys (loopback, no users)

 private:
  std::unique_ptr<ServerContext> ctx_;
  std::thread thread_;
  int port_ = 0;
};

// True for 127.0.0.0/8, ::1 and "localhost".
bool is_loopback_host(const std::string& host);

}  // namespace moss::server
