// Persistence interface of the server: users with hashed API keys, conversations owned by one
// user, and the records (turns) of a conversation. Every read and write of a conversation takes
// the owner's user id, so a request can never reach another user's data (a foreign id behaves like
// a missing one). Writes are committed before they return, so anything the server acknowledged
// survives a kill. SqliteStore and PgStore implement it on the same tables.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "server/chat_engine.h"

namespace moss::server {

struct UserRow {
  int64_t id = 0;
  std::string name;
  bool is_admin = false;
  bool has_key = false;  // false only for the built-in open-mode user
  int64_t created_at = 0;  // unix seconds
};

struct ConversationRow {
  std::string id;
  int64_t user_id = 0;
  std::string title;
  int64_t created_at = 0;  // unix milliseconds
  int64_t updated_at = 0;
  int64_t record_count = 0;
};

struct RecordRow {
  int64_t id = 0;
  std::string conversation_id;
  int64_t seq = 0;  // 1-based position in the conversation
  TurnRecord turn;
  std::string finish_reason;
  TurnUsage usage;
  int64_t created_at = 0;  // unix milliseconds
  int rating = 0;          // -1 dislike, 0 none, +1 like
  std::string feedback;
};

class Store {
 public:
  virtual ~Store() = default;

  // Users. create_user throws moss::Error when the name is taken or invalid.
  virtual UserRow create_user(const std::string& name, const std::string& key_hash, bool is_admin) = 0;
  virtual std::optional<UserRow> user_by_key_hash(const std::string& key_hash) = 0;
  virtual std::vector<UserRow> list_users() = 0;
  virtual bool delete_user(const std::string& name) = 0;  // also deletes the user's conversations
  virtual int64_t count_key_users() = 0;  // users that can authenticate
  // The user that owns conversations while the server runs open (no keys, loopback only).
  virtual UserRow open_mode_user() = 0;

  // Conversations of one user.
  virtual ConversationRow create_conversation(int64_t user_id, const std::string& id, const std::string& title) = 0;
  virtual std::optional<ConversationRow> conversation(int64_t user_id, const std::string& id) = 0;
  // Newest first (by updated time); at most `limit`.
  virtual std::vector<ConversationRow> list_conversations(int64_t user_id, int limit) = 0;
  virtual bool delete_conversation(int64_t user_id, const std::string& id) = 0;
  virtual bool rename_conversation(int64_t user_id, const std::string& id, const std::string& title) = 0;

  // Records. append_record stores one finished turn in one transaction; with replace_last it first
  // deletes the conversation's last record (regenerate). Returns the stored row; throws when the
  // conversation does not belong to the user.
  virtual std::vector<RecordRow> records(int64_t user_id, const std::string& conversation_id) = 0;
  virtual RecordRow append_record(int64_t user_id, const std::string& conversation_id, const TurnRecord& turn,
                                  const std::string& finish_reason, const TurnUsage& usage, bool replace_last) = 0;
  // Sets rating (when given) and/or feedback text (when given) of a record; false if not found.
  virtual bool set_feedback(int64_t user_id, const std::string& conversation_id, int64_t record_id,
                            std::optional<int> rating, std::optional<std::string> feedback) = 0;
  // Whether a record of one of the user's conversations lists the image file `name` (the only
  // way a user may fetch an image). `name` must already be a valid image name (valid_image_name).
  virtual bool user_has_image(int64_t user_id, const std::string& name) = 0;
};

// Image file names as the Text2Image plugin writes them: 1-160 of [A-Za-z0-9_-] (not starting
// with '-') and one extension .png/.jpg/.jpeg/.webp. Nothing else (no '/', no "..", no '%') is
// ever looked up.
bool valid_image_name(const std::string& name);
// "image/png", "image/jpeg", "image/webp" by the extension of a valid name.
std::string image_mime_for_name(const std::string& name);
// Deletes the files of `names` from `dir` once no record of the user lists them any more (after a
// conversation was deleted or an answer regenerated), so that a user's deleted pictures do not stay
// on disk. Only valid names are touched; a file that is already gone is not an error. Call after
// the store change is committed: a crash in between leaves an unreferenced file, never a record
// without its picture.
void remove_unreferenced_images(Store& store, int64_t user_id, const std::string& dir,
                                const std::vector<std::string>& names);
// The records' `images` column: a JSON array of names ("" is read as none, for older rows).
std::string images_to_column(const std::vector<std::string>& names);
std::vector<std::string> images_from_column(const std::string& text);

// Opens the store named by a --db value: "sqlite:PATH", a plain PATH, or "postgresql://..."
// (fails with a clear message when the build has no libpq).
std::unique_ptr<Store> open_store(const std::string& url);

}  // namespace moss::server
