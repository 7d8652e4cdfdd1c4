// MOSS-style SSE responses (see moss_stream.h).
#include "server/moss_stream.h"

namespace moss::server {

void respond_moss_stream(ServerContext& ctx, httplib::Response& res, std::shared_ptr<PreparedTurn> turn, json start,
                         std::function<json(const TurnOutcome&)> done) {
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  ServerContext* c = &ctx;
  c->metrics.connection_opened();
  res.set_chunked_content_provider(
      "text/event-stream",
      [turn, start = std::move(start), done = std::move(done)](size_t, httplib::DataSink& sink) {
        auto send = [&](const std::string& event, const json& data) {
          const std::string s = sse_event(event, data);
          return sink.write(s.data(), s.size());
        };
        send("start", start);
        try {
          TurnOutcome out = execute_turn(
              *turn, [&](Stage s, std::string_view text) { return send(stage_name(s), json{{"text", std::string(text)}}); },
              [&](const std::string& name) { return send("image", image_json(name)); });
          send("done", done(out));
        } catch (const HttpError& e) {
          send("error", error_body(e.status, e.code, e.message));
        } catch (const std::exception& e) {
          send("error", error_body(500, "internal_error", e.what()));
        }
        sink.done();
        return true;
      },
      [c, turn](bool) mutable {
        c->metrics.connection_closed();
        turn.reset();
      });
}

}  // namespace moss::server
