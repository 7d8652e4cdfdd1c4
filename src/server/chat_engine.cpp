// Names of turn stages, shared by the HTTP formats and the store.
#include "server/chat_engine.h"

namespace moss::server {

const char* stage_name(Stage s) {
  switch (s) {
    case Stage::inner_thoughts: return "inner_thoughts";
    case Stage::commands: return "commands";
    case Stage::results: return "results";
    case Stage::answer: return "answer";
  }
  return "answer";
}

}  // namespace moss::server
