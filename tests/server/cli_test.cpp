// The `moss user` and `moss serve` commands as a user runs them (through MOSS_BINARY): a key is
// printed once and works, and the server refuses a non-loopback address without keys. The full
// HTTP round trip through the binary is tests/server/js/run_e2e.sh.
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "support/shell.h"
#include "server_fixture.h"

namespace moss::server::test {

namespace {
struct CliRun {
  int code = -1;
  std::string out;
};
CliRun run(const std::string& args) {
  const ::moss::test::ShellResult r = ::moss::test::run_moss(args);
  return {r.code, r.output};
}
}  // namespace

class Cli : public ServerTest {
 protected:
  void SetUp() override {
    ServerTest::SetUp();
    force_sqlite_ = true;  // the commands get a sqlite: path here
    if (!std::filesystem::exists(MOSS_BINARY)) FAIL() << "build the moss executable first (cmake --build build): " << MOSS_BINARY;
  }
};

TEST_F(Cli, UserAddPrintsAWorkingKeyOnce) {
  const std::string db = "sqlite:" + db_path_;
  CliRun add = run("user add alice --admin --db " + db);
  ASSERT_EQ(add.code, 0) << add.out;
  // The key is the only stdout line; the note goes to stderr (both captured here).
  const size_t at = add.out.find("moss-");
  ASSERT_NE(at, std::string::npos) << add.out;
  const std::string key = add.out.substr(at, 69);
  CliRun again = run("user add alice --db " + db);
  EXPECT_EQ(again.code, 1);
  EXPECT_NE(again.out.find("already exists"), std::string::npos) << again.out;
  CliRun list = run("user list --db " + db);
  EXPECT_NE(list.out.find("alice\tadmin"), std::string::npos) << list.out;

  start(false);  // the server on the same file finds the key
  EXPECT_FALSE(server_->open_mode());
  EXPECT_EQ(http().get("/api/me", key).j()["name"], "alice");
  stop();
  EXPECT_EQ(run("user remove alice --db " + db).code, 0);
  EXPECT_EQ(run("user remove alice --db " + db).code, 1);
}

TEST_F(Cli, UserRemoveWithImageDirDeletesTheirPictures) {
  const std::string db = "sqlite:" + db_path_;
  ASSERT_EQ(run("user add bob --db " + db).code, 0);
  ASSERT_EQ(run("user add carol --db " + db).code, 0);
  const std::filesystem::path images = dir_ / "pictures";
  std::filesystem::create_directories(images);
  {
    auto store = open_store(db);
    int64_t bob = 0, carol = 0;
    for (const auto& u : store->list_users()) (u.name == "bob" ? bob : carol) = u.id;
    TurnRecord r{"draw", "", "Text2Image(\"x\")", "Image generated successfully.", "here"};
    store->create_conversation(bob, "0000000000000000000000000000000b", "b");
    r.images = {"bob-1.png"};
    store->append_record(bob, "0000000000000000000000000000000b", r, "stop", {1, 1}, false);
    store->create_conversation(carol, "0000000000000000000000000000000c", "c");
    r.images = {"carol-1.png"};
    store->append_record(carol, "0000000000000000000000000000000c", r, "stop", {1, 1}, false);
  }
  for (const char* f : {"bob-1.png", "carol-1.png"}) std::ofstream(images / f) << "png";
  CliRun rm = run("user remove bob --image-dir " + images.string() + " --db " + db);
  ASSERT_EQ(rm.code, 0) << rm.out;
  EXPECT_FALSE(std::filesystem::exists(images / "bob-1.png"));
  EXPECT_TRUE(std::filesystem::exists(images / "carol-1.png"));
}

TEST_F(Cli, ServeRefusesOpenNonLoopbackAndRealModelsForNow) {
  CliRun r = run("serve -m fake: --host 0.0.0.0 --port 0 --db sqlite:" + db_path_);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("refusing to listen on 0.0.0.0 without API keys"), std::string::npos) << r.out;
  r = run("serve -m /nonexistent/model.gguf --db sqlite:" + db_path_);
  EXPECT_EQ(r.code, 1);
  r = run("serve -m fake: --db postgresql://127.0.0.1:1/nothing_listens_here");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("PostgreSQL"), std::string::npos) << r.out;
}

}  // namespace moss::server::test
