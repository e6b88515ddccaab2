// The plugin loader against real shared libraries (built from tests/plugins/): what it loads,
// what it refuses and why, rollback of failed registrations, and where it looks.
#include "pipeline/engine/plugin_loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "pipeline/payloads.h"
#include "tests/plugins/test_stages.h"

namespace pipeline {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

// The folder holding test plugin library `name` (see tests/plugins/CMakeLists.txt).
std::string TestPluginDir(const std::string& name) {
  return std::string(PIPELINE_BINARY_DIR) + "/test_plugins/" + name;
}
std::string TestPluginFile(const std::string& name) {
  return TestPluginDir(name) + "/libtest_" + name + ".so";
}

// A fresh folder under the temp directory, removed when the test ends.
class TempDir {
 public:
  explicit TempDir(const std::string& tag)
      : path_(fs::temp_directory_path() /
              ("pipeline_plugin_test_" + std::to_string(getpid()) + "_" + tag)) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string path() const { return path_.string(); }
  std::string canonical() const { return fs::canonical(path_).string(); }

 private:
  fs::path path_;
};

// Sets an environment variable for one test and restores it afterwards.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      setenv(name, value, 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// Stage parameters as the engine would pass them after validation.
Params ParamsOf(std::map<std::string, std::string, std::less<>> values) {
  return Params(std::move(values));
}

struct Emitted {
  std::shared_ptr<const Payload> payload;
  int64_t epoch, index;
  int port;
};

class CollectingEmitter : public Emitter {
 public:
  void emit(std::shared_ptr<const Payload> payload, int64_t epoch, int64_t index,
            int port) override {
    messages.push_back({std::move(payload), epoch, index, port});
  }
  void end_epoch(int64_t) override {}
  std::vector<Emitted> messages;
};

std::vector<std::string> RegisteredNames(const Registry& registry) {
  std::vector<std::string> names;
  for (const auto* entry : registry.all()) names.push_back(entry->info.name);
  return names;
}

TEST(PluginLoaderTest, LoadsGoodPluginAndRecordsWhereItCameFrom) {
  Registry registry;
  const PluginLoadReport report = LoadPlugins({TestPluginDir("good")}, registry);

  EXPECT_THAT(report.searched_dirs, ElementsAre(TestPluginDir("good")));
  EXPECT_THAT(report.loaded, ElementsAre(TestPluginFile("good")));
  EXPECT_THAT(report.failures, IsEmpty());
  const Registry::Entry* entry = registry.find("test_negate");
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->library, "test_good");
  EXPECT_EQ(entry->library_version, "1.2.3");
  EXPECT_EQ(entry->origin, TestPluginFile("good"));
  EXPECT_EQ(entry->info.kind, StageKind::kTransform);
  ASSERT_NE(entry->info.find_param("scale"), nullptr);
  EXPECT_EQ(entry->info.find_param("scale")->default_value, "1");
}

TEST(PluginLoaderTest, LoadedStageRunsCodeFromTheLibrary) {
  Registry registry;
  LoadPlugins({TestPluginDir("good")}, registry);
  const Registry::Entry* entry = registry.find("test_negate");
  ASSERT_NE(entry, nullptr);

  std::unique_ptr<Stage> stage = entry->info.create();
  stage->set_env({.name = "neg", .plugin = "test_negate"});
  stage->open(ParamsOf({{"scale", "2"}}));
  auto sample = std::make_shared<Sample>();
  sample->image = (cv::Mat_<uint8_t>(1, 3) << 0, 10, 255);
  sample->label = 7;
  CollectingEmitter out;
  stage->process({.epoch = 1, .index = 42, .port = 0, .payload = sample}, out);

  ASSERT_EQ(out.messages.size(), 1u);
  EXPECT_EQ(out.messages[0].epoch, 1);
  EXPECT_EQ(out.messages[0].index, 42);
  const auto& result = payload_as<Sample>(out.messages[0].payload.get());
  EXPECT_EQ(result.label, 7);
  ASSERT_EQ(result.image.type(), CV_32F);
  EXPECT_FLOAT_EQ(result.image.at<float>(0, 1), -20.0f);
  EXPECT_FLOAT_EQ(result.image.at<float>(0, 2), -510.0f);
}

TEST(PluginLoaderTest, RefusesWrongAbiVersionWithoutRunningItsRegistration) {
  Registry registry;
  // The library's register function aborts: reaching it would kill this test.
  const PluginLoadReport report = LoadPlugins({TestPluginDir("wrong_abi")}, registry);

  EXPECT_THAT(report.loaded, IsEmpty());
  ASSERT_EQ(report.failures.size(), 1u);
  EXPECT_THAT(report.failures[0], StartsWith(TestPluginFile("wrong_abi") + ": "));
  EXPECT_THAT(report.failures[0], HasSubstr("plugin ABI version 2, this pipeline needs version 1"));
  EXPECT_THAT(RegisteredNames(registry), IsEmpty());
}

TEST(PluginLoaderTest, RefusesLibraryWithoutEntryPoint) {
  Registry registry;
  const PluginLoadReport report = LoadPlugins({TestPluginDir("no_entry")}, registry);

  EXPECT_THAT(report.loaded, IsEmpty());
  ASSERT_EQ(report.failures.size(), 1u);
  EXPECT_THAT(report.failures[0], StartsWith(TestPluginFile("no_entry") + ": "));
  EXPECT_THAT(report.failures[0], HasSubstr("no entry point \"pipeline_plugin_v1\""));
}

TEST(PluginLoaderTest, RefusesNullDescriptor) {
  Registry registry;
  const PluginLoadReport report = LoadPlugins({TestPluginDir("null_descriptor")}, registry);

  EXPECT_THAT(report.loaded, IsEmpty());
  ASSERT_EQ(report.failures.size(), 1u);
  EXPECT_EQ(report.failures[0],
            TestPluginFile("null_descriptor") + ": the entry point returned no descriptor");
}

TEST(PluginLoaderTest, FailedRegistrationIsReportedAndRolledBack) {
  Registry registry;
  const PluginLoadReport report = LoadPlugins({TestPluginDir("throwing")}, registry);

  EXPECT_THAT(report.loaded, IsEmpty());
  ASSERT_EQ(report.failures.size(), 1u);
  EXPECT_EQ(report.failures[0],
            TestPluginFile("throwing") + ": registration failed: test plugin refuses to register");
  // It registered "test_partial" before throwing; that must be gone again.
  EXPECT_EQ(registry.find("test_partial"), nullptr);
  EXPECT_THAT(RegisteredNames(registry), IsEmpty());
}

TEST(PluginLoaderTest, LaterDuplicateStageNameRefusesTheWholeLibrary) {
  Registry registry;
  const PluginLoadReport report =
      LoadPlugins({TestPluginDir("good"), TestPluginDir("duplicate")}, registry);

  EXPECT_THAT(report.loaded, ElementsAre(TestPluginFile("good")));
  ASSERT_EQ(report.failures.size(), 1u);
  EXPECT_THAT(report.failures[0], StartsWith(TestPluginFile("duplicate") + ": "));
  EXPECT_THAT(report.failures[0],
              HasSubstr("\"test_negate\" is already registered by " + TestPluginFile("good")));
  // The stage it added before the duplicate is rolled back; the first library's stage stays.
  EXPECT_EQ(registry.find("test_before_duplicate"), nullptr);
  ASSERT_NE(registry.find("test_negate"), nullptr);
  EXPECT_EQ(registry.find("test_negate")->origin, TestPluginFile("good"));
  EXPECT_THAT(RegisteredNames(registry), ElementsAre("test_negate"));
}

TEST(PluginLoaderTest, PluginCannotReplaceABuiltinStage) {
  Registry registry;
  const PipelinePluginDescriptor builtin{
      PIPELINE_PLUGIN_ABI_VERSION, "unit_builtin", "0.0.1", [](void* r) {
        return RegisterCatching(
            r, [](Registry& reg) { reg.add(test_plugins::PassThroughInfo("test_negate")); });
      }};
  RegisterBuiltin(builtin, registry);

  const PluginLoadReport report = LoadPlugins({TestPluginDir("good")}, registry);

  ASSERT_EQ(report.failures.size(), 1u);
  EXPECT_THAT(report.failures[0], HasSubstr("already registered by built-in"));
  EXPECT_EQ(registry.find("test_negate")->origin, "built-in");
}

TEST(PluginLoaderTest, FileThatIsNotALibraryIsReportedWithDlerror) {
  TempDir dir("garbage");
  std::ofstream(dir.path() + "/libgarbage.so") << "not an ELF file\n";
  Registry registry;

  const PluginLoadReport report = LoadPlugins({dir.path()}, registry);

  ASSERT_EQ(report.failures.size(), 1u);
  const std::string prefix = dir.path() + "/libgarbage.so: cannot load: ";
  EXPECT_THAT(report.failures[0], StartsWith(prefix));
  // dlerror() names the file and the problem.
  EXPECT_THAT(report.failures[0].substr(prefix.size()), HasSubstr("libgarbage.so"));
}

TEST(PluginLoaderTest, BadLibrariesInAFolderDoNotStopTheGoodOne) {
  TempDir dir("mixed");
  for (const char* name : {"good", "wrong_abi", "no_entry", "throwing", "null_descriptor"}) {
    fs::copy_file(TestPluginFile(name), dir.path() + "/libtest_" + name + ".so");
  }
  std::ofstream(dir.path() + "/libbroken.so") << "garbage";
  // Not named lib*.so: never opened.
  std::ofstream(dir.path() + "/README.txt") << "notes";
  std::ofstream(dir.path() + "/libversioned.so.1") << "garbage";
  fs::create_directory(dir.path() + "/libfolder.so");
  Registry registry;

  const PluginLoadReport report = LoadPlugins({dir.path()}, registry);

  EXPECT_THAT(report.loaded, ElementsAre(dir.path() + "/libtest_good.so"));
  ASSERT_EQ(report.failures.size(), 5u);
  // In file name order, whatever order the folder lists them in.
  const std::vector<std::string> expected_order = {"libbroken.so", "libtest_no_entry.so",
                                                   "libtest_null_descriptor.so",
                                                   "libtest_throwing.so", "libtest_wrong_abi.so"};
  for (size_t i = 0; i < expected_order.size(); ++i) {
    EXPECT_THAT(report.failures[i], StartsWith(dir.path() + "/" + expected_order[i] + ": "));
  }
  EXPECT_THAT(RegisteredNames(registry), ElementsAre("test_negate"));

  std::unique_ptr<Stage> stage = registry.find("test_negate")->info.create();
  stage->open(ParamsOf({{"scale", "1"}}));
  auto sample = std::make_shared<Sample>();
  sample->image = cv::Mat(2, 2, CV_32F, cv::Scalar(3.0f));
  CollectingEmitter out;
  stage->process({.payload = sample}, out);
  ASSERT_EQ(out.messages.size(), 1u);
  EXPECT_FLOAT_EQ(payload_as<Sample>(out.messages[0].payload.get()).image.at<float>(1, 1), -3.0f);
}

TEST(PluginLoaderTest, MissingFolderIsReported) {
  Registry registry;
  const PluginLoadReport report = LoadPlugins({"/nonexistent/pipeline/plugins"}, registry);
  ASSERT_EQ(report.failures.size(), 1u);
  EXPECT_THAT(report.failures[0],
              StartsWith("/nonexistent/pipeline/plugins: cannot list plugin folder"));
}

TEST(PluginBuiltinTest, RegistersThroughTheLibraryPath) {
  Registry registry;
  const PipelinePluginDescriptor builtin{
      PIPELINE_PLUGIN_ABI_VERSION, "unit_builtin", "0.0.7", [](void* r) {
        return RegisterCatching(
            r, [](Registry& reg) { reg.add(test_plugins::PassThroughInfo("builtin_pass")); });
      }};
  RegisterBuiltin(builtin, registry);

  const Registry::Entry* entry = registry.find("builtin_pass");
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->library, "unit_builtin");
  EXPECT_EQ(entry->library_version, "0.0.7");
  EXPECT_EQ(entry->origin, "built-in");
}

bool wrong_abi_registration_ran = false;

TEST(PluginBuiltinTest, WrongAbiThrowsBeforeRegistering) {
  Registry registry;
  const PipelinePluginDescriptor builtin{7, "unit_builtin", "0.0.1", [](void*) -> const char* {
                                           wrong_abi_registration_ran = true;
                                           return nullptr;
                                         }};
  try {
    RegisterBuiltin(builtin, registry);
    FAIL() << "expected std::runtime_error";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("built-in stages \"unit_builtin\""));
    EXPECT_THAT(e.what(), HasSubstr("ABI version 7, this pipeline needs version 1"));
  }
  EXPECT_FALSE(wrong_abi_registration_ran);
}

TEST(PluginBuiltinTest, FailedRegistrationThrowsAndRollsBack) {
  Registry registry;
  const PipelinePluginDescriptor builtin{
      PIPELINE_PLUGIN_ABI_VERSION, "unit_builtin", "0.0.1", [](void* r) {
        return RegisterCatching(r, [](Registry& reg) {
          reg.add(test_plugins::PassThroughInfo("builtin_first"));
          reg.add(test_plugins::PassThroughInfo("builtin_first"));  // duplicate
        });
      }};
  try {
    RegisterBuiltin(builtin, registry);
    FAIL() << "expected std::runtime_error";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("built-in stages \"unit_builtin\": registration failed: "
                                    "stage type \"builtin_first\" is already registered"));
  }
  EXPECT_THAT(RegisteredNames(registry), IsEmpty());
  // The registry is back to its default library, ready for the next registration.
  registry.add(test_plugins::PassThroughInfo("after"));
  EXPECT_EQ(registry.find("after")->library, "standard");
}

// The folder next to the running test binary where the build puts plugins; the loader finds
// it the same way an installed `pipeline` finds lib/pipeline/plugins.
std::string BuildTreePluginDir() {
  const fs::path dir = fs::path(PIPELINE_BINARY_DIR) / "lib/pipeline/plugins";
  fs::create_directories(dir);
  return fs::canonical(dir).string();
}

TEST(PluginSearchPathTest, CommandLineThenEnvironmentThenInstallFolder) {
  TempDir a("path_a"), b("path_b"), c("path_c");
  const std::string env = c.path() + ":" + b.path() + "::/nonexistent/dir";
  ScopedEnv scoped("PIPELINE_PLUGIN_PATH", env.c_str());
  const std::string installed = BuildTreePluginDir();

  const std::vector<std::string> dirs =
      PluginSearchPath({a.path(), "/nonexistent/x", b.path(),
                        a.path() + "/../" + fs::path(a.path()).filename().string()});

  // Duplicates (b in both lists, a spelt two ways) and missing folders are dropped.
  EXPECT_THAT(dirs, ElementsAre(a.canonical(), b.canonical(), c.canonical(), installed));
}

TEST(PluginSearchPathTest, InstallFolderFoundFromTheRunningBinary) {
  ScopedEnv scoped("PIPELINE_PLUGIN_PATH", nullptr);
  EXPECT_THAT(PluginSearchPath({}), ElementsAre(BuildTreePluginDir()));
}

TEST(PluginSearchPathTest, FilesAreNotFolders) {
  TempDir dir("file_not_folder");
  const std::string file = dir.path() + "/libplugin.so";
  std::ofstream(file) << "x";
  ScopedEnv scoped("PIPELINE_PLUGIN_PATH", file.c_str());
  EXPECT_THAT(PluginSearchPath({file}), ElementsAre(BuildTreePluginDir()));
}

}  // namespace
}  // namespace pipeline
