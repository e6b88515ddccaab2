#include "stages/cnn/console.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <mutex>

namespace pipeline::cnn {
namespace {

const std::chrono::steady_clock::time_point kProgramStart = std::chrono::steady_clock::now();

std::mutex& ConsoleMutex() {
  static std::mutex mutex;
  return mutex;
}

constexpr const char* kClearLine = "\r\033[K";

std::atomic<bool> g_quiet{false};

}  // namespace

bool StderrIsTerminal() {
  static const bool terminal = ::isatty(STDERR_FILENO) == 1;
  return terminal;
}

void SetConsoleQuiet(bool quiet) { g_quiet.store(quiet); }

void ConsoleLine(const std::string& line) {
  if (g_quiet.load()) return;
  std::lock_guard lock(ConsoleMutex());
  if (StderrIsTerminal()) std::cerr << kClearLine;
  std::cerr << line << std::endl;
}

void ConsoleStatus(const std::string& status) {
  if (!StderrIsTerminal() || g_quiet.load()) return;
  std::lock_guard lock(ConsoleMutex());
  std::cerr << kClearLine << status << std::flush;
}

double SecondsSinceProgramStart() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - kProgramStart).count();
}

std::string FormatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto total = static_cast<long long>(std::llround(seconds));
  char text[32];
  if (total >= 3600) {
    std::snprintf(text, sizeof(text), "%lld:%02lld:%02lld", total / 3600, total / 60 % 60,
                  total % 60);
  } else {
    std::snprintf(text, sizeof(text), "%lld:%02lld", total / 60, total % 60);
  }
  return text;
}

}  // namespace pipeline::cnn
