#include "pipeline/temp_files.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <regex>
#include <set>
#include <stdexcept>

namespace pipeline {
namespace {

namespace fs = std::filesystem;

// ".<name>.tmp-<pid>-XXXXXX"
const std::regex kCurrent(R"(^\..+\.tmp-([0-9]{1,10})-[A-Za-z0-9]{6}$)");
// Earlier versions wrote the report's "<name>.tmp<pid>" and the checkpoint's
// ".<name>.ckpt.tmp-XXXXXX" (no pid: removed once old enough that no run can still write it).
const std::regex kOlderReport(R"(^.+\.(html|json|csv|png)\.tmp([0-9]{1,10})$)");
const std::regex kOlderCheckpoint(R"(^\..+\.ckpt\.tmp-[A-Za-z0-9]{6}$)");
constexpr auto kOlderAge = std::chrono::hours(1);

bool ProcessIsRunning(long pid) {
  if (pid <= 0) return true;  // cannot tell: keep the file
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH;
}

// The process's umask, read without changing it (umask() would, for every thread, for a moment).
mode_t CurrentUmask() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Umask:", 0) == 0)
      return static_cast<mode_t>(std::stoul(line.substr(6), nullptr, 8));
  }
  return 022;
}

fs::path FolderOf(const std::string& target) {
  const fs::path path(target);
  return path.has_parent_path() ? path.parent_path() : fs::path(".");
}

}  // namespace

int RemoveStaleTempFiles(const std::string& folder) {
  int removed = 0;
  std::error_code error;
  const auto now = fs::file_time_type::clock::now();
  for (fs::directory_iterator it(folder, error), end; !error && it != end; it.increment(error)) {
    if (!it->is_regular_file(error)) continue;
    const std::string name = it->path().filename().string();
    std::smatch match;
    bool stale = false;
    if (std::regex_match(name, match, kCurrent)) {
      stale = !ProcessIsRunning(std::stol(match[1].str()));
    } else if (std::regex_match(name, match, kOlderReport)) {
      stale = !ProcessIsRunning(std::stol(match[2].str()));
    } else if (std::regex_match(name, kOlderCheckpoint)) {
      const auto written = fs::last_write_time(it->path(), error);
      stale = !error && now - written > kOlderAge;
    }
    std::error_code ignored;
    if (stale && fs::remove(it->path(), ignored)) ++removed;
  }
  return removed;
}

std::string CreateTempFileFor(const std::string& target, int* fd) {
  const fs::path folder = FolderOf(target);
  {
    // Once per folder: a sink writing thousands of files must not rescan it for each.
    static std::mutex mutex;
    static std::set<std::string> cleaned;
    std::lock_guard lock(mutex);
    if (cleaned.insert(fs::absolute(folder).lexically_normal().string()).second) {
      RemoveStaleTempFiles(folder.string());
    }
  }
  std::string name = (folder / ("." + fs::path(target).filename().string() + ".tmp-" +
                                std::to_string(::getpid()) + "-XXXXXX"))
                         .string();
  const int descriptor = ::mkstemp(name.data());
  if (descriptor < 0) {
    throw std::runtime_error(target + ": cannot create a temporary file " + name + ": " +
                             std::strerror(errno));
  }
  // mkstemp makes the file 0600; the renamed file should have the mode any new file gets.
  static const mode_t mode = 0666 & ~CurrentUmask();
  ::fchmod(descriptor, mode);
  if (fd != nullptr) {
    *fd = descriptor;
  } else {
    ::close(descriptor);
  }
  return name;
}

void PrepareOutputFolder(const std::string& folder, const std::string& role) {
  std::error_code error;
  std::filesystem::create_directories(folder, error);
  if (error || !std::filesystem::is_directory(folder)) {
    throw std::runtime_error("cannot create the " + role + " folder " + folder +
                             (error ? ": " + error.message() : ""));
  }
  // Temporary files left by a run that was killed (kill -9, a second Ctrl-C) are removed once
  // their writer is gone; see RemoveStaleTempFiles.
  RemoveStaleTempFiles(folder);
}

}  // namespace pipeline
