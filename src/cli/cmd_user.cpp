// `moss user add NAME [--admin] --db ...` creates a user and prints its API key once (only the
// SHA-256 is stored); `moss user list` and `moss user remove NAME` manage them. Safe to run while
// the server uses the same SQLite file (WAL + busy timeout).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <vector>

#include "cli/command.h"
#include "server/auth.h"
#include "server/store.h"
#include "util/error.h"

namespace moss::cli {
namespace {

struct UserOptions {
  std::string db = "sqlite:moss.db";
  std::string name;
  bool admin = false;
  std::string action;
  std::string image_dir;  // remove: also delete the user's picture files from this folder
};

int run_user(const UserOptions& o) {
  auto store = server::open_store(o.db);
  if (o.action == "add") {
    const std::string key = server::generate_api_key();
    server::UserRow u = store->create_user(o.name, server::sha256_hex(key), o.admin);
    std::fprintf(stderr, "created %suser '%s' (id %lld); its API key (shown only now):\n", o.admin ? "admin " : "",
                 u.name.c_str(), static_cast<long long>(u.id));
    std::printf("%s\n", key.c_str());
    return 0;
  }
  if (o.action == "list") {
    for (const auto& u : store->list_users())
      if (u.has_key) std::printf("%lld\t%s%s\n", static_cast<long long>(u.id), u.name.c_str(), u.is_admin ? "\tadmin" : "");
    return 0;
  }
  if (o.action == "remove") {
    // The pictures their records list, gathered before the records go (see remove_unreferenced_images).
    std::vector<std::string> images;
    int64_t id = 0;
    if (!o.image_dir.empty())
      for (const auto& u : store->list_users())
        if (u.name == o.name) {
          id = u.id;
          for (const auto& c : store->list_conversations(u.id, 1 << 30))
            for (const auto& r : store->records(u.id, c.id))
              images.insert(images.end(), r.turn.images.begin(), r.turn.images.end());
        }
    if (!store->delete_user(o.name)) fail("no user named '", o.name, "'");
    server::remove_unreferenced_images(*store, id, o.image_dir, images);
    std::fprintf(stderr, "removed user '%s' and their conversations%s\n", o.name.c_str(),
                 o.image_dir.empty() ? "" : " and pictures");
    return 0;
  }
  fail("choose a user action: add, list or remove");
}

const CommandRegistration kRegistration{"user", "manage server users and API keys (add, list, remove)",
                                        [](CLI::App& sub) {
                                          auto o = std::make_shared<UserOptions>();
                                          sub.require_subcommand(1);
                                          auto* add = sub.add_subcommand("add", "create a user; prints its API key once");
                                          add->add_option("name", o->name, "user name: 1-64 of [A-Za-z0-9_.@-]")->required();
                                          add->add_flag("--admin", o->admin, "may create and revoke keys via the API");
                                          add->add_option("--db", o->db, "store: sqlite:PATH or postgresql://...")->capture_default_str();
                                          add->callback([o] { o->action = "add"; });
                                          auto* list = sub.add_subcommand("list", "list users");
                                          list->add_option("--db", o->db, "store: sqlite:PATH or postgresql://...")->capture_default_str();
                                          list->callback([o] { o->action = "list"; });
                                          auto* rm = sub.add_subcommand("remove", "delete a user and their conversations");
                                          rm->add_option("name", o->name, "user name")->required();
                                          rm->add_option("--db", o->db, "store: sqlite:PATH or postgresql://...")->capture_default_str();
                                          rm->add_option("--image-dir", o->image_dir,
                                                         "also delete the user's pictures from the server's image folder");
                                          rm->callback([o] { o->action = "remove"; });
                                          return [o] { return run_user(*o); };
                                        }};

}  // namespace
}  // namespace moss::cli
