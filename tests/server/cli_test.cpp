// The `moss user` and `moss serve` commands as a user runs them (through MOSS_BINARY): a key is
// printed once and works, and the server refuses a non-loopback address without keys. The full
// HTTP round trip through the binary is tests/server/js/run_e2e.sh.
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>

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
