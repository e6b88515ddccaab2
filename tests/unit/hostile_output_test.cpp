// What the sinks write must stay parseable and safe whatever the input's names hold, and their
// temporary files must neither clash between runs nor pile up after killed ones.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "pipeline/temp_files.h"
#include "pipeline/text_fields.h"
#include "pipeline/utf8.h"

namespace pipeline {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(Utf8, FindsTheFirstInvalidByte) {
  EXPECT_EQ(FirstInvalidUtf8("plain"), std::string::npos);
  EXPECT_EQ(FirstInvalidUtf8("tr\xC3\xA4in \xE2\x82\xAC \xF0\x9F\x98\x80"), std::string::npos);
  EXPECT_EQ(FirstInvalidUtf8("tr\xE9in"), 2u);          // Latin-1
  EXPECT_EQ(FirstInvalidUtf8("ab\xC3"), 2u);            // cut short
  EXPECT_EQ(FirstInvalidUtf8("\xC0\xAF"), 0u);          // overlong "/"
  EXPECT_EQ(FirstInvalidUtf8("x\xED\xA0\x80"), 1u);     // a surrogate
  EXPECT_EQ(FirstInvalidUtf8("\xF4\x90\x80\x80"), 0u);  // above U+10FFFF
}

TEST(Utf8, ReplacementAlwaysGivesValidText) {
  EXPECT_EQ(ReplaceInvalidUtf8("tr\xE9in"), "tr\xEF\xBF\xBDin");
  EXPECT_EQ(ReplaceInvalidUtf8("ok \xC3\xA4"), "ok \xC3\xA4");
  EXPECT_TRUE(IsValidUtf8(ReplaceInvalidUtf8("\xFF\xFE\xC3\x28\xE2\x82")));
}

TEST(JsonString, BytesThatAreNotUtf8BecomeReplacementCharacters) {
  // A file name from a Latin-1 file system: before, written raw, and the line was not JSON.
  const std::string quoted = JsonString("photos/caf\xE9.png");
  EXPECT_EQ(quoted, "\"photos/caf\xEF\xBF\xBD.png\"");
  EXPECT_TRUE(IsValidUtf8(quoted));
  EXPECT_EQ(JsonString("a\"b\\c\n"), "\"a\\\"b\\\\c\\u000a\"");
}

TEST(CsvField, FormulaLikeCellsAreNeutralisedButNumbersAreNot) {
  EXPECT_EQ(CsvField("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
  EXPECT_EQ(CsvField("+1+2"), "'+1+2");
  EXPECT_EQ(CsvField("-2+3"), "'-2+3");
  EXPECT_EQ(CsvField("@SUM(A1)"), "'@SUM(A1)");
  EXPECT_EQ(CsvField("\tx"), "'\tx");
  EXPECT_EQ(CsvField("-1.5"), "-1.5");
  EXPECT_EQ(CsvField("+3"), "+3");
  EXPECT_EQ(CsvField("-1e-5"), "-1e-5");
  EXPECT_EQ(CsvField("photo.png"), "photo.png");
  EXPECT_EQ(CsvField("a,b"), "\"a,b\"");
}

class TempFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    char name[] = "/tmp/temp_files_test_XXXXXX";
    ASSERT_NE(::mkdtemp(name), nullptr);
    dir_ = name;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string file(const std::string& name) const { return (fs::path(dir_) / name).string(); }
  void Touch(const std::string& name) const { std::ofstream(file(name)) << "partial"; }
  std::set<std::string> Names() const {
    std::set<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_)) {
      names.insert(entry.path().filename().string());
    }
    return names;
  }
  // The id of a process that has exited (and been reaped), as a killed writer's would be.
  static pid_t DeadPid() {
    const pid_t child = ::fork();
    if (child == 0) ::_exit(0);
    ::waitpid(child, nullptr, 0);
    return child;
  }

  std::string dir_;
};

TEST_F(TempFiles, NamesAreUniqueAndCarryThePid) {
  // Before, predictions used OUTPUT.tmp: two runs writing one output shared it.
  const std::string first = CreateTempFileFor(file("out.csv"));
  const std::string second = CreateTempFileFor(file("out.csv"));
  EXPECT_NE(first, second);
  EXPECT_THAT(fs::path(first).filename().string(),
              StartsWith(".out.csv.tmp-" + std::to_string(::getpid()) + "-"));
  EXPECT_TRUE(fs::exists(first));
  EXPECT_TRUE(fs::exists(second));
  // Readable as any new file would be (mkstemp alone makes it 0600).
  const mode_t mask = ::umask(0);
  ::umask(mask);
  struct stat info {};
  ASSERT_EQ(::stat(first.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0666 & ~mask);
}

TEST_F(TempFiles, StaleOnesOfDeadWritersAreRemovedOthersKept) {
  const std::string dead = std::to_string(DeadPid());
  const std::string alive = std::to_string(::getpid());
  Touch(".latest.ckpt.tmp-" + dead + "-a1B2c3");   // killed run: removed
  Touch(".latest.ckpt.tmp-" + alive + "-a1B2c3");  // a writer still running: kept
  Touch("index.html.tmp" + dead);                  // the report's older pattern: removed
  Touch(".best.ckpt.tmp-Zz9Yy8");                  // older pattern, recent: kept
  Touch(".old.ckpt.tmp-Zz9Yy8");                   // older pattern, written long ago: removed
  fs::last_write_time(file(".old.ckpt.tmp-Zz9Yy8"),
                      fs::file_time_type::clock::now() - std::chrono::hours(2));
  Touch("notes.tmp-" + dead + "-abcdef");  // not hidden, so not ours: kept
  Touch("latest.ckpt");
  EXPECT_EQ(RemoveStaleTempFiles(dir_), 3);
  EXPECT_EQ(Names(),
            (std::set<std::string>{".latest.ckpt.tmp-" + alive + "-a1B2c3", ".best.ckpt.tmp-Zz9Yy8",
                                   "notes.tmp-" + dead + "-abcdef", "latest.ckpt"}));
}

TEST_F(TempFiles, CreatingTheFirstInAFolderCleansIt) {
  Touch(".out.csv.tmp-" + std::to_string(DeadPid()) + "-qwerty");
  const std::string made = CreateTempFileFor(file("out.csv"));
  EXPECT_EQ(Names(), (std::set<std::string>{fs::path(made).filename().string()}));
}

TEST_F(TempFiles, AFolderThatCannotBeWrittenIsNamedInTheError) {
  try {
    CreateTempFileFor(file("missing/out.csv"));
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("missing/out.csv: cannot create a temporary file"));
    EXPECT_THAT(e.what(), HasSubstr("No such file or directory"));
  }
}

}  // namespace
}  // namespace pipeline
