// The SQLite FTS5 local index end to end on a temporary folder: English and Chinese documents in
// .txt/.md/.html, CJK queries of 2+ characters, incremental updates by mtime, bad databases.
#include "plugins/local_index.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>

#include "plugins/search_plugin.h"
#include "util/error.h"

namespace fs = std::filesystem;

namespace moss {
namespace {

class LocalIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    root = fs::temp_directory_path() / ("moss-index-test-" + std::to_string(rd()));
    docs = root / "docs";
    fs::create_directories(docs / "sub");
    db = (root / "index.db").string();
    write("facebook.txt",
          "Facebook is a social networking service originally launched as FaceMash on October 28, "
          "2003, before changing its name to TheFacebook on February 4, 2004.\n\n"
          "Mark Zuckerberg founded it with fellow Harvard students.");
    write("planets.md",
          "# 行星\n\n木星是太阳系中最大的行星，木星的引力加速度为24.79 m/s²。\n\n"
          "地球的重力加速度约为9.8 m/s²，火星的约为3.7 m/s²。");
    write("sub/jobs.html",
          "<html><head><title>乔布斯</title></head><body><p>史蒂夫·乔布斯对科技行业的影响力"
          "非常深远。</p><script>ignored()</script></body></html>");
    write("sub/notes.bin", "binary file that is not indexed Facemash");
  }
  void TearDown() override { fs::remove_all(root); }

  void write(const std::string& rel, const std::string& text) {
    std::ofstream(docs / rel, std::ios::binary) << text;
  }

  fs::path root, docs;
  std::string db;
};

TEST_F(LocalIndexTest, IndexesAndFindsEnglishAndChinese) {
  IndexStats st;
  {
    LocalIndex idx(db, /*writable=*/true);
    st = idx.index_folder(docs.string(), 120);
  }
  EXPECT_EQ(st.added, 3);
  EXPECT_EQ(st.updated, 0);
  EXPECT_EQ(st.total_documents, 3);
  EXPECT_GE(st.total_passages, 4);

  LocalIndex idx(db);  // read-only, as the plugin opens it
  auto hits = idx.search("What was Facemash?", 3);
  ASSERT_FALSE(hits.empty());
  EXPECT_NE(hits[0].snippet.find("FaceMash"), std::string::npos);  // case-insensitive
  EXPECT_EQ(hits[0].title, "facebook.txt");
  EXPECT_EQ(hits[0].url.rfind("file://", 0), 0u);
  EXPECT_NE(hits[0].url.find("facebook.txt"), std::string::npos);

  // A 3+ character CJK run, not verbatim in the text: found through its trigrams.
  hits = idx.search("木星引力加速度多大", 3);
  ASSERT_FALSE(hits.empty());
  EXPECT_NE(hits[0].snippet.find("24.79"), std::string::npos);
  EXPECT_EQ(hits[0].title, "行星");  // the Markdown heading

  // A 2-character CJK query cannot use trigrams: LIKE fallback.
  hits = idx.search("火星", 3);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_NE(hits[0].snippet.find("3.7"), std::string::npos);

  // Space-separated keyword query, HTML title and script removal.
  hits = idx.search("乔布斯 影响力", 3);
  ASSERT_FALSE(hits.empty());
  EXPECT_EQ(hits[0].title, "乔布斯");
  EXPECT_EQ(hits[0].snippet.find("ignored"), std::string::npos);

  // Mixed: one- and two-letter Latin words are dropped when a CJK term is present.
  hits = idx.search("重力 m/s", 3);
  ASSERT_FALSE(hits.empty());
  EXPECT_NE(hits[0].snippet.find("重力"), std::string::npos);

  EXPECT_TRUE(idx.search("zzzqqq", 3).empty());
  EXPECT_TRUE(idx.search("", 3).empty());
  EXPECT_TRUE(idx.search("\" OR * NEAR( ) -", 3).empty());  // FTS5 syntax is quoted away
  EXPECT_EQ(idx.search("the", 1).size(), 1u);
}

TEST_F(LocalIndexTest, IncrementalUpdates) {
  LocalIndex idx(db, true);
  idx.index_folder(docs.string(), 200);
  IndexStats st = idx.index_folder(docs.string(), 200);
  EXPECT_EQ(st.unchanged, 3);
  EXPECT_EQ(st.added + st.updated + st.removed, 0);

  write("facebook.txt", "Completely new text about Myspace.");
  // Content change with a size change is detected even within the file system's mtime
  // granularity; also move the mtime to be sure.
  fs::last_write_time(docs / "facebook.txt",
                      fs::last_write_time(docs / "facebook.txt") + std::chrono::seconds(5));
  fs::remove(docs / "sub" / "jobs.html");
  write("new.txt", "A new document about Saturn's rings.");
  st = idx.index_folder(docs.string(), 200);
  EXPECT_EQ(st.updated, 1);
  EXPECT_EQ(st.removed, 1);
  EXPECT_EQ(st.added, 1);
  EXPECT_EQ(st.unchanged, 1);
  EXPECT_EQ(st.total_documents, 3);
  EXPECT_TRUE(idx.search("Facemash", 3).empty());  // old passages are gone from FTS too
  EXPECT_TRUE(idx.search("乔布斯", 3).empty());
  EXPECT_EQ(idx.search("Myspace", 3).size(), 1u);
  EXPECT_EQ(idx.search("Saturn", 3).size(), 1u);

  // A different passage size re-splits everything.
  st = idx.index_folder(docs.string(), 50);
  EXPECT_EQ(st.updated, 3);
}

TEST_F(LocalIndexTest, BadDatabasesAndFolders) {
  EXPECT_THROW(LocalIndex((root / "missing.db").string()), Error);
  std::ofstream(root / "junk.db") << "this is not sqlite at all, just some text to fill a page";
  EXPECT_THROW(LocalIndex((root / "junk.db").string()), Error);
  EXPECT_THROW(LocalIndex((root / "junk.db").string(), true), Error);
  LocalIndex idx(db, true);
  EXPECT_THROW(idx.index_folder((root / "nope").string()), Error);
}

TEST_F(LocalIndexTest, PluginOverLocalIndex) {
  {
    LocalIndex idx(db, true);
    idx.index_folder(docs.string(), 300);
  }
  SearchConfig cfg;
  cfg.backend = "local";
  cfg.local_db = db;
  SearchPlugin plugin(cfg);
  ASSERT_TRUE(plugin.configured());
  ToolTurnContext ctx;
  const ToolResult r = plugin.run("木星 引力", ctx);
  ASSERT_TRUE(r.ok);
  ASSERT_FALSE(r.lines.empty());
  EXPECT_EQ(r.lines[0].rfind("<|1|>: '", 0), 0u) << r.lines[0];
}

}  // namespace
}  // namespace moss
