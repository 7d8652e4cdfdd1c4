// A mock HTTP service for the plugin tests: a cpp-httplib server on 127.0.0.1 with a free port
// chosen by the OS, running on its own thread for the lifetime of the object. Tests talk only to
// it (never to the network). Slow handlers should use wait_or_stop() so that teardown is prompt.
#pragma once
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

namespace moss::testing {

class TestServer {
 public:
  TestServer() = default;
  ~TestServer() { stop(); }
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  httplib::Server& server() { return server_; }

  // Binds 127.0.0.1:<free port> and serves in a thread; returns once it accepts connections.
  void start() {
    port_ = server_.bind_to_any_port("127.0.0.1");
    if (port_ <= 0) throw std::runtime_error("test server: cannot bind 127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    for (int i = 0; i < 500 && !server_.is_running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  void stop() {
    stopping_ = true;
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }
  int port() const { return port_; }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // Sleeps up to `ms`, returning early when the server is being stopped.
  void wait_or_stop(int ms) {
    for (int waited = 0; waited < ms && !stopping_; waited += 5) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  int port_ = 0;
};

}  // namespace moss::testing
