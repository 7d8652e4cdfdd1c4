// `moss tool` output, the stable interface external checks use (see src/cli/cmd_tool.cpp). Runs the
// built binary; when the moss executable has not been built yet the test is skipped with a message.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>

#include "support/shell.h"

namespace {

std::string run(const std::string& args) { return ::moss::test::run_moss("tool " + args).output; }

TEST(CliTool, PrintsResultsBody) {
  if (!std::filesystem::exists(MOSS_BINARY)) FAIL() << "build the moss executable first (cmake --build build): " << MOSS_BINARY;
  EXPECT_EQ(run("None"), "None\n");
  EXPECT_EQ(run("'Calculate(\"2^10\"), Solve(\"x+y=30;x-y=8\")'"),
            "Calculate(\"2^10\") => '1024'\nSolve(\"x+y=30;x-y=8\") =>\nx = 19\ny = 11\n");
  EXPECT_EQ(run("--field 'Calculate(\"1/0\")'"), "<|Results|>:\nCalculate(\"1/0\") => 'No result.'\n<eor>\n");
  EXPECT_EQ(run("--image-stub 'Text2Image(\"a cat\")'"), "Image generated successfully.\n");
  EXPECT_EQ(run("--image-stub --field 'Text2Image(\"a cat\")'"), "<|Results|>: Image generated successfully.<eor>\n");
  EXPECT_EQ(run("--field 'Count(\"x\")'"), "<|Results|>:\nCount(\"x\") => 'Unknown tool Count.'\n<eor>\n");
  EXPECT_EQ(run("--plugins calculator 'Search(\"x\")'"), "Search(\"x\") => 'Search is not enabled.'\n");
  EXPECT_EQ(run("'Search(\"x\")'"), "Search(\"x\") => 'Search is not available.'\n");
}

}  // namespace
