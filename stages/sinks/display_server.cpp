#include "stages/sinks/display_server.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>

namespace pipeline {
namespace {

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

// Connects `fd` within `timeout_ms`; a server that is gone must not hang the run.
bool ConnectWithin(int fd, const sockaddr* address, socklen_t length, int timeout_ms) {
  const int flags = ::fcntl(fd, F_GETFL, 0);
  ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  if (::connect(fd, address, length) == 0) return true;
  if (errno != EINPROGRESS) return false;
  pollfd waiting{fd, POLLOUT, 0};
  if (::poll(&waiting, 1, timeout_ms) != 1) return false;
  int error = 0;
  socklen_t size = sizeof(error);
  return ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) == 0 && error == 0;
}

// Linux X servers listen on an abstract socket too; either one answering is enough.
bool UnixSocketAnswers(const std::string& path, bool abstract) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const size_t offset = abstract ? 1 : 0;
  if (path.size() + offset >= sizeof(address.sun_path)) return false;
  std::memcpy(address.sun_path + offset, path.data(), path.size());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0) return false;
  const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + offset +
                                             path.size() + (abstract ? 0 : 1));
  const bool ok = ConnectWithin(fd, reinterpret_cast<const sockaddr*>(&address), length, 2000);
  ::close(fd);
  return ok;
}

bool TcpAnswers(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) return false;
  bool ok = false;
  for (addrinfo* at = found; at != nullptr && !ok; at = at->ai_next) {
    const int fd = ::socket(at->ai_family, at->ai_socktype, at->ai_protocol);
    if (fd < 0) continue;
    ok = ConnectWithin(fd, at->ai_addr, at->ai_addrlen, 2000);
    ::close(fd);
  }
  ::freeaddrinfo(found);
  return ok;
}

// The display number in "[host]:number[.screen]"; nullopt when DISPLAY is not of that form.
std::optional<int> DisplayNumber(const std::string& display, std::string& host) {
  const size_t colon = display.rfind(':');
  if (colon == std::string::npos || colon + 1 >= display.size()) return std::nullopt;
  host = display.substr(0, colon);
  char* end = nullptr;
  const long number = std::strtol(display.c_str() + colon + 1, &end, 10);
  if (end == display.c_str() + colon + 1 || number < 0 || number > 10000) return std::nullopt;
  return static_cast<int>(number);
}

std::string X11Problem(const std::string& display) {
  std::string host;
  const std::optional<int> number = DisplayNumber(display, host);
  // Forms we do not parse (a launchd socket path on macOS) are left to the toolkit.
  if (!number || display.find('/') != std::string::npos) return "";
  bool answers = false;
  if (host.empty() || host == "unix") {
    const std::string socket = "/tmp/.X11-unix/X" + std::to_string(*number);
    answers = UnixSocketAnswers(socket, true) || UnixSocketAnswers(socket, false);
  } else {
    answers = TcpAnswers(host, 6000 + *number);
  }
  if (answers) return "";
  return "no X server answers at DISPLAY=" + display + " (it is not running, or not reachable)";
}

}  // namespace

std::string DisplayServerProblem() {
  const std::string x11 = Env("DISPLAY");
  const std::string wayland = Env("WAYLAND_DISPLAY");
  if (!x11.empty()) {
    const std::string problem = X11Problem(x11);
    if (problem.empty() || wayland.empty()) return problem;
  }
  if (!wayland.empty()) {
    const std::filesystem::path socket =
        wayland.front() == '/' ? std::filesystem::path(wayland)
                               : std::filesystem::path(Env("XDG_RUNTIME_DIR")) / wayland;
    std::error_code error;
    if (std::filesystem::exists(socket, error)) {
      // Qt 5 tries X11 first whatever the session; with no X server it would abort.
      if (x11.empty()) ::setenv("QT_QPA_PLATFORM", "wayland", /*overwrite=*/0);
      return "";
    }
    return "no Wayland compositor at " + socket.string();
  }
  return "no display to show a window on (DISPLAY and WAYLAND_DISPLAY are unset)";
}

}  // namespace pipeline
