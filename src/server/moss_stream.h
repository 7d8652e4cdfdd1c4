// The MOSS-style SSE stream used by /api/chat/stream and the conversation routes: one named event
// per piece ("inner_thoughts", "commands", "results", "answer" with {"text"}), framed by "start"
// and "done" (or "error"). See docs/api.md.
#pragma once
#include <functional>
#include <memory>

#include "server/server_context.h"
#include "server/turn_service.h"

namespace moss::server {

// Sends the turn as an SSE stream; `start` is the payload of the first event and `done` builds
// the payload of the last one from the stored outcome.
void respond_moss_stream(ServerContext& ctx, httplib::Response& res, std::shared_ptr<PreparedTurn> turn, json start,
                         std::function<json(const TurnOutcome&)> done);

}  // namespace moss::server
