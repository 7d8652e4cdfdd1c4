// Running one chat turn for a caller, shared by every API: claims the user's single running slot
// (409 when busy), creates the conversation when needed, calls the engine with a cancel flag,
// applies moderation, and commits the record before anything is acknowledged.
#pragma once
#include <optional>
#include <functional>
#include <memory>
#include <string_view>

#include "server/server_context.h"

namespace moss::server {

struct TurnPlan {
  UserRow user;
  std::string conversation_id;       // empty: start a new conversation
  std::vector<TurnRecord> imported;  // stored first into a new conversation (history sent by an OpenAI client)
  std::vector<TurnRecord> history;   // what the engine sees before the prompt
  std::string prompt;
  std::vector<std::string> plugins;
  std::optional<bool> constrain_commands;  // request field; unset = the engine's default
  std::string system_prompt;
  SamplingParams sampling;
  bool replace_last = false;         // regenerate: the new record replaces the last one
  std::vector<std::string> replaced_images;  // regenerate: the pictures of the record replaced
};

struct PreparedTurn {
  ~PreparedTurn();
  ServerContext* ctx = nullptr;
  TurnPlan plan;
  std::string conversation_id;
  bool new_conversation = false;
  bool committed = false;
  std::shared_ptr<ActiveTurn> active;
};

struct TurnOutcome {
  RecordRow record;
  TurnResult result;
  double seconds = 0;
};

// Validates and claims; throws HttpError (409 busy, 404 unknown conversation, 400 moderation).
std::unique_ptr<PreparedTurn> prepare_turn(ServerContext& ctx, TurnPlan plan);
// Runs and stores the turn. on_piece receives (moderated) pieces and on_image the file name of each
// picture a plugin saved, as it appears; either returns false when the client is gone, which
// cancels the turn; what was generated until then is still stored.
TurnOutcome execute_turn(PreparedTurn& turn, const std::function<bool(Stage, std::string_view)>& on_piece,
                         const std::function<bool(const std::string&)>& on_image = {});

}  // namespace moss::server
